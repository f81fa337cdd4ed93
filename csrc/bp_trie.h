/*
 * bp_trie.h: the vocabulary as a double-array trie over bytes.
 *
 * Layout (why it looks like this: the trie walk is the wall of the segmenter,
 * so a step must cost one cache line and no bounds check):
 *   - node 0 is the root; the child of node n on byte c is t = base(n) + c,
 *     valid iff units[t].check == n;
 *   - a unit is 8 bytes, the children's base and the transition check:
 *     all that the chain of dependent loads of a walk reads (no flag bits
 *     to mask off on it), so the units of a 32k vocabulary (~100k) fit a
 *     core's L2 cache;
 *   - the array is padded so that base(n) + 255 is always in range: a walk
 *     never needs a bounds check, whatever bytes it reads;
 *   - the piece ending at a node (score, token id, length; length 0 where
 *     none ends) lives in a parallel array: the score load of a step is off
 *     the walk's chain, so its latency overlaps the next step.
 * The trie is immutable once built; any number of threads may read it.
 */
#ifndef BP_TRIE_H
#define BP_TRIE_H

#include "bp_common.h"

/* The largest base (node indices are int32). */
#define BP_MAX_BASE 0x7fffffffu
typedef struct {
    uint32_t base;  /* offset of the children: nothing to mask on a walk's chain of loads */
    int32_t check;  /* parent node, or -1 for a free unit */
} bp_unit;

typedef struct {
    double score;   /* score of the piece ending at this node; -inf where none ends.
                     * The segmenters stay memory-safe whatever it holds. */
    int32_t id;     /* its token id */
    int32_t length; /* its length in bytes (= depth of the node) */
} bp_piece_info;

typedef struct {
    bp_unit *units;       /* num_units entries */
    bp_piece_info *info;  /* num_units entries, parallel to units */
    size_t num_units;
    size_t num_pieces;
    uint32_t max_piece_len;
} bp_trie;

/*
 * Builds a trie of n pieces. Piece i is bytes[offsets[i] .. offsets[i+1]),
 * with score scores[i] and token id ids[i] (>= 0). Inputs are borrowed.
 * Requires: n >= 1, offsets non-decreasing, every piece non-empty and at most
 * BP_MAX_PIECE_LEN bytes, no piece twice, all 256 single bytes present (the
 * segmenter relies on it: every byte string is then segmentable), every
 * score finite with |score| <= BP_MAX_ABS_SCORE (then no sum of scores
 * along a text overflows: the dynamic programmes stay exact).
 * On success *out is a new trie that the caller frees with bp_trie_free.
 * Errors: BP_ERR_INVALID (broken requirement: also a NaN, infinite or
 * out-of-range score), BP_ERR_DUPLICATE,
 * BP_ERR_TOO_LARGE (a piece too long, or more than 2^31 units), BP_ERR_NOMEM.
 * Time O(L log n) for L total bytes (sort) plus the base search, in practice
 * linear; memory about 24 bytes per trie node.
 */
int bp_trie_build(const uint8_t *bytes, const int64_t *offsets, size_t n,
                  const double *scores, const int32_t *ids, bp_trie **out);

/* Frees a trie from bp_trie_build; NULL is a no-op. */
void bp_trie_free(bp_trie *trie);

/* A position in a walk down the trie: the node, and its children's offset
 * kept at hand (the next step needs no reload of the node's unit). */
typedef struct {
    int32_t node;
    uint32_t base;
} bp_trie_cursor;

/* A cursor at the root. */
static inline bp_trie_cursor bp_trie_root(const bp_trie *trie)
{
    bp_trie_cursor cursor = {0, trie->units[0].base};
    return cursor;
}

/* 1 iff a piece ends at `node` (then info[node] holds its score, id and length). */
static inline int bp_trie_is_piece(const bp_trie *trie, int32_t node) { return trie->info[node].length > 0; }

/* Moves the cursor down by byte c and returns the unit reached (whether a
 * piece ends there: bp_trie_is_piece of the cursor's node), or NULL if the
 * node has no child c (the cursor is then unchanged). O(1). */
static inline const bp_unit *bp_trie_step(const bp_trie *trie, bp_trie_cursor *cursor, uint8_t c)
{
    const uint32_t t = cursor->base + c;
    const bp_unit *u = &trie->units[t];
    if (u->check != cursor->node)
        return NULL;
    cursor->node = (int32_t)t;
    cursor->base = u->base;
    return u;
}

/* The node reached from `node` by byte c, or -1 if there is none. O(1). */
static inline int32_t bp_trie_child(const bp_trie *trie, int32_t node, uint8_t c)
{
    bp_trie_cursor cursor = {node, trie->units[node].base};
    return bp_trie_step(trie, &cursor, c) ? cursor.node : -1;
}

#endif
