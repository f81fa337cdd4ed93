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
 * Lifecycle: bp_ngrams_new -> [bp_ngrams_balance] -> bp_ngrams_count (any
 * number of times; calls on different partitions may run concurrently,
 * calls on the same partition may not) -> bp_ngrams_finish (adds missing
 * bytes, prunes, turns counts into log-probabilities; single-threaded) ->
 * bp_ngrams_logprob / bp_ngrams_emissions (read-only, thread-safe) ->
 * bp_ngrams_free.
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
 * Assigns the 256 first bytes to partitions so that the partitions get about
 * equal work, given how often each byte occurs (byte_counts, e.g. a sample
 * of the corpus): largest first, each to the least loaded partition. Only
 * before the first bp_ngrams_count; it changes the speed, never the counts.
 * Errors: BP_ERR_INVALID (counting has started).
 */
int bp_ngrams_balance(bp_ngrams *ngrams, const uint64_t byte_counts[256]);

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
 * is the number of positions). Errors: BP_ERR_INVALID (twice, or bad
 * min_count), BP_ERR_NOMEM.
 */
int bp_ngrams_finish(bp_ngrams *ngrams, uint64_t min_count);

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
