/*
 * bp_ngram.h: byte n-gram counts and the n-gram language model of the
 * trainer (docs/spec/training.md, steps 1-2).
 *
 * An n-gram of length j <= BP_MAX_ORDER (8, bp_common.h) is packed into a uint64
 * (byte t at bits 8t, the rest zero) and kept in the hash table of its
 * length. Tables are split into `num_partitions` partitions by the n-gram's
 * first byte, so that P threads can count the same text at once, each
 * taking only the positions whose byte belongs to its partition: no locks,
 * no merge, no work on other threads' positions, memory = one copy of the
 * distinct n-grams. An n-gram and its prefixes share a partition.
 * Lookups are prefetched ahead of use: the keys are known from the text, so
 * the cache misses of a hash table (its real cost) overlap.
 *
 * Lifecycle: bp_ngrams_new -> [bp_ngrams_balance or bp_ngrams_assign] ->
 * bp_ngrams_count (any number of times; calls on different partitions may
 * run concurrently, calls on the same partition may not) -> bp_ngrams_finish
 * (adds missing bytes, prunes, turns counts into log-probabilities) ->
 * bp_ngrams_logprob / bp_ngrams_emissions (read-only, thread-safe) ->
 * bp_ngrams_free.
 *
 * Distributed form (docs/spec/training.md §6): counts of one shard are
 * exported partition by partition (bp_ngrams_export_counts), added into the
 * counter of that partition's reducer (bp_ngrams_add_counts, which merges
 * associatively), finished there partition by partition with the global
 * number of positions (bp_ngrams_add_missing_bytes, bp_ngrams_add_positions,
 * bp_ngrams_finish_partition), and the finished tables are exported as raw
 * slot arrays (bp_ngrams_export_table) that bp_ngrams_view reads in place,
 * so that one copy in shared memory serves every worker of a machine.
 */
#ifndef BP_NGRAM_H
#define BP_NGRAM_H

#include "bp_common.h"

typedef struct bp_ngrams bp_ngrams;

/* Creates an empty counter for n-grams of lengths 1..order in *out, which
 * the caller frees with bp_ngrams_free. Errors: BP_ERR_INVALID (order
 * outside 1..BP_MAX_ORDER, partitions outside 1..BP_MAX_PARTITIONS, out
 * NULL), BP_ERR_NOMEM; *out is then NULL. */
int bp_ngrams_new(int order, int num_partitions, bp_ngrams **out);

/* Frees the counter; NULL is a no-op. */
void bp_ngrams_free(bp_ngrams *ngrams);

/*
 * A map of the 256 first bytes to num_partitions partitions that gives them
 * about equal work, given how often each byte occurs (byte_counts, e.g. of
 * a sample of the corpus): heaviest first, each to the least loaded
 * partition (ties: the lowest). Deterministic. Errors: BP_ERR_INVALID.
 */
int bp_balance_partitions(const uint64_t byte_counts[256], int num_partitions, uint8_t part_of_byte[256]);

/* Uses part_of_byte (each < num_partitions) as the partition map. Only
 * before the first count, merge or finish; the map changes where n-grams are
 * kept, never the counts. Errors: BP_ERR_INVALID. */
int bp_ngrams_assign(bp_ngrams *ngrams, const uint8_t part_of_byte[256]);

/* bp_ngrams_assign of bp_balance_partitions(byte_counts). Errors: BP_ERR_INVALID. */
int bp_ngrams_balance(bp_ngrams *ngrams, const uint64_t byte_counts[256]);

/* Copies the partition map out (256 entries). */
void bp_ngrams_partition_map(const bp_ngrams *ngrams, uint8_t part_of_byte[256]);

/*
 * Counts, in partition `partition`, every n-gram of length 1..order lying
 * inside one chunk; chunk k is data[offsets[k] .. offsets[k+1]) (bytes).
 * Partition 0 also counts the empty n-gram (one per byte position).
 * Inputs are borrowed. Errors: BP_ERR_INVALID, BP_ERR_NOMEM (the counts are
 * then incomplete; free the counter). Time O(order * bytes), expected.
 */
int bp_ngrams_count(bp_ngrams *ngrams, int partition, const uint8_t *data,
                    const int64_t *offsets, size_t num_chunks);

/*
 * Ends counting: every single byte never seen gets count 1 (and the empty
 * n-gram one more position), n-grams longer than 1 byte with a count below
 * min_count are dropped, and each kept n-gram k gets its conditional
 * log-probability log c(k) - log c(k[:-1]) (float64; c of the empty n-gram
 * is the number of positions). The same as bp_ngrams_add_missing_bytes then
 * bp_ngrams_finish_partition on every partition. Errors: BP_ERR_INVALID
 * (twice, or bad min_count), BP_ERR_NOMEM.
 */
int bp_ngrams_finish(bp_ngrams *ngrams, uint64_t min_count);

/* Gives count 1 to each byte of `partition` that has none, adds one
 * position for each, and says how many in *num_added. Errors:
 * BP_ERR_INVALID (bad partition, or finished), BP_ERR_NOMEM. */
int bp_ngrams_add_missing_bytes(bp_ngrams *ngrams, int partition, size_t *num_added);

/* Finishes one partition as bp_ngrams_finish does, with the positions
 * counted so far (which must then be the global number). The model answers
 * lookups once every partition is finished (after the last of these calls
 * returned). Calls on different partitions may run concurrently. Errors: BP_ERR_INVALID (bad
 * partition or min_count, finished already, or a prefix missing: counts
 * that were not merged whole), BP_ERR_NOMEM. Time O(table size). */
int bp_ngrams_finish_partition(bp_ngrams *ngrams, int partition, uint64_t min_count);

/*
 * Logarithms supplied by the caller, so that the log-probabilities are
 * those of the caller's log function bit for bit (BytePiece 0.6.3 took
 * numpy's, which differs from the C library's log() by one ulp for some
 * integers on some machines; docs/spec/training.md §2). log(c) is
 * small[c] for c < num_small, else large_logs[i] where large_counts[i] == c
 * (large_counts sorted ascending, without repeats). Borrowed for the call.
 */
typedef struct {
    const double *small;
    size_t num_small;
    const uint64_t *large_counts;
    const double *large_logs;
    size_t num_large;
} bp_log_table;

/*
 * The distinct counts of at least `threshold` that finishing `partition`
 * with `min_count` will take the logarithm of (kept n-grams and the
 * positions), sorted ascending, written to out[0 ..
 * capacity) and their number to *num_counts. With capacity too small (or
 * out NULL) nothing is written and *num_counts says how many there are:
 * call again. Call after bp_ngrams_add_missing_bytes, before finishing.
 * Errors: BP_ERR_INVALID, BP_ERR_NOMEM. Time O(table size).
 */
int bp_ngrams_large_counts(const bp_ngrams *ngrams, int partition, uint64_t min_count, uint64_t threshold,
                           uint64_t *out, size_t capacity, size_t *num_counts);

/* bp_ngrams_finish_partition, taking logarithms from `logs` (NULL: the C
 * library's log). Errors: as bp_ngrams_finish_partition, and
 * BP_ERR_INVALID when `logs` lacks a count it needs (the partition is then
 * unusable: free the counter). */
int bp_ngrams_finish_partition_logs(bp_ngrams *ngrams, int partition, uint64_t min_count,
                                    const bp_log_table *logs);

/* The count of the empty n-gram (byte positions) so far. */
uint64_t bp_ngrams_positions(const bp_ngrams *ngrams);

/* Adds `positions` to that count (merging shards). Errors: BP_ERR_INVALID
 * (finished, a view, or overflow). */
int bp_ngrams_add_positions(bp_ngrams *ngrams, uint64_t positions);

/* Distinct n-grams of `length` in one partition (0 for bad arguments). */
size_t bp_ngrams_partition_size(const bp_ngrams *ngrams, int partition, int length);

/* Copies the counts of one partition and length, before it is finished,
 * into keys and counts (bp_ngrams_partition_size entries each; packed keys
 * as above, in no particular order). Errors: BP_ERR_INVALID. */
int bp_ngrams_export_counts(const bp_ngrams *ngrams, int partition, int length, uint64_t *keys, uint64_t *counts);

/* Adds counts[i] to the n-gram keys[i] (length `length`, packed) for i < n,
 * in `partition`: the merge of exported counts. Every key must belong to
 * the partition, use only `length` bytes, and have a count >= 1; a bad
 * input is refused before anything is added. Errors: BP_ERR_INVALID,
 * BP_ERR_NOMEM (then partly added). Expected O(n). */
int bp_ngrams_add_counts(bp_ngrams *ngrams, int partition, int length, const uint64_t *keys,
                         const uint64_t *counts, size_t n);

/* The slots of a finished partition's table of `length` (a power of two; 0
 * for bad arguments or before finishing). Each slot is 16 bytes. */
size_t bp_ngrams_table_capacity(const bp_ngrams *ngrams, int partition, int length);

/* Copies that table's slots (capacity * 16 bytes) to out. Errors: BP_ERR_INVALID. */
int bp_ngrams_export_table(const bp_ngrams *ngrams, int partition, int length, void *out);

/*
 * A finished model that reads exported tables in place: tables[(j - 1) *
 * num_partitions + p] holds capacities[...] slots of length j, partition p
 * (as bp_ngrams_export_table wrote them, 8-byte aligned). The tables stay
 * the caller's and must outlive the view; the view never writes them, so
 * any number of views (and processes) may share them. *out is freed with
 * bp_ngrams_free. Errors: BP_ERR_INVALID (bad order, partitions or map, a
 * capacity that is not a power of two, a table with no free slot, which
 * would make lookups endless), BP_ERR_NOMEM; *out is then NULL.
 * Time O(total slots) to check them.
 */
int bp_ngrams_view(int order, int num_partitions, const uint8_t part_of_byte[256], const void *const *tables,
                   const size_t *capacities, bp_ngrams **out);

/* The log-probability of the n-gram text[0 .. length) (1 <= length <= order)
 * after bp_ngrams_finish, or -INFINITY if it was pruned or never seen. */
double bp_ngrams_logprob(const bp_ngrams *ngrams, const uint8_t *text, int length);

/*
 * The emissions of the trainer's Viterbi for one chunk text[0 .. n):
 * out[i * order + j] = lp(text[i-j .. i]) for j <= i, and -INFINITY for j > i
 * or after the first pruned j at that i (a pruned n-gram makes every longer
 * one ending at i pruned too). out has n * order entries.
 * Errors: BP_ERR_INVALID (NULL argument, or the model is not finished).
 */
int bp_ngrams_emissions(const bp_ngrams *ngrams, const uint8_t *text, size_t n, double *out);

/* The order the counter was created with. */
int bp_ngrams_order(const bp_ngrams *ngrams);

/* The raw count of text[0 .. length) (0 <= length <= order) before
 * bp_ngrams_finish, or 0. For tests and statistics. */
uint64_t bp_ngrams_get_count(const bp_ngrams *ngrams, const uint8_t *text, int length);

/* Number of distinct n-grams stored for `length` (all partitions). */
size_t bp_ngrams_size(const bp_ngrams *ngrams, int length);

/* Bytes of memory held by the tables. */
size_t bp_ngrams_memory(const bp_ngrams *ngrams);

#endif
