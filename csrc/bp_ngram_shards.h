/*
 * bp_ngram_shards.h: the distributed form of the n-gram counter
 * (docs/spec/training.md §7): counts and finished tables moved between
 * processes as flat arrays.
 *
 * Counts of one shard of the corpus are exported partition by partition
 * (bp_ngrams_export_counts), added into the counter of that partition's
 * reducer (bp_ngrams_add_counts, which merges associatively, in any order),
 * finished there partition by partition with the global number of positions
 * (bp_ngrams_add_positions, then bp_ngrams_add_missing_bytes and
 * bp_ngrams_finish_partition of bp_ngram.h), and the finished tables are
 * exported as raw slot arrays (bp_ngrams_export_table) that bp_ngrams_view
 * (bp_ngram_view.h) reads in place, so that one copy in shared memory serves
 * every worker of a machine. The model is the same as that of one counter
 * over the whole corpus.
 *
 * Keys: an n-gram of length j is packed into a uint64, byte t at bits 8t,
 * the bits above 8j zero. Slots: 16 bytes, the key then the float64
 * log-probability, NaN in a free slot (bp_ngram_table.h).
 */
#ifndef BP_NGRAM_SHARDS_H
#define BP_NGRAM_SHARDS_H

#include "bp_ngram.h"

/* Adds `positions` to the count of the empty n-gram (bp_ngrams_positions:
 * merging shards). Errors: BP_ERR_INVALID (finished, a view, or overflow). */
int bp_ngrams_add_positions(bp_ngrams *ngrams, uint64_t positions);

/* Distinct n-grams of `length` in one partition (0 for bad arguments). */
size_t bp_ngrams_partition_size(const bp_ngrams *ngrams, int partition, int length);

/* Copies the counts of one partition and length, before it is finished,
 * into keys and counts (bp_ngrams_partition_size entries each, caller-owned;
 * packed keys, in no particular order). Errors: BP_ERR_INVALID (also for a
 * partition of a buffered counter not settled yet). O(table size). */
int bp_ngrams_export_counts(const bp_ngrams *ngrams, int partition, int length, uint64_t *keys, uint64_t *counts);

/* Adds counts[i] to the n-gram keys[i] (length `length`, packed) for i < n,
 * in `partition`: the merge of exported counts. Every key must belong to
 * the partition, use only `length` bytes, and have a count >= 1; a bad
 * input is refused before anything is added, and so is a buffered counter
 * (bp_ngrams_buffer: settling may have dropped what these would add to).
 * Inputs are borrowed. Errors: BP_ERR_INVALID, BP_ERR_NOMEM (then partly
 * added). Expected O(n). */
int bp_ngrams_add_counts(bp_ngrams *ngrams, int partition, int length, const uint64_t *keys,
                         const uint64_t *counts, size_t n);

/* The slots of a finished partition's table of `length` (a power of two; 0
 * for bad arguments or before finishing). Each slot is 16 bytes. */
size_t bp_ngrams_table_capacity(const bp_ngrams *ngrams, int partition, int length);

/* Copies that table's slots (capacity * 16 bytes) to out (caller-owned).
 * Errors: BP_ERR_INVALID (bad arguments, not finished, out NULL). O(capacity). */
int bp_ngrams_export_table(const bp_ngrams *ngrams, int partition, int length, void *out);

#endif
