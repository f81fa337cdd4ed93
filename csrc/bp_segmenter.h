/*
 * bp_segmenter.h: segmentation of text into vocabulary pieces, i.e.
 * encoding text to token ids (docs/spec/segmentation.md). ("Decoding" is
 * only ever the inverse, ids to text, which the Python layer does.)
 *
 * The text is cut into chunks (bp_chunk.h); pieces never cross a chunk.
 * Each chunk is segmented by a dynamic programme over its byte positions in
 * "push" form: from every start s the trie walk finds the pieces s..e and
 * updates position e. All three modes are linear in the text length (each
 * position does at most max_piece_len trie steps) and use no recursion.
 *
 * Whatever the scores in the trie's info array (bp_trie_build admits only
 * finite ones within BP_MAX_ABS_SCORE, but a trie's scores are plain
 * memory: NaN, infinities or sums that overflow), every function here
 * reads only what it wrote and its result is a segmentation: the pieces of
 * the ids concatenate to the text. Which segmentation it is, and with what
 * probability, is only specified for scores that bp_trie_build accepts.
 * BP_MODE_BEST's choice between candidates is the rule of bp_best.h.
 *
 * The trainer's re-tokenizing (token totals, alternative segmentations) is
 * in bp_retokenize.h.
 */
#ifndef BP_SEGMENTER_H
#define BP_SEGMENTER_H

#include "bp_trie.h"

typedef enum {
    /* Viterbi: the highest-scoring segmentation; ties go to the longest
     * piece ending at a position (BytePiece 0.6.3's order). alpha unused. */
    BP_MODE_BEST = 0,
    /* Perfect sampling (forward filtering, backward sampling): draws a
     * segmentation S with probability exp(alpha * score(S)) / Z. */
    BP_MODE_SAMPLE_PERFECT = 1,
    /* Viterbi sampling: a running two-way draw per position; cheap but
     * biased towards the later (shorter) candidates. */
    BP_MODE_SAMPLE_VITERBI = 2
} bp_mode;

/*
 * Segments text[0 .. len) (bytes; any bytes, no normalization is done here)
 * and writes the token ids, in order, to out_ids, which must have room for
 * len entries (a segmentation never has more tokens than bytes).
 * *num_ids receives the number of ids written. stream_key selects the random
 * stream of the samplers (see bp_rng.h; unused by BP_MODE_BEST): the same
 * key gives the same result. alpha must be in [0, BP_MAX_ALPHA] for the samplers.
 * Whatever the trie's scores, the ids are a segmentation of the text.
 * The trie is only read, so concurrent calls on one trie are safe.
 * Errors: BP_ERR_INVALID (bad mode or alpha), BP_ERR_NOMEM.
 * Time O(len * max_piece_len) worst case, about 4 trie steps per byte on real
 * text; extra memory 4 * (len + 1) bytes plus O(max_piece_len).
 */
int bp_encode(const bp_trie *trie, const uint8_t *text, size_t len,
              bp_mode mode, double alpha, uint64_t stream_key,
              int32_t *out_ids, size_t *num_ids);

/* The largest |alpha * score| of a piece for which bp_sampling_weights
 * gives usable weights: within it, the linear-space sampler keeps every
 * value a normal float64 (docs/spec/segmentation.md §3). */
#define BP_LINEAR_MAX_EXPONENT 200.0

/*
 * The perfect sampler's weights for one alpha: out[u] = exp(alpha * score)
 * of the piece that ends at trie unit u, 0 where none ends; out has
 * trie->num_units entries (caller-owned). Given to bp_encode_batch, they
 * let BP_MODE_SAMPLE_PERFECT run without an exp or log per candidate.
 * Returns BP_ERR_TOO_LARGE when some |alpha * score| exceeds
 * BP_LINEAR_MAX_EXPONENT (out is then filled but must not be used: pass
 * NULL weights), BP_ERR_INVALID for a NULL argument or an alpha outside
 * [0, BP_MAX_ALPHA]. O(num_units) exp calls.
 */
int bp_sampling_weights(const bp_trie *trie, double alpha, double *out);

/*
 * Segments every text texts[k][0 .. lengths[k]) of a batch (bytes), text k with
 * random stream keys[k] (keys may be NULL in BP_MODE_BEST), each as
 * bp_encode would, reusing one workspace. weights: NULL, or what
 * bp_sampling_weights gave for this trie and alpha (BP_OK), used by
 * BP_MODE_SAMPLE_PERFECT only: the same draws in linear space (a chunk
 * whose values would leave the normal float64 range is sampled in log space
 * instead); the samples equal those of NULL weights except where a draw
 * falls within rounding of its threshold. The ids of text k, with BP_BOS_ID
 * before them and BP_EOS_ID after them when asked, go to
 * out_ids[out_offsets[k] .. out_offsets[k+1]). out_ids needs room for the
 * total length of the texts plus 2 per text; out_offsets num_texts + 1.
 * Whatever the trie's scores, the ids of each text are a segmentation of it
 * (weights other than bp_sampling_weights' BP_OK ones break the contract).
 * Inputs are borrowed (texts point into the caller's buffers, no copy);
 * concurrent calls on one trie are safe.
 * Errors: BP_ERR_INVALID (bad mode/alpha, NULL keys for a sampler),
 * BP_ERR_NOMEM.
 */
int bp_encode_batch(const bp_trie *trie, const uint8_t *const *texts, const size_t *lengths, size_t num_texts,
                    bp_mode mode, double alpha, const double *weights, const uint64_t *keys, int add_bos,
                    int add_eos, int32_t *out_ids, int64_t *out_offsets);

#endif
