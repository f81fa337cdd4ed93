/* bp_bnlm.c: the trainer's n-gram Viterbi segmentation (see bp_bnlm.h). */
#include "bp_bnlm.h"

#include <math.h>
#include <stdlib.h>

void bp_bnlm_workspace_free(bp_bnlm_workspace *ws)
{
    if (!ws)
        return;
    free(ws->back);
    free(ws->emit);
    ws->back = NULL;
    ws->emit = NULL;
    ws->back_capacity = 0;
    ws->emit_capacity = 0;
}

int bp_bnlm_segment(const bp_ngrams *ngram_model, int ensure_unicode, const uint8_t *text,
                    size_t n, bp_bnlm_workspace *ws, size_t *starts, size_t *num_starts)
{
    if (!ngram_model || !text || n == 0 || !ws || !starts || !num_starts)
        return BP_ERR_INVALID;
    const int order = bp_ngrams_order(ngram_model);
    if (n > SIZE_MAX / (size_t)order)
        return BP_ERR_NOMEM;
    const size_t entries = n * (size_t)order;
    if (bp_reserve((void **)&ws->back, &ws->back_capacity, entries, sizeof *ws->back, 4096) != BP_OK ||
        bp_reserve((void **)&ws->emit, &ws->emit_capacity, entries, sizeof *ws->emit, 4096) != BP_OK)
        return BP_ERR_NOMEM;
    const int K = order;
    uint8_t *back = ws->back;
    double prev[BP_MAX_ORDER], cur[BP_MAX_ORDER];
    int rc = bp_ngrams_emissions(ngram_model, text, n, ws->emit); /* lp(text[i-j .. i]), prefetched */
    if (rc != BP_OK)
        return rc;

    for (size_t i = 0; i < n; i++) {
        double *emit = ws->emit + i * (size_t)K;
        if (ensure_unicode && bp_is_utf8_continuation(text[i]))
            emit[0] = -INFINITY; /* no piece starts inside a character */

        if (i == 0) {
            for (int c = 0; c < K; c++)
                cur[c] = c == 0 ? emit[0] : -INFINITY;
        } else {
            uint8_t *b = back + i * (size_t)K;
            /* numpy semantics: score(p, c) = prev[p] + emit[c] over the
             * allowed p, argmax = first maximum, 0 when all are -inf. */
            double best = -INFINITY;
            int arg = 0;
            for (int p = 0; p < K; p++) { /* state 0: from any state */
                double s = prev[p] + emit[0];
                if (s > best) {
                    best = s;
                    arg = p;
                }
            }
            cur[0] = best;
            b[0] = (uint8_t)arg;
            for (int c = 1; c < K; c++) { /* from c-1, and the last state from itself */
                double s = prev[c - 1] + emit[c];
                best = -INFINITY;
                arg = 0;
                if (s > best) {
                    best = s;
                    arg = c - 1;
                }
                if (c == K - 1) {
                    s = prev[c] + emit[c];
                    if (s > best) {
                        best = s;
                        arg = c;
                    }
                }
                cur[c] = best;
                b[c] = (uint8_t)arg;
            }
        }
        for (int c = 0; c < K; c++)
            prev[c] = cur[c];
    }

    int state = 0;
    double best = -INFINITY;
    for (int c = 0; c < K; c++) {
        if (prev[c] > best) {
            best = prev[c];
            state = c;
        }
    }
    /* Backtrack, collecting the positions in state 0 from the end. */
    size_t count = 0;
    for (size_t i = n; i-- > 0;) {
        if (state == 0)
            starts[count++] = i;
        if (i > 0)
            state = back[i * (size_t)K + (size_t)state];
    }
    for (size_t a = 0, z = count; a + 1 < z; a++, z--) {
        size_t t = starts[a];
        starts[a] = starts[z - 1];
        starts[z - 1] = t;
    }
    *num_starts = count;
    return BP_OK;
}

int bp_bnlm_count_pieces(const bp_ngrams *ngram_model, int ensure_unicode, const uint8_t *data,
                         const int64_t *offsets, const uint64_t *weights, size_t num_chunks,
                         bp_piece_counts *counts)
{
    if (!ngram_model || !offsets || !counts || (num_chunks && !data))
        return BP_ERR_INVALID;
    bp_bnlm_workspace ws = {0};
    size_t *starts = NULL, starts_capacity = 0;
    int rc = BP_OK;
    for (size_t k = 0; k < num_chunks && rc == BP_OK; k++) {
        int64_t a = offsets[k], b = offsets[k + 1];
        if (a < 0 || b < a) {
            rc = BP_ERR_INVALID;
            break;
        }
        size_t n = (size_t)(b - a);
        const uint64_t weight = weights ? weights[k] : 1;
        if (weight == 0) {
            rc = BP_ERR_INVALID;
            break;
        }
        if (n == 0)
            continue;
        if (n > starts_capacity) {
            size_t *grown = realloc(starts, n * sizeof *starts);
            if (!grown) {
                rc = BP_ERR_NOMEM;
                break;
            }
            starts = grown;
            starts_capacity = n;
        }
        size_t num = 0;
        const uint8_t *text = data + a;
        rc = bp_bnlm_segment(ngram_model, ensure_unicode, text, n, &ws, starts, &num);
        /* Pieces run from one start to the next; 0.6.3 drops bytes before the
         * first start, which the recurrence makes position 0 anyway. */
        for (size_t s = 0; s < num && rc == BP_OK; s++) {
            size_t end = s + 1 < num ? starts[s + 1] : n;
            rc = bp_piece_counts_add(counts, text + starts[s], end - starts[s], weight);
        }
    }
    free(starts);
    bp_bnlm_workspace_free(&ws);
    return rc;
}
