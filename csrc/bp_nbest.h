/*
 * bp_nbest.h: the k best segmentations of a text (docs/spec/segmentation.md).
 */
#ifndef BP_NBEST_H
#define BP_NBEST_H

#include "bp_trie.h"

/*
 * The k highest-scoring segmentations of text[0 .. len) (bytes; chunks as
 * in bp_encode), best first; exact (a k-best dynamic programme over the
 * same candidates as the Viterbi). Segmentation r has ids
 * out_ids[out_offsets[r] .. out_offsets[r+1]) and total score
 * out_scores[r]; *num_found (<= k) says how many there are. Equal scores
 * keep the Viterbi's order, so segmentation 0 is BP_MODE_BEST's. out_ids
 * needs room for k * len ids (at least 1), out_offsets k + 1, out_scores k.
 * Whatever the trie's scores (NaN and infinities included: bp_segmenter.h),
 * *num_found >= 1 and every segmentation found is one of the text, its ids
 * spelling it; only their order and scores then mean nothing.
 * Errors: BP_ERR_INVALID (k == 0), BP_ERR_NOMEM.
 * Time O(len * pieces per position * k), memory 16 * k * (len + 1) bytes.
 */
int bp_nbest(const bp_trie *trie, const uint8_t *text, size_t len, size_t k,
             int32_t *out_ids, int64_t *out_offsets, double *out_scores, size_t *num_found);

#endif
