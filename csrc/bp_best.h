/*
 * bp_best.h: the rule by which BP_MODE_BEST (bp_segmenter.h) chooses, in one
 * place for every dynamic programme that must choose as it does: the
 * Viterbi of bp_segmenter.c and bp_alternative_lengths (bp_retokenize.c).
 *
 * A "push" Viterbi walks the trie from every start s in increasing order,
 * so the candidates (pieces) that end at a position e arrive longest first.
 * Each position keeps the best path score y seen so far, and a candidate of
 * path score x replaces it when bp_best_takes(x, y), that is !(x <= y):
 *
 *   - A position that no candidate has reached holds bp_best_empty(), NaN,
 *     and x <= NaN is false for every x (NaN included): the first candidate
 *     to reach a position always wins, whatever its score. Its choice is
 *     then written before anything reads it, even where every sum is -inf
 *     or NaN (scores that bp_trie_build refuses but memory can hold).
 *   - After it, a candidate wins only with a strictly higher score: of
 *     equal candidates the first (longest) stays, BytePiece 0.6.3's order.
 *
 * With the scores bp_trie_build accepts the first candidate has a finite
 * score or -inf (bp_segmenter.c also offers nodes that end no piece, at
 * -inf), and every later one competes with it exactly as with an empty
 * position of -inf and the plain rule x > y: the choice of NaN never
 * changes an id. Each function is O(1), pure and branch-free.
 */
#ifndef BP_BEST_H
#define BP_BEST_H

#include <math.h>

/* The score of a position that no candidate has reached yet. */
static inline double bp_best_empty(void) { return NAN; }

/* 1 iff a candidate of path score x replaces the position's best score y. */
static inline int bp_best_takes(double x, double y) { return !(x <= y); }

/* The score the position keeps after the candidate x: x where
 * bp_best_takes(x, y), else y (or x == y). Written as maxsd's operands, so
 * that it compiles to one instruction rather than a branch. */
static inline double bp_best_kept(double x, double y) { return y > x ? y : x; }

#endif
