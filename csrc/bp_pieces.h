/*
 * bp_pieces.h: a counter of byte strings (the pieces the trainer finds).
 *
 * Pieces are copied into an arena owned by the counter; entries stay in
 * insertion order; lookups go through an open-addressing index of entry
 * numbers. Not thread-safe for writing: give each thread its own counter and
 * merge them (bp_piece_counts_merge) when the threads are done.
 */
#ifndef BP_PIECES_H
#define BP_PIECES_H

#include "bp_common.h"

typedef struct bp_piece_counts bp_piece_counts;

/* Creates an empty counter in *out, which the caller frees with
 * bp_piece_counts_free. Errors: BP_ERR_INVALID (out NULL), BP_ERR_NOMEM;
 * *out is then NULL. */
int bp_piece_counts_new(bp_piece_counts **out);

/* Frees the counter and its arena; NULL is a no-op. */
void bp_piece_counts_free(bp_piece_counts *counts);

/* Adds `count` to the piece piece[0 .. length) (bytes, copied; length >= 1).
 * Errors: BP_ERR_INVALID, BP_ERR_TOO_LARGE (> 4 GiB of pieces), BP_ERR_NOMEM.
 * Expected O(length). */
int bp_piece_counts_add(bp_piece_counts *counts, const uint8_t *piece, size_t length, uint64_t count);

/* Adds every piece of `from` to `into` (from is unchanged). Errors as for add. */
int bp_piece_counts_merge(bp_piece_counts *into, const bp_piece_counts *from);

/* Adds counts[k] to the piece data[offsets[k] .. offsets[k+1]) for each
 * k < n (the merge of exported counts). Errors as for add, and
 * BP_ERR_INVALID for decreasing offsets or a zero count. */
int bp_piece_counts_add_packed(bp_piece_counts *counts, const uint8_t *data, const int64_t *offsets,
                               const uint64_t *piece_counts, size_t n);

/* Adds 1 to each text data[offsets[k] .. offsets[k+1]) for k < n, skipping
 * the empty ones: the trainer's chunks gathered by value, so that each
 * distinct chunk is segmented once (bp_bnlm_count_pieces' weights).
 * Errors as for add, and BP_ERR_INVALID for decreasing offsets (the
 * counter then holds the texts before it). Expected O(total bytes). */
int bp_piece_counts_add_each(bp_piece_counts *counts, const uint8_t *data, const int64_t *offsets, size_t n);

/* For the "em" training: adds weights[k] to every substring of the text
 * data[offsets[k] .. offsets[k+1]) (bytes) that has min_length .. max_length
 * bytes and starts and ends on a UTF-8 character boundary (it neither
 * starts with a continuation byte 0x80..0xBF nor is followed by one), for
 * each k < n; a text longer than max_length also counts whole. A substring
 * is counted once per position, so "aa" in "aaa" counts twice. Only the
 * substrings of `partition` among num_partitions (bp_piece_counts_partitions'
 * rule) are counted, so that threads can count the partitions of one set of
 * texts into their own counters; num_partitions 1 counts them all.
 * Errors as for add, and BP_ERR_INVALID for decreasing offsets,
 * min_length < 1, max_length < min_length or partition >= num_partitions.
 * Time O(total bytes * (max_length - min_length + 1)) hashes, and a counter
 * update for each substring of the partition. */
int bp_piece_counts_add_substrings(bp_piece_counts *counts, const uint8_t *data, const int64_t *offsets,
                                   const uint64_t *weights, size_t n, size_t min_length, size_t max_length,
                                   uint32_t num_partitions, uint32_t partition);

/* For each piece, in export order: the partition it belongs to among
 * num_partitions (>= 1), a deterministic hash of its bytes modulo
 * num_partitions, the same in every process. out has size entries.
 * Errors: BP_ERR_INVALID. */
int bp_piece_counts_partitions(const bp_piece_counts *counts, uint32_t num_partitions, uint32_t *out);

/* Number of distinct pieces, and their total length in bytes. */
size_t bp_piece_counts_size(const bp_piece_counts *counts);
size_t bp_piece_counts_total_bytes(const bp_piece_counts *counts);

/* Bytes of memory held. */
size_t bp_piece_counts_memory(const bp_piece_counts *counts);

/* Copies the pieces out, in insertion order: piece k is
 * data[offsets[k] .. offsets[k+1]) with count counts[k]. The caller provides
 * data (total_bytes), offsets (size + 1) and counts (size). */
void bp_piece_counts_export(const bp_piece_counts *counts, uint8_t *data, int64_t *offsets, uint64_t *out_counts);

#endif
