/*
 * bp_ngram_view.h: reading a finished n-gram model (bp_ngram.h): its
 * log-probabilities, the emissions of the trainer's Viterbi (bp_bnlm.h), and
 * views, finished models that read exported tables (bp_ngram_shards.h) in
 * place. Every function here only reads the model, so any number of
 * threads may call them on one model at once.
 */
#ifndef BP_NGRAM_VIEW_H
#define BP_NGRAM_VIEW_H

#include "bp_ngram.h"

/*
 * A finished model that reads exported tables in place: tables[(j - 1) *
 * num_partitions + p] holds capacities[...] slots of length j, partition p
 * (as bp_ngrams_export_table wrote them, 8-byte aligned). The tables stay
 * the caller's and must outlive the view; the view never writes them, so
 * any number of views (and processes) may share them. *out is freed with
 * bp_ngrams_free. A view refuses counting and merging (BP_ERR_INVALID).
 * Errors: BP_ERR_INVALID (bad order, partitions or map, a capacity that is
 * not a power of two, a table with no free slot, which would make lookups
 * endless), BP_ERR_NOMEM; *out is then NULL. Time O(total slots) to check
 * them.
 */
int bp_ngrams_view(int order, int num_partitions, const uint8_t part_of_byte[256], const void *const *tables,
                   const size_t *capacities, bp_ngrams **out);

/* The log-probability of the n-gram text[0 .. length) (bytes, 1 <= length
 * <= order) after bp_ngrams_finish, or -INFINITY if it was pruned or never
 * seen, or the model is not finished. Expected O(length). */
double bp_ngrams_logprob(const bp_ngrams *ngrams, const uint8_t *text, int length);

/*
 * The emissions of the trainer's Viterbi for one chunk text[0 .. n) (bytes):
 * out[i * order + j] = lp(text[i-j .. i]) for j <= i, and -INFINITY for j > i
 * or after the first pruned j at that i (a pruned n-gram makes every longer
 * one ending at i pruned too). out has n * order entries (caller-owned).
 * 1- and 2-grams are read from dense arrays, longer ones hashed and
 * prefetched a few positions ahead. Errors: BP_ERR_INVALID (NULL argument,
 * or the model is not finished). Expected O(n * order).
 */
int bp_ngrams_emissions(const bp_ngrams *ngrams, const uint8_t *text, size_t n, double *out);

#endif
