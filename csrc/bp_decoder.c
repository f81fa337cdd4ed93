/* bp_decoder.c: the three decoding modes (see bp_decoder.h, DESIGN.md s.3). */
#include "bp_decoder.h"
#include "bp_rng.h"

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
 * Invariant between chunks: score[] is all -inf and mass[] all 0.
 */
typedef struct {
    double *score; /* BEST, VITERBI sampling: best path score; PERFECT: running max m */
    double *mass;  /* PERFECT only: sum of exp(w - m) over the candidates so far */
    size_t mask;
    int32_t *back; /* back[e] = trie node of the piece chosen to end at e */
} workspace;

/*
 * Decodes one chunk text[0 .. n) starting at byte `offset` of the document
 * (the offset only keys the random draws) and appends its ids to out.
 * `mode` is a compile-time constant at each call site, so this body is
 * specialised three times with no mode test in the loop.
 */
static BP_ALWAYS_INLINE size_t decode_chunk(const bp_trie *trie, const uint8_t *text, size_t n,
                                            size_t offset, const bp_mode mode, double alpha,
                                            uint64_t key, workspace *ws, int32_t *out)
{
    const bp_unit *units = trie->units;
    double *score = ws->score, *mass = ws->mass;
    int32_t *back = ws->back;
    const size_t mask = ws->mask;
    const uint32_t root_base = units[0].base & BP_BASE_MASK;

    score[0] = 0.0;
    if (mode == BP_MODE_SAMPLE_PERFECT)
        mass[0] = 1.0; /* Z[0] = m + log(mass) = 0 */

    for (size_t s = 0; s < n; s++) {
        const size_t slot_s = s & mask;
        double from; /* BEST/VITERBI: path score at s; PERFECT: log Z[s] */
        if (mode == BP_MODE_SAMPLE_PERFECT) {
            from = score[slot_s] + log(mass[slot_s]);
            mass[slot_s] = 0.0;
        } else {
            from = score[slot_s];
        }
        score[slot_s] = -INFINITY; /* the slot now serves position s + ring size */

        int32_t node = 0;
        uint32_t base = root_base;
        size_t e = s;
        for (;;) {
            const uint32_t t = base + text[e];
            const bp_unit *u = &units[t];
            if (u->check != node)
                break;
            node = (int32_t)t;
            e++;
            if (u->base & BP_TERMINAL) {
                const size_t slot = e & mask;
                if (mode == BP_MODE_BEST) {
                    const double x = from + u->score;
                    if (x > score[slot]) { /* strict: the first (longest) of equals stays */
                        score[slot] = x;
                        back[e] = node;
                    }
                } else if (mode == BP_MODE_SAMPLE_PERFECT) {
                    /* Forward filtering with a weighted reservoir draw: after the
                     * candidates s' <= s, back[e] holds s' with probability
                     * exp(w(s') - logsumexp(w)). Z[e] is kept as (max m, mass). */
                    const double w = from + alpha * u->score;
                    double m = score[slot], total = mass[slot], p;
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
                    /* p == 1 for the first candidate: a sure choice needs no draw. */
                    if (p >= 1.0 || bp_uniform(key, offset + e, e - s) < p)
                        back[e] = node;
                } else { /* BP_MODE_SAMPLE_VITERBI */
                    const double x = from + u->score, y = score[slot];
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
            base = u->base & BP_BASE_MASK;
        }
    }
    /* Restore the between-chunks invariant (slots of s < n were reset above). */
    score[n & mask] = -INFINITY;
    if (mode == BP_MODE_SAMPLE_PERFECT)
        mass[n & mask] = 0.0;

    /* Backtrack from the end, then put the ids in text order. */
    const bp_piece_info *info = trie->info;
    size_t count = 0;
    for (size_t e = n; e > 0; e -= (size_t)info[back[e]].length)
        out[count++] = info[back[e]].id;
    for (size_t i = 0, j = count; i + 1 < j; i++, j--) {
        int32_t tmp = out[i];
        out[i] = out[j - 1];
        out[j - 1] = tmp;
    }
    return count;
}

int bp_encode(const bp_trie *trie, const uint8_t *text, size_t len,
              bp_mode mode, double alpha, uint64_t stream_key,
              int32_t *out_ids, size_t *num_ids)
{
    if (!trie || (!text && len) || !out_ids || !num_ids)
        return BP_ERR_INVALID;
    if (mode != BP_MODE_BEST && !(alpha >= 0.0 && isfinite(alpha)))
        return BP_ERR_INVALID;
    if (mode != BP_MODE_BEST && mode != BP_MODE_SAMPLE_PERFECT && mode != BP_MODE_SAMPLE_VITERBI)
        return BP_ERR_INVALID;
    *num_ids = 0;
    if (len == 0)
        return BP_OK;

    /* A piece spans at most min(longest piece, text) bytes: size the ring by
     * that, so a model with one huge piece does not slow down short texts. */
    size_t span = trie->max_piece_len < len ? trie->max_piece_len : len;
    size_t ring = 1;
    while (ring <= span)
        ring <<= 1;
    if (len + 1 > SIZE_MAX / sizeof(int32_t))
        return BP_ERR_NOMEM;
    workspace ws;
    ws.mask = ring - 1;
    ws.score = malloc(2 * ring * sizeof(double));
    ws.back = malloc((len + 1) * sizeof(int32_t));
    if (!ws.score || !ws.back) {
        free(ws.score);
        free(ws.back);
        return BP_ERR_NOMEM;
    }
    ws.mass = ws.score + ring;
    for (size_t i = 0; i < ring; i++) {
        ws.score[i] = -INFINITY;
        ws.mass[i] = 0.0;
    }

    size_t count = 0, start = 0;
    while (start < len) {
        /* A chunk: everything up to and including the next run of '\n'. */
        const uint8_t *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        while (end < len && text[end] == '\n')
            end++;
        const uint8_t *chunk = text + start;
        size_t n = end - start;
        int32_t *out = out_ids + count;
        switch (mode) {
        case BP_MODE_BEST:
            count += decode_chunk(trie, chunk, n, start, BP_MODE_BEST, alpha, stream_key, &ws, out);
            break;
        case BP_MODE_SAMPLE_PERFECT:
            count += decode_chunk(trie, chunk, n, start, BP_MODE_SAMPLE_PERFECT, alpha, stream_key, &ws, out);
            break;
        case BP_MODE_SAMPLE_VITERBI:
            count += decode_chunk(trie, chunk, n, start, BP_MODE_SAMPLE_VITERBI, alpha, stream_key, &ws, out);
            break;
        }
        start = end;
    }
    free(ws.score);
    free(ws.back);
    *num_ids = count;
    return BP_OK;
}

int bp_count_tokens(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                    size_t num_texts, const uint64_t *weights, uint64_t *totals, size_t num_totals)
{
    if (!trie || !offsets || !totals || (num_texts && (!data || !weights)))
        return BP_ERR_INVALID;
    for (size_t i = 0; i < trie->num_units; i++)
        if (trie->info[i].id >= 0 && (size_t)trie->info[i].id >= num_totals)
            return BP_ERR_INVALID;
    size_t longest = 0;
    for (size_t k = 0; k < num_texts; k++) {
        if (offsets[k] < 0 || offsets[k + 1] < offsets[k])
            return BP_ERR_INVALID;
        size_t n = (size_t)(offsets[k + 1] - offsets[k]);
        if (n > longest)
            longest = n;
    }
    int32_t *ids = malloc((longest ? longest : 1) * sizeof *ids);
    if (!ids)
        return BP_ERR_NOMEM;
    int rc = BP_OK;
    for (size_t k = 0; k < num_texts && rc == BP_OK; k++) {
        size_t count = 0;
        rc = bp_encode(trie, data + offsets[k], (size_t)(offsets[k + 1] - offsets[k]), BP_MODE_BEST, -1.0, 0,
                       ids, &count);
        for (size_t t = 0; t < count && rc == BP_OK; t++)
            totals[ids[t]] += weights[k];
    }
    free(ids);
    return rc;
}
