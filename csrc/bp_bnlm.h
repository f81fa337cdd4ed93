/*
 * bp_bnlm.h: the trainer's segmentation (docs/spec/training.md, step 3).
 *
 * A Viterbi over states j in [0, order): "this byte is the (j+1)-th byte of
 * the current piece" (j = order-1: the order-th or later). Emission at byte
 * i in state j is the n-gram log-probability of text[i-j .. i]; transitions
 * are j -> 0 (a new piece starts) and j -> min(j+1, order-1). With
 * ensure_unicode no piece starts on a UTF-8 continuation byte. Ties break
 * as numpy's argmax did in BytePiece 0.6.3: the lowest state wins.
 * Pieces are the spans between positions in state 0.
 */
#ifndef BP_BNLM_H
#define BP_BNLM_H

#include "bp_ngram_view.h"
#include "bp_pieces.h"

/* Reusable per-thread buffers (back-pointers, emissions); zero-initialize
 * it and release it with bp_bnlm_workspace_free. */
typedef struct {
    uint8_t *back;
    double *emit;
    size_t back_capacity, emit_capacity; /* entries of each (bp_reserve): n * order at least */
} bp_bnlm_workspace;

void bp_bnlm_workspace_free(bp_bnlm_workspace *ws);

/*
 * Segments one chunk text[0 .. n) (bytes, n >= 1) with the finished n-gram
 * model `ngram_model` (its order is the number of states). Writes the
 * start positions of the pieces, ascending, to starts (room for n entries)
 * and their number to *num_starts. Errors: BP_ERR_INVALID, BP_ERR_NOMEM.
 * Time O(n * order) plus at most n * order model lookups; memory 9 * n *
 * order bytes in ws.
 */
int bp_bnlm_segment(const bp_ngrams *ngram_model, int ensure_unicode, const uint8_t *text,
                    size_t n, bp_bnlm_workspace *ws, size_t *starts, size_t *num_starts);

/*
 * Segments every chunk data[offsets[k] .. offsets[k+1]) and adds each of its
 * pieces to `counts`, weights[k] times (once each when weights is NULL: the
 * weights let a caller segment each distinct chunk once, with its number of
 * occurrences). Inputs are borrowed. Safe to run concurrently on one model
 * with distinct counters. Errors as for bp_bnlm_segment and
 * bp_piece_counts_add (a zero weight is BP_ERR_INVALID).
 */
int bp_bnlm_count_pieces(const bp_ngrams *ngram_model, int ensure_unicode, const uint8_t *data,
                         const int64_t *offsets, const uint64_t *weights, size_t num_chunks,
                         bp_piece_counts *counts);

#endif
