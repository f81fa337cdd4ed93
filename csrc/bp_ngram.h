/*
 * bp_ngram.h: byte n-gram counts, finished into the n-gram language model
 * of the trainer (docs/spec/training.md, steps 1-2).
 *
 * An n-gram of length j <= BP_MAX_ORDER (8, bp_common.h) is kept in the hash
 * table of its length (bp_ngram_table.h, internal). Tables are split into
 * `num_partitions` partitions by the n-gram's first byte, so that P threads
 * can count the same text at once, each taking only the positions whose
 * byte belongs to its partition: no locks, no merge, no work on other
 * threads' positions, memory = one copy of the distinct n-grams. An n-gram
 * and its prefixes share a partition. Lookups are prefetched ahead of use:
 * the keys are known from the text, so the cache misses of a hash table
 * (its real cost) overlap.
 *
 * Lifecycle: bp_ngrams_new -> [bp_ngrams_balance or bp_ngrams_assign] ->
 * bp_ngrams_count (any number of times; calls on different partitions may
 * run concurrently, calls on the same partition may not) -> bp_ngrams_finish
 * (adds missing bytes, prunes, turns counts into log-probabilities) ->
 * bp_ngrams_logprob / bp_ngrams_emissions (read-only, thread-safe;
 * bp_ngram_view.h) -> bp_ngrams_free.
 *
 * This header holds the counter itself: making and freeing it, partition
 * maps, counting, finishing (whole, or partition by partition with the
 * caller's logarithms) and its statistics. Moving counts and finished
 * tables between processes is in bp_ngram_shards.h; reading a finished
 * model (lookups, emissions, views of exported tables) in bp_ngram_view.h.
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
 * Buffered counting, for a counter that sees the whole corpus (the thread
 * engine): from now on bp_ngrams_count only appends each position of its
 * partition to that partition's buffer (8 bytes a position), and the
 * partition's n-grams are counted by sorting the buffer, which touches
 * memory in order instead of probing a hash table per n-gram. When a
 * partition has buffered `max_positions` positions (or more: a chunk is
 * never split), its buffer is sorted and its counts added to its tables,
 * as many times as needed; bp_ngrams_settle counts what is left. When the
 * whole of a partition's text fitted in its buffer, settling keeps only
 * the n-grams that finishing with its min_count keeps, so the tables never
 * hold the n-grams counted fewer times (most of them: the counter then
 * takes a fraction of the memory, and of the time).
 *
 * Call once, before the first count, with max_positions >= 1. Until a
 * partition is settled, what reads its counts (bp_ngrams_add_missing_bytes,
 * bp_ngrams_large_counts, bp_ngrams_count_histogram,
 * bp_ngrams_finish_partition*, bp_ngrams_export_counts,
 * bp_ngrams_add_counts) fails with BP_ERR_INVALID and
 * bp_ngrams_get_count answers 0. Errors: BP_ERR_INVALID (counting started,
 * a view, called twice, max_positions 0).
 */
int bp_ngrams_buffer(bp_ngrams *ngrams, size_t max_positions);

/*
 * Counts the positions that `partition` buffered and frees its buffer; no
 * count of that partition is taken afterwards. If all of the partition's
 * text was in the buffer (nothing went to its tables before), the n-grams
 * longer than a byte counted fewer than min_count times are not kept, and
 * the partition may then be finished only with a min_count of at least
 * this one (bp_ngrams_finish_partition* and the readers that take a
 * min_count refuse a lower one: the model would lack n-grams); otherwise
 * every n-gram is kept. Calls on different partitions may run concurrently.
 * Errors: BP_ERR_INVALID (not buffered, bad partition or min_count, settled
 * already), BP_ERR_NOMEM (the partition's counts are then lost: free the
 * counter). Time O(positions) (a radix sort) plus a table insertion per
 * n-gram kept; memory twice the buffer while it sorts.
 */
int bp_ngrams_settle(bp_ngrams *ngrams, int partition, uint64_t min_count);

/* Number of distinct n-grams of `length` counted (all partitions): those
 * stored and those that settling did not keep. */
size_t bp_ngrams_distinct(const bp_ngrams *ngrams, int length);

/* The largest number of bytes the buffers held at once, summed over the
 * partitions (each partition's own largest; 0 when not buffered). */
size_t bp_ngrams_buffer_peak(const bp_ngrams *ngrams);

/*
 * Ends counting: every single byte never seen gets count 1 (and the empty
 * n-gram one more position), n-grams longer than 1 byte with a count below
 * min_count are dropped, and each kept n-gram k gets its conditional
 * log-probability log c(k) - log c(k[:-1]) (float64; c of the empty n-gram
 * is the number of positions). The same as bp_ngrams_settle (a buffered
 * counter's partitions not settled yet, with min_count), then
 * bp_ngrams_add_missing_bytes, then bp_ngrams_finish_partition on every
 * partition. Errors: BP_ERR_INVALID (twice, or bad min_count), BP_ERR_NOMEM.
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

/*
 * The histogram of the counts of one partition's n-grams of `length`
 * (2..order) counted at least `min_count` times, those counted `cap` times
 * or more taken as counted `cap` times: values[i] (ascending, distinct,
 * min_count..cap) is a count that num_ngrams[i] of them have. So for every
 * m <= cap it tells how many n-grams finishing with min_count m would keep,
 * before finishing: the trainer chooses the min_count that makes the n-gram
 * model fit a budget from it (docs/spec/training.md §2). Each n-gram is in
 * one partition, so the histograms of the partitions (and of the lengths)
 * add up to the corpus's. Call before finishing the partition, on whole
 * counts (merged from every shard). With capacity too small (or either
 * array NULL) nothing is written and *num_values says how many values there
 * are: call again. Errors: BP_ERR_INVALID (bad partition or length,
 * min_count 0, cap below min_count or above BP_NGRAM_HISTOGRAM_MAX_CAP, the
 * partition finished, num_values NULL), BP_ERR_NOMEM. Time O(table
 * capacity + cap); memory 8 * (cap + 1) bytes, freed on return.
 */
#define BP_NGRAM_HISTOGRAM_MAX_CAP ((uint64_t)1 << 24)
int bp_ngrams_count_histogram(const bp_ngrams *ngrams, int partition, int length, uint64_t min_count, uint64_t cap,
                              uint64_t *values, uint64_t *num_ngrams, size_t capacity, size_t *num_values);

/*
 * An upper bound of the bytes that the finished tables (as exported:
 * bp_ngram_shards.h) of a model of `order` over `num_partitions`
 * partitions take when they keep `kept` n-grams longer than a byte in all:
 * 16 KiB per table (its least size, 1024 slots of 16 bytes; a 1-gram table
 * never leaves it) plus 64 bytes per kept n-gram (a finished table is the
 * least power of two of slots at least half empty, so beyond its least size
 * it holds fewer than 4 slots per n-gram). The trainer bounds the model with
 * num_partitions = BP_MAX_PARTITIONS, so that the bound, and the min_count
 * chosen with it, do not depend on how the tables are partitioned.
 * UINT64_MAX when it overflows; 0 for an order or num_partitions out of range.
 */
uint64_t bp_ngrams_finished_bytes_bound(int order, int num_partitions, uint64_t kept);

/* The count of the empty n-gram (byte positions) so far. */
uint64_t bp_ngrams_positions(const bp_ngrams *ngrams);

/* The order the counter was created with. */
int bp_ngrams_order(const bp_ngrams *ngrams);

/* The raw count of text[0 .. length) (0 <= length <= order) before
 * bp_ngrams_finish, or 0 (also while its partition is buffered, and for an
 * n-gram that settling did not keep). For tests and statistics. */
uint64_t bp_ngrams_get_count(const bp_ngrams *ngrams, const uint8_t *text, int length);

/* Number of distinct n-grams stored for `length` (all partitions; for a
 * settled partition of a buffered counter, those settling kept). */
size_t bp_ngrams_size(const bp_ngrams *ngrams, int length);

/* Bytes of memory held by the tables and the buffers. */
size_t bp_ngrams_memory(const bp_ngrams *ngrams);

/* While counting: the bytes that the tables more than half full would take
 * on top of bp_ngrams_memory while each doubles (its old and new slots at
 * once: twice its size). A table doubles when 3/4 full, so a caller that
 * checks bp_ngrams_memory plus this between calls of bp_ngrams_count against
 * a bound sees each doubling coming, unless one call adds more than a
 * quarter of a table's capacity. A buffered counter adds, for each
 * partition not settled, its buffer's size (the copy that sorting it takes)
 * and, past half full, its doubling. 0 for NULL. O(order * partitions). */
size_t bp_ngrams_growth_reserve(const bp_ngrams *ngrams);

#endif
