/*
 * bp_retokenize.h: the trainer's re-tokenizing of texts (its pieces) with a
 * candidate vocabulary (docs/spec/training.md §4 and §8): segmentation by
 * BP_MODE_BEST's rule (bp_best.h), never sampled, reduced to what pruning
 * needs (token totals, token counts) instead of ids.
 *
 * Whatever the trie's scores (NaN and infinities included: bp_segmenter.h),
 * each text counts the tokens of a segmentation of it. Every function only
 * reads the trie, so concurrent calls on one trie are safe.
 */
#ifndef BP_RETOKENIZE_H
#define BP_RETOKENIZE_H

#include "bp_trie.h"

/*
 * For the trainer's pruning: segments every text data[offsets[k] ..
 * offsets[k+1]) (bytes) as bp_encode_batch does in BP_MODE_BEST (chunks
 * included) and adds weights[k] to totals[id] for each token id of it.
 * totals has num_totals entries (> the largest id of the trie) and is not
 * cleared first. Inputs are borrowed.
 * Errors: BP_ERR_INVALID (NULL argument, decreasing offsets, an id of the
 * trie >= num_totals), BP_ERR_NOMEM (totals then hold a partial sum).
 * Whatever the trie's scores, each text adds the ids of a segmentation of it.
 * Time as bp_encode over all texts; memory 4 bytes per byte of the longest
 * text, or per byte of a run of short ones (up to 64 KiB and 4096 texts,
 * handed to bp_encode_batch at once), plus 24 bytes per text of a run.
 */
int bp_count_tokens(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                    size_t num_texts, const uint64_t *weights, uint64_t *totals, size_t num_totals);

/*
 * For the "em" training's pruning by gain: for every text data[offsets[k] ..
 * offsets[k+1]) (bytes; one vocabulary piece each, so no chunking), the
 * number of tokens of its best segmentation (BP_MODE_BEST's scores and
 * ties, bp_best.h) that is not the text as one token, into out[k]; 0 when
 * there is no such segmentation (a text of one byte, or bytes the trie
 * lacks). Whatever the trie's scores, a text of n >= 2 bytes gets the token
 * count (2 .. n) of some segmentation other than itself.
 * Inputs are borrowed.
 * Errors: BP_ERR_INVALID (NULL argument, decreasing offsets), BP_ERR_NOMEM.
 * Time O(total bytes * max_piece_len) trie steps; memory 12 bytes per byte
 * of the longest text.
 */
int bp_alternative_lengths(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                           size_t num_texts, int32_t *out);

#endif
