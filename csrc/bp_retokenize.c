/* bp_retokenize.c: the trainer's re-tokenizing (see bp_retokenize.h). */
#include "bp_retokenize.h"
#include "bp_best.h"
#include "bp_segmenter.h"

#include <stdlib.h>

/* The longest text of a batch, or SIZE_MAX when the offsets are broken. */
static size_t longest_text(const int64_t *offsets, size_t num_texts)
{
    size_t longest = 0;
    for (size_t k = 0; k < num_texts; k++) {
        if (offsets[k] < 0 || offsets[k + 1] < offsets[k])
            return SIZE_MAX;
        size_t n = (size_t)(offsets[k + 1] - offsets[k]);
        if (n > longest)
            longest = n;
    }
    return longest;
}

/* bp_count_tokens hands bp_encode_batch runs of at most RUN_TEXTS texts and
 * RUN_BYTES bytes (a longer text goes alone): its buffers stay small
 * whatever the batch, and a run amortizes the call's workspace. */
#define RUN_TEXTS 4096
#define RUN_BYTES 65536

int bp_count_tokens(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                    size_t num_texts, const uint64_t *weights, uint64_t *totals, size_t num_totals)
{
    if (!trie || !offsets || !totals || (num_texts && (!data || !weights)))
        return BP_ERR_INVALID;
    for (size_t i = 0; i < trie->num_units; i++)
        if (trie->info[i].id >= 0 && (size_t)trie->info[i].id >= num_totals)
            return BP_ERR_INVALID;
    const size_t longest = longest_text(offsets, num_texts);
    if (longest == SIZE_MAX)
        return BP_ERR_INVALID;
    if (num_texts == 0)
        return BP_OK;
    /* A run's bytes: at most all of them, and at most RUN_BYTES or the one
     * text longer than that. bp_encode_batch asks for 2 more ids per text. */
    const size_t total = (size_t)(offsets[num_texts] - offsets[0]);
    const size_t run_texts = num_texts < RUN_TEXTS ? num_texts : RUN_TEXTS;
    const size_t run_bytes = longest > RUN_BYTES ? longest : RUN_BYTES;
    const size_t room = (total < run_bytes ? total : run_bytes) + 2 * run_texts;
    if (room > SIZE_MAX / sizeof(int32_t))
        return BP_ERR_NOMEM;
    const uint8_t **texts = malloc(run_texts * sizeof *texts);
    size_t *lengths = malloc(run_texts * sizeof *lengths);
    int64_t *run_offsets = malloc((run_texts + 1) * sizeof *run_offsets);
    int32_t *ids = malloc(room * sizeof *ids);
    int rc = texts && lengths && run_offsets && ids ? BP_OK : BP_ERR_NOMEM;
    for (size_t k = 0; k < num_texts && rc == BP_OK;) {
        size_t m = 0, bytes = 0;
        do {
            texts[m] = data + offsets[k + m];
            lengths[m] = (size_t)(offsets[k + m + 1] - offsets[k + m]);
            bytes += lengths[m++];
        } while (k + m < num_texts && m < RUN_TEXTS &&
                 bytes + (size_t)(offsets[k + m + 1] - offsets[k + m]) <= RUN_BYTES);
        rc = bp_encode_batch(trie, texts, lengths, m, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, ids, run_offsets);
        for (size_t t = 0; t < m && rc == BP_OK; t++)
            for (int64_t i = run_offsets[t]; i < run_offsets[t + 1]; i++)
                totals[ids[i]] += weights[k + t];
        k += m;
    }
    free(texts);
    free(lengths);
    free(run_offsets);
    free(ids);
    return rc;
}

int bp_alternative_lengths(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                           size_t num_texts, int32_t *out)
{
    if (!trie || !offsets || (num_texts && (!data || !out)))
        return BP_ERR_INVALID;
    size_t longest = longest_text(offsets, num_texts);
    if (longest == SIZE_MAX)
        return BP_ERR_INVALID;
    double *score = malloc((longest + 1) * sizeof *score);
    int32_t *tokens = malloc((longest + 1) * sizeof *tokens);
    if (!score || !tokens) {
        free(score);
        free(tokens);
        return BP_ERR_NOMEM;
    }
    const bp_trie_cursor root = bp_trie_root(trie);
    for (size_t k = 0; k < num_texts; k++) {
        const uint8_t *text = data + offsets[k];
        const size_t n = (size_t)(offsets[k + 1] - offsets[k]);
        /* tokens[e] == 0: no path reaches e yet (every path to e > 0 has a
         * token). The scores start empty (bp_best.h): the first piece to
         * reach e is kept whatever its score, so a reached e always has a
         * token count, even where sums overflow. */
        score[0] = 0.0;
        tokens[0] = 0;
        for (size_t e = 1; e <= n; e++) {
            score[e] = bp_best_empty();
            tokens[e] = 0;
        }
        for (size_t s = 0; s < n; s++) {
            if (s > 0 && tokens[s] == 0)
                continue; /* unreachable (a byte the trie lacks) */
            bp_trie_cursor cursor = root;
            for (size_t e = s; e < n;) {
                const bp_unit *u = bp_trie_step(trie, &cursor, text[e]);
                if (!u)
                    break;
                e++;
                if (bp_trie_is_piece(trie, cursor.node) && !(s == 0 && e == n)) {
                    const double x = score[s] + trie->info[cursor.node].score;
                    if (bp_best_takes(x, score[e])) {
                        score[e] = x;
                        tokens[e] = tokens[s] + 1;
                    }
                }
            }
        }
        out[k] = tokens[n]; /* 0 when n is unreached: n < 2, or a byte the trie lacks */
    }
    free(score);
    free(tokens);
    return BP_OK;
}
