/* bp_segmenter.c: the three segmentation modes (see bp_segmenter.h). */
#include "bp_segmenter.h"
#include "bp_best.h"
#include "bp_chunk.h"
#include "bp_rng.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define BP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define BP_ALWAYS_INLINE inline
#endif

/*
 * Per-position state lives in ring buffers of (a power of two > the longest
 * piece) entries: a position is only written by pieces that start at most
 * max_piece_len bytes earlier, so the ring stays in L1 whatever the text
 * length. Only the back-pointers (what backtracking needs) span the chunk.
 *
 * Invariant between chunks: score[] is all empty_score(mode) and mass[] all 0.
 *
 * Whatever the scores in trie->info (NaN, infinities, values whose sums
 * overflow: bp_trie_build refuses them, but the segmenters do not rely on
 * it), every mode writes back[e] for every position e of a chunk in that
 * chunk, with a node that the walk from some start s reached at e, so its
 * depth is e - s; and backtrack replaces a node that ends no piece (which
 * only BEST may choose, and only when no score beats -inf) by the single
 * byte. The ids are then always a segmentation of the text. With finite
 * scores within BP_MAX_ABS_SCORE nothing of this changes a result.
 */
typedef struct {
    double *score; /* BEST, VITERBI sampling: best path score; PERFECT: running max m */
    double *mass;  /* PERFECT only: sum of exp(w - m) over the candidates so far */
    size_t mask;
    int32_t *back; /* back[e] = trie node of the piece chosen to end at e */
    const double *weights; /* PERFECT in linear space: bp_sampling_weights, or NULL */
} workspace;

/*
 * The score of a position that no candidate has reached yet. BEST: NaN
 * (bp_best.h), so that back[e] is written in every chunk, before anything
 * reads it, whatever the scores. The samplers: -inf, the log-space perfect
 * sampler's running maximum before any candidate (the Viterbi sampler tests
 * for it).
 */
static inline double empty_score(bp_mode mode) { return mode == BP_MODE_BEST ? bp_best_empty() : -INFINITY; }

/* How many starts ahead prefetch_walk looks. */
#define PREFETCH_AHEAD 2

/*
 * Prefetches the units and piece infos that the walk from start s +
 * PREFETCH_AHEAD will read at its levels 2 and 3, where they are (a few
 * dependent loads, off the current walk's chain). The walk from s ends in
 * a mispredicted branch that throws away the speculative work after it, so
 * the CPU does not overlap consecutive walks by itself; issued before it,
 * these loads are not thrown away, and that walk finds its deeper nodes in
 * L1. Measured: +3-10% on a 32k and a 40k model (levels 1 are L1-resident,
 * deeper or farther ahead gained nothing more). Reads text[s + 2 .. s + 5).
 */
static inline void prefetch_walk(const bp_trie *trie, const uint8_t *text, size_t n, size_t s)
{
#if defined(__GNUC__)
    if (s + PREFETCH_AHEAD + 3 <= n) { /* the 3 bytes of levels 1-3 */
        const uint8_t *ahead = text + s + PREFETCH_AHEAD;
        const bp_unit *units = trie->units;
        const uint32_t level1 = units[0].base + ahead[0];
        const uint32_t level2 = units[level1].base + ahead[1];
        const uint32_t level3 = units[level2].base + ahead[2];
        __builtin_prefetch(&units[level2]);
        __builtin_prefetch(&trie->info[level2]);
        __builtin_prefetch(&units[level3]);
        __builtin_prefetch(&trie->info[level3]);
    }
#else
    (void)trie, (void)text, (void)n, (void)s;
#endif
}

/* Backtracks the chunk text[0 .. n)'s choices from back[] and writes its
 * ids in text order. Every back[e] was written in this chunk by a walk that
 * reached e (see workspace), so a piece found there has length <= e. A
 * node that ends no piece (length 0: BEST keeps one only when no candidate
 * scored above -inf, which finite scores never allow) stands for the
 * single byte text[e - 1] instead, a piece of every trie: the ids still
 * spell the text, and the loop always moves back. */
static size_t backtrack(const bp_trie *trie, const int32_t *back, const uint8_t *text, size_t n, int32_t *out)
{
    const bp_piece_info *info = trie->info;
    size_t count = 0;
    for (size_t e = n; e > 0;) {
        int32_t node = back[e];
        if (!bp_trie_is_piece(trie, node))
            node = bp_trie_child(trie, 0, text[e - 1]);
        out[count++] = info[node].id;
        e -= (size_t)info[node].length;
    }
    for (size_t i = 0, j = count; i + 1 < j; i++, j--) {
        int32_t tmp = out[i];
        out[i] = out[j - 1];
        out[j - 1] = tmp;
    }
    return count;
}

/*
 * Segments one chunk text[0 .. n) starting at byte `offset` of the document
 * (the offset only keys the random draws) and appends its ids to out.
 * `mode` is a compile-time constant at each call site, so this body is
 * specialised three times with no mode test in the loop.
 */
static BP_ALWAYS_INLINE size_t segment_chunk(const bp_trie *trie, const uint8_t *text, size_t n,
                                            size_t offset, const bp_mode mode, double alpha,
                                            uint64_t key, workspace *ws, int32_t *out)
{
    double *score = ws->score, *mass = ws->mass;
    int32_t *back = ws->back;
    const size_t mask = ws->mask;
    const bp_piece_info *info = trie->info;
    const bp_trie_cursor root = bp_trie_root(trie);

    const double empty = empty_score(mode);
    score[0] = 0.0;
    if (mode == BP_MODE_SAMPLE_PERFECT)
        mass[0] = 1.0; /* Z[0] = m + log(mass) = 0 */

    for (size_t s = 0; s < n; s++) {
        prefetch_walk(trie, text, n, s);
        const size_t slot_s = s & mask;
        double from; /* BEST/VITERBI: path score at s; PERFECT: log Z[s] */
        if (mode == BP_MODE_SAMPLE_PERFECT) {
            from = score[slot_s] + log(mass[slot_s]);
            mass[slot_s] = 0.0;
        } else {
            from = score[slot_s];
        }
        score[slot_s] = empty; /* the slot now serves position s + ring size */

        bp_trie_cursor cursor = root;
        size_t e = s;
        for (;;) {
            const bp_unit *u = bp_trie_step(trie, &cursor, text[e]);
            if (!u)
                break;
            const int32_t node = cursor.node;
            e++;
            if (mode == BP_MODE_BEST) {
                /* No test for the end of a piece: where none ends the score
                 * is -inf, which never beats a piece (backtrack covers the
                 * case where it is all there is). Branch-free: which
                 * candidate wins is a guess the CPU would often get wrong. */
                const size_t slot = e & mask;
                const double x = from + info[node].score, y = score[slot];
                /* The rule of bp_best.h: the first candidate always wins;
                 * after it the first (longest) of equals stays. The node is
                 * selected with a mask, as compilers turn a ternary back
                 * into a branch. */
                const int32_t take = -(int32_t)bp_best_takes(x, y), kept = back[e];
                score[slot] = bp_best_kept(x, y);
                back[e] = (node & take) | (kept & ~take);
            } else if (bp_trie_is_piece(trie, node)) {
                const size_t slot = e & mask;
                if (mode == BP_MODE_SAMPLE_PERFECT) {
                    /* Forward filtering with a weighted reservoir draw: after the
                     * candidates s' <= s, back[e] holds s' with probability
                     * exp(w(s') - logsumexp(w)). Z[e] is kept as (max m, mass). */
                    const double w = from + alpha * info[node].score;
                    double m = score[slot], total = mass[slot], p;
                    /* The first candidate of e (mass still 0) is kept surely:
                     * p below is 1 for it with finite w, but NaN where the
                     * sums overflowed, and then back[e] would never be set. */
                    const int first = total == 0.0;
                    if (w > m) {
                        total = total * exp(m - w) + 1.0;
                        m = w;
                        p = 1.0 / total;
                    } else {
                        const double r = exp(w - m);
                        total += r;
                        p = r / total;
                    }
                    score[slot] = m;
                    mass[slot] = total;
                    /* A sure choice needs no draw. */
                    if (first || p >= 1.0 || bp_uniform(key, offset + e, e - s) < p)
                        back[e] = node;
                } else { /* BP_MODE_SAMPLE_VITERBI */
                    /* The first piece to reach e finds y == -inf (the empty
                     * slot) and is kept surely, whatever x is (NaN and -inf
                     * included): back[e] is always a piece set in this chunk.
                     * Later draws with NaN in them are never taken (u < NaN
                     * is false), which leaves a valid choice in place. */
                    const double x = from + info[node].score, y = score[slot];
                    int take = y == -INFINITY;
                    if (!take) {
                        const double p = 1.0 / (1.0 + exp(-alpha * (x - y)));
                        take = bp_uniform(key, offset + e, e - s) < p;
                    }
                    if (take) {
                        score[slot] = x;
                        back[e] = node;
                    }
                }
            }
            if (e == n)
                break;
        }
    }
    /* Restore the between-chunks invariant (slots of s < n were reset above). */
    score[n & mask] = empty;
    if (mode == BP_MODE_SAMPLE_PERFECT)
        mass[n & mask] = 0.0;

    return backtrack(trie, back, text, n, out);
}

/* The scaled partition functions are kept within [Z_MIN, Z_MAX]. */
#define Z_MIN 0x1p-400
#define Z_MAX 0x1p400

/* Multiplies every entry of the ring by f (a power of two, so exactly);
 * 0 if one of them left the normal range (the linear form would lose
 * precision: the caller falls back to the log-space sampler). */
static int rescale_ring(double *z, size_t ring, double f)
{
    int ok = 1;
    for (size_t i = 0; i < ring; i++) {
        const double x = z[i] * f;
        ok &= x == 0.0 || (x >= DBL_MIN && x <= DBL_MAX);
        z[i] = x;
    }
    return ok;
}

/*
 * Perfect sampling of one chunk in linear space (docs/spec/segmentation.md
 * §3): the same forward filtering with a weighted reservoir draw as the
 * log-space form in segment_chunk, on Z[e] = sum over candidates of
 * Z[s] * w(piece), with w = exp(alpha * score) looked up in ws->weights. No
 * exp or log per candidate. The ring mass[] holds Z times one power of two
 * shared by every live entry; when Z[s] leaves [Z_MIN, Z_MAX] all
 * entries are rescaled, and every value stays a normal float64, so each
 * draw compares the same quantities as the log form up to rounding.
 * Returns the number of ids, or SIZE_MAX when a rescaling would leave the
 * normal range (then the ring is reset and nothing was written: the caller
 * samples the chunk in log space). Between chunks mass[] is all 0.
 */
static size_t sample_chunk_linear(const bp_trie *trie, const uint8_t *text, size_t n, size_t offset,
                                  uint64_t key, workspace *ws, int32_t *out)
{
    double *z = ws->mass;
    int32_t *back = ws->back;
    const double *weights = ws->weights;
    const size_t mask = ws->mask;
    const bp_trie_cursor root = bp_trie_root(trie);

    z[0] = 1.0;
    for (size_t s = 0; s < n; s++) {
        prefetch_walk(trie, text, n, s);
        const size_t slot_s = s & mask;
        double from = z[slot_s];
        z[slot_s] = 0.0; /* the slot now serves position s + ring size */
        if (!(from >= Z_MIN && from <= Z_MAX)) {
            int exponent;
            frexp(from, &exponent);
            const double f = ldexp(1.0, -exponent);
            from *= f; /* now in [0.5, 1), unless Z[s] was 0, inf or NaN */
            if (!(from >= 0.5 && from < 1.0) || !rescale_ring(z, mask + 1, f)) {
                memset(z, 0, (mask + 1) * sizeof *z);
                return SIZE_MAX;
            }
        }
        bp_trie_cursor cursor = root;
        size_t e = s;
        /* Its draws: at every step, bp_uniform(key, offset + e, e - s). */
        bp_walk_draws draws = bp_walk_draws_start(key, offset + s + 1, 1);
        for (;;) {
            const bp_unit *u = bp_trie_step(trie, &cursor, text[e]);
            if (!u)
                break;
            e++;
            const double draw = bp_walk_draws_next(&draws);
            /* No test for the end of a piece: where none ends the weight is
             * 0, which adds nothing and is never kept. */
            const size_t slot = e & mask;
            const double before = z[slot];
            const double c = from * weights[cursor.node];
            const double total = before + c;
            z[slot] = total;
            /* Kept with probability c / total; the first candidate surely.
             * Selected with a mask: the outcome is a coin flip the CPU
             * cannot predict, and compilers turn a ternary into a branch.
             * Why back[e] is always set: with weights from
             * bp_sampling_weights (BP_OK), a piece's weight is within
             * e^+-200 and from within [Z_MIN, Z_MAX], so c of every piece
             * is a positive normal number (>= 2^-689), whatever the scores
             * in the trie now hold (they are not read here); the first
             * piece to reach e then finds before == 0 and is kept. */
            const int32_t take = -(int32_t)((c > 0.0) & ((before == 0.0) | (draw * total < c)));
            const int32_t kept = back[e];
            back[e] = (cursor.node & take) | (kept & ~take);
            if (e == n)
                break;
        }
    }
    z[n & mask] = 0.0;
    return backtrack(trie, back, text, n, out);
}

/* Allocates the rings and back-pointers for texts of up to `longest` bytes,
 * for one mode (the rings start in that mode's between-chunks state). */
static int workspace_init(workspace *ws, const bp_trie *trie, size_t longest, bp_mode mode)
{
    /* A piece spans at most min(longest piece, text) bytes: size the ring by
     * that, so a model with one huge piece does not slow down short texts. */
    size_t span = trie->max_piece_len < longest ? trie->max_piece_len : longest;
    size_t ring = 1;
    while (ring <= span)
        ring <<= 1;
    if (longest + 1 > SIZE_MAX / sizeof(int32_t))
        return BP_ERR_NOMEM;
    ws->mask = ring - 1;
    ws->score = malloc(2 * ring * sizeof(double));
    ws->back = malloc((longest + 1) * sizeof(int32_t));
    if (!ws->score || !ws->back) {
        free(ws->score);
        free(ws->back);
        return BP_ERR_NOMEM;
    }
    ws->mass = ws->score + ring;
    ws->weights = NULL;
    for (size_t i = 0; i < ring; i++) {
        ws->score[i] = empty_score(mode);
        ws->mass[i] = 0.0;
    }
    return BP_OK;
}

static void workspace_free(workspace *ws)
{
    free(ws->score);
    free(ws->back);
}

/* Segments one text chunk by chunk into out; returns the number of ids. */
static size_t encode_text(const bp_trie *trie, const uint8_t *text, size_t len, bp_mode mode,
                          double alpha, uint64_t key, workspace *ws, int32_t *out_ids)
{
    size_t count = 0, start = 0;
    while (start < len) {
        const size_t end = bp_chunk_end(text, len, start);
        const uint8_t *chunk = text + start;
        size_t n = end - start;
        int32_t *out = out_ids + count;
        switch (mode) {
        case BP_MODE_BEST:
            count += segment_chunk(trie, chunk, n, start, BP_MODE_BEST, alpha, key, ws, out);
            break;
        case BP_MODE_SAMPLE_PERFECT: {
            size_t linear = ws->weights ? sample_chunk_linear(trie, chunk, n, start, key, ws, out) : SIZE_MAX;
            count += linear != SIZE_MAX
                         ? linear
                         : segment_chunk(trie, chunk, n, start, BP_MODE_SAMPLE_PERFECT, alpha, key, ws, out);
            break;
        }
        case BP_MODE_SAMPLE_VITERBI:
            count += segment_chunk(trie, chunk, n, start, BP_MODE_SAMPLE_VITERBI, alpha, key, ws, out);
            break;
        }
        start = end;
    }
    return count;
}

static int check_mode(bp_mode mode, double alpha)
{
    if (mode == BP_MODE_BEST)
        return BP_OK;
    if (mode != BP_MODE_SAMPLE_PERFECT && mode != BP_MODE_SAMPLE_VITERBI)
        return BP_ERR_INVALID;
    return alpha >= 0.0 && alpha <= BP_MAX_ALPHA ? BP_OK : BP_ERR_INVALID; /* false for NaN */
}

int bp_encode(const bp_trie *trie, const uint8_t *text, size_t len,
              bp_mode mode, double alpha, uint64_t stream_key,
              int32_t *out_ids, size_t *num_ids)
{
    if (!trie || (!text && len) || !out_ids || !num_ids || check_mode(mode, alpha) != BP_OK)
        return BP_ERR_INVALID;
    *num_ids = 0;
    if (len == 0)
        return BP_OK;
    workspace ws;
    int rc = workspace_init(&ws, trie, len, mode);
    if (rc != BP_OK)
        return rc;
    *num_ids = encode_text(trie, text, len, mode, alpha, stream_key, &ws, out_ids);
    workspace_free(&ws);
    return BP_OK;
}

int bp_sampling_weights(const bp_trie *trie, double alpha, double *out)
{
    if (!trie || !out || check_mode(BP_MODE_SAMPLE_PERFECT, alpha) != BP_OK)
        return BP_ERR_INVALID;
    int rc = BP_OK;
    for (size_t u = 0; u < trie->num_units; u++) {
        out[u] = 0.0;
        if (trie->units[u].check >= 0 && bp_trie_is_piece(trie, (int32_t)u)) {
            const double x = alpha * trie->info[u].score;
            if (!(fabs(x) <= BP_LINEAR_MAX_EXPONENT))
                rc = BP_ERR_TOO_LARGE;
            out[u] = exp(x);
        }
    }
    return rc;
}

int bp_encode_batch(const bp_trie *trie, const uint8_t *const *texts, const size_t *lengths, size_t num_texts,
                    bp_mode mode, double alpha, const double *weights, const uint64_t *keys, int add_bos,
                    int add_eos, int32_t *out_ids, int64_t *out_offsets)
{
    if (!trie || !out_offsets || (num_texts && (!texts || !lengths || !out_ids)) || check_mode(mode, alpha) != BP_OK)
        return BP_ERR_INVALID;
    if (mode != BP_MODE_BEST && num_texts && !keys)
        return BP_ERR_INVALID;
    size_t longest = 0;
    for (size_t k = 0; k < num_texts; k++) {
        if (!texts[k] && lengths[k])
            return BP_ERR_INVALID;
        if (lengths[k] > longest)
            longest = lengths[k];
    }
    workspace ws;
    int rc = workspace_init(&ws, trie, longest, mode);
    if (rc != BP_OK)
        return rc;
    if (mode == BP_MODE_SAMPLE_PERFECT)
        ws.weights = weights;
    int64_t count = 0;
    out_offsets[0] = 0;
    for (size_t k = 0; k < num_texts; k++) {
        if (add_bos)
            out_ids[count++] = BP_BOS_ID;
        count += (int64_t)encode_text(trie, texts[k], lengths[k], mode, alpha, mode == BP_MODE_BEST ? 0 : keys[k],
                                      &ws, out_ids + count);
        if (add_eos)
            out_ids[count++] = BP_EOS_ID;
        out_offsets[k + 1] = count;
    }
    workspace_free(&ws);
    return BP_OK;
}
