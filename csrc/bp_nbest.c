/* bp_nbest.c: exact k-best segmentation (see bp_nbest.h). */
#include "bp_nbest.h"
#include "bp_chunk.h"

#include <stdlib.h>
#include <string.h>

/* One entry of a position's k-best list: a path ending here. */
typedef struct {
    double score;
    int32_t node;      /* trie node of the path's last piece */
    int32_t from_rank; /* rank of the path it extends, at the piece's start */
} nbest_entry;

/* Inserts x into a list sorted by score, descending, of at most k entries,
 * after the entries of equal score (the earlier candidate stays ahead, as in
 * the Viterbi). Returns 0 when the list is full and x does not enter. */
static int nbest_insert(nbest_entry *list, size_t *count, size_t k, nbest_entry x)
{
    size_t n = *count;
    if (n == k && !(x.score > list[k - 1].score))
        return 0;
    size_t at = n;
    while (at > 0 && list[at - 1].score < x.score)
        at--;
    size_t last = n < k ? n : k - 1; /* a full list drops its last entry */
    memmove(&list[at + 1], &list[at], (last - at) * sizeof *list);
    list[at] = x;
    if (n < k)
        *count = n + 1;
    return 1;
}

int bp_nbest(const bp_trie *trie, const uint8_t *text, size_t len, size_t k,
             int32_t *out_ids, int64_t *out_offsets, double *out_scores, size_t *num_found)
{
    if (!trie || (!text && len) || k == 0 || !out_ids || !out_offsets || !out_scores || !num_found)
        return BP_ERR_INVALID;
    if (len + 1 > SIZE_MAX / k / sizeof(nbest_entry))
        return BP_ERR_NOMEM;
    nbest_entry *lists = malloc((len + 1) * k * sizeof *lists);
    size_t *counts = calloc(len + 1, sizeof *counts);
    if (!lists || !counts) {
        free(lists);
        free(counts);
        return BP_ERR_NOMEM;
    }
    lists[0] = (nbest_entry){0.0, -1, -1};
    counts[0] = 1;
    size_t chunk_end = 0;
    for (size_t s = 0; s < len; s++) {
        if (s == chunk_end) /* pieces stay inside the chunk that starts here */
            chunk_end = bp_chunk_end(text, len, s);
        const nbest_entry *from = lists + s * k;
        const size_t from_count = counts[s];
        bp_trie_cursor cursor = bp_trie_root(trie);
        for (size_t e = s; e < chunk_end;) {
            const bp_unit *u = bp_trie_step(trie, &cursor, text[e]);
            if (!u)
                break;
            e++;
            if (bp_trie_is_piece(trie, cursor.node)) {
                nbest_entry *to = lists + e * k;
                for (size_t r = 0; r < from_count; r++) {
                    nbest_entry x = {from[r].score + trie->info[cursor.node].score, cursor.node, (int32_t)r};
                    if (!nbest_insert(to, &counts[e], k, x))
                        break; /* from[] is sorted: later ranks score no better */
                }
            }
        }
    }
    /* Backtrack each path from the end, writing its ids in text order. */
    const bp_piece_info *info = trie->info;
    size_t found = counts[len] < k ? counts[len] : k;
    if (len == 0)
        found = 1; /* the empty segmentation */
    int64_t at = 0;
    out_offsets[0] = 0;
    for (size_t r = 0; r < found; r++) {
        size_t e = len, rank = r, n = 0;
        out_scores[r] = len ? lists[len * k + r].score : 0.0;
        while (e > 0) {
            const nbest_entry *x = &lists[e * k + rank];
            out_ids[at + (int64_t)n++] = info[x->node].id;
            rank = (size_t)x->from_rank;
            e -= (size_t)info[x->node].length;
        }
        for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
            int32_t tmp = out_ids[at + (int64_t)i];
            out_ids[at + (int64_t)i] = out_ids[at + (int64_t)j - 1];
            out_ids[at + (int64_t)j - 1] = tmp;
        }
        at += (int64_t)n;
        out_offsets[r + 1] = at;
    }
    *num_found = found;
    free(lists);
    free(counts);
    return BP_OK;
}
