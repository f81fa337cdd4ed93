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
 * Time as bp_encode over all texts, without its ids: the Viterbi adds the
 * weights while it backtracks; memory 12 bytes per byte of the longest text.
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

/*
 * A lattice: the pieces of one trie (the base vocabulary) found in every
 * chunk of a fixed set of texts, so that the "em" training's rounds, which
 * re-tokenize the same texts with ever smaller vocabularies (subsets of the
 * base), skip the trie walks: a round is one pass over the recorded pieces.
 * Opaque; read-only once built, so concurrent counts on one are safe.
 */
typedef struct bp_lattice bp_lattice;

/*
 * Records the pieces of `trie` in every text data[offsets[k] ..
 * offsets[k+1]) (bytes; chunked as bp_encode_batch does), in the order in
 * which BP_MODE_BEST's Viterbi meets them, into a new lattice (*out, the
 * caller's to bp_lattice_free; NULL on error). The base id of a piece is its
 * id in the trie. The texts are read only during the call.
 * Errors: BP_ERR_INVALID (NULL argument, decreasing offsets),
 * BP_ERR_TOO_LARGE (an id of the trie above 65535 or a piece longer than
 * 255 bytes: the lattice stores them in 16 and 8 bits), BP_ERR_NOMEM.
 * Time as bp_count_tokens; memory 3 bytes per piece found (about 3 per
 * byte of text on real text) plus 16 bytes per chunk.
 */
int bp_lattice_build(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts,
                     bp_lattice **out);

/*
 * bp_count_tokens of the lattice's texts with a vocabulary that is a subset
 * of its base: ids[b] is the id of base piece b in the vocabulary, or < 0
 * where the vocabulary lacks it; scores[b] its score there (ignored where
 * ids[b] < 0); both of num_base >= (the largest base id + 1) entries. Adds
 * weights[k] (one per text of the lattice) to totals[id] for each token of
 * text k; totals has num_totals entries, is not cleared first. The totals
 * equal bp_count_tokens' with a trie of that vocabulary and those scores
 * (the same walks in the same order, the same rule of bp_best.h).
 * Errors: BP_ERR_INVALID (NULL argument, num_base too small, an id >=
 * num_totals, a score of a present piece that is not finite or exceeds
 * BP_MAX_ABS_SCORE, or a single byte the vocabulary lacks: then found
 * during the count, totals hold a partial sum), BP_ERR_NOMEM.
 * Time O(pieces in the lattice + num_base); memory 8 bytes per base id and
 * 16 per byte of the longest chunk.
 */
int bp_lattice_count(const bp_lattice *lattice, const double *scores, const int32_t *ids, size_t num_base,
                     const uint64_t *weights, uint64_t *totals, size_t num_totals);

/* The bytes the lattice holds (its arrays, with their spare room). */
size_t bp_lattice_memory(const bp_lattice *lattice);

/* The pieces the lattice recorded. */
size_t bp_lattice_num_edges(const bp_lattice *lattice);

/*
 * The id in `trie` of every text data[offsets[k] .. offsets[k+1]) (bytes)
 * that is a piece of it, into out[k]; -1 for the others (the empty text
 * included): how a vocabulary that is a subset of a lattice's base finds
 * its base ids. Inputs are borrowed.
 * Errors: BP_ERR_INVALID (NULL argument, decreasing offsets).
 * Time O(total bytes) trie steps; no memory.
 */
int bp_lookup_ids(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts, int32_t *out);

/* Frees a lattice (NULL: nothing). */
void bp_lattice_free(bp_lattice *lattice);

#endif
