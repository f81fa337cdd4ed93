/* bp_retokenize.c: the trainer's re-tokenizing (see bp_retokenize.h). */
#include "bp_retokenize.h"
#include "bp_best.h"
#include "bp_chunk.h"

#include <math.h>
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

/*
 * The Viterbi of BP_MODE_BEST (bp_segmenter.c's segment_chunk: the same
 * walks in the same order, the same rule of bp_best.h, so the same
 * segmentation) on one chunk text[0 .. n), reduced to what pruning needs:
 * weight is added to totals[id] of each token while backtracking, in
 * reverse order (a sum does not mind), with no ids written. The texts are
 * pieces (a few bytes), so score[] and back[] span the chunk (n + 1
 * entries) instead of a ring. As in segment_chunk, back[e] is written by
 * the first candidate to reach e, whatever the scores; a node that ends no
 * piece (kept only when no score beats -inf) counts as the single byte.
 */
static void count_chunk(const bp_trie *trie, const uint8_t *text, size_t n, uint64_t weight, double *score,
                        int32_t *back, uint64_t *totals)
{
    const bp_piece_info *info = trie->info;
    const bp_trie_cursor root = bp_trie_root(trie);
    score[0] = 0.0;
    for (size_t e = 1; e <= n; e++)
        score[e] = bp_best_empty();
    for (size_t s = 0; s < n; s++) {
        const double from = score[s];
        bp_trie_cursor cursor = root;
        for (size_t e = s; e < n;) {
            if (!bp_trie_step(trie, &cursor, text[e]))
                break;
            e++;
            /* Branch-free, as in segment_chunk: which candidate wins is a
             * guess the CPU would often get wrong. */
            const int32_t node = cursor.node;
            const double x = from + info[node].score, y = score[e];
            const int32_t take = -(int32_t)bp_best_takes(x, y), kept = back[e];
            score[e] = bp_best_kept(x, y);
            back[e] = (node & take) | (kept & ~take);
        }
    }
    for (size_t e = n; e > 0;) {
        int32_t node = back[e];
        if (!bp_trie_is_piece(trie, node))
            node = bp_trie_child(trie, 0, text[e - 1]);
        totals[info[node].id] += weight;
        e -= (size_t)info[node].length;
    }
}

/* The per-position arrays of a dynamic programme over chunks of up to
 * `longest` bytes: *score gets longest + 1 doubles, and the result is
 * longest + 1 entries of `entry_size` bytes; both the caller's to free.
 * NULL, and *score NULL, when they cannot be had (also when the sizes
 * would overflow): the caller returns BP_ERR_NOMEM. */
static void *position_arrays(size_t longest, size_t entry_size, double **score)
{
    *score = NULL;
    if (longest >= SIZE_MAX / sizeof(double) || longest >= SIZE_MAX / entry_size)
        return NULL;
    *score = malloc((longest + 1) * sizeof **score);
    void *per_position = malloc((longest + 1) * entry_size);
    if (!*score || !per_position) {
        free(*score);
        free(per_position);
        *score = NULL;
        return NULL;
    }
    return per_position;
}

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
    double *score;
    int32_t *back = position_arrays(longest, sizeof *back, &score);
    if (!back)
        return BP_ERR_NOMEM;
    for (size_t k = 0; k < num_texts; k++) {
        const uint8_t *text = data + offsets[k];
        const size_t len = (size_t)(offsets[k + 1] - offsets[k]);
        for (size_t start = 0; start < len;) {
            const size_t end = bp_chunk_end(text, len, start);
            count_chunk(trie, text + start, end - start, weights[k], score, back, totals);
            start = end;
        }
    }
    free(score);
    free(back);
    return BP_OK;
}

int bp_alternative_lengths(const bp_trie *trie, const uint8_t *data, const int64_t *offsets,
                           size_t num_texts, int32_t *out)
{
    if (!trie || !offsets || (num_texts && (!data || !out)))
        return BP_ERR_INVALID;
    size_t longest = longest_text(offsets, num_texts);
    if (longest == SIZE_MAX)
        return BP_ERR_INVALID;
    double *score;
    int32_t *tokens = position_arrays(longest, sizeof *tokens, &score);
    if (!tokens)
        return BP_ERR_NOMEM;
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

/* The lattice: every piece of the base trie found in every chunk, in the
 * order of segment_chunk's walks (by start, then by end), as the base id
 * and the length of the piece. A start's first piece is its single byte
 * (every trie holds the 256), so a length of 1 marks the next start and no
 * position needs storing. */
struct bp_lattice {
    uint16_t *pieces;    /* per edge: the base id of its piece */
    uint8_t *lengths;    /* per edge: the length of its piece (1 .. 255) */
    size_t num_edges, edge_capacity;
    size_t *chunk_end;   /* per chunk: the end (exclusive) of its edges */
    size_t *chunk_text;  /* per chunk: the text it belongs to */
    size_t num_chunks, chunk_capacity;
    size_t num_texts;
    size_t longest;      /* the most bytes of a chunk */
    size_t num_base;     /* the largest base id + 1 */
};

void bp_lattice_free(bp_lattice *lattice)
{
    if (!lattice)
        return;
    free(lattice->pieces);
    free(lattice->lengths);
    free(lattice->chunk_end);
    free(lattice->chunk_text);
    free(lattice);
}

size_t bp_lattice_memory(const bp_lattice *lattice)
{
    return lattice ? lattice->edge_capacity * 3 + lattice->chunk_capacity * 2 * sizeof(size_t) + sizeof *lattice : 0;
}

size_t bp_lattice_num_edges(const bp_lattice *lattice) { return lattice ? lattice->num_edges : 0; }

/* Room for `more` edges past the lattice's; BP_OK or BP_ERR_NOMEM. */
static int reserve_edges(bp_lattice *lattice, size_t more)
{
    if (more > SIZE_MAX - lattice->num_edges)
        return BP_ERR_NOMEM;
    const size_t need = lattice->num_edges + more;
    if (need <= lattice->edge_capacity)
        return BP_OK;
    size_t capacity = lattice->edge_capacity;
    int rc = bp_reserve((void **)&lattice->pieces, &capacity, need, sizeof *lattice->pieces, 1 << 16);
    if (rc == BP_OK) {
        /* lengths[] follows pieces[]: grown to the same capacity. */
        size_t lengths_capacity = lattice->edge_capacity;
        rc = bp_reserve((void **)&lattice->lengths, &lengths_capacity, capacity, 1, capacity);
        if (rc == BP_OK)
            lattice->edge_capacity = capacity;
    }
    return rc;
}

int bp_lattice_build(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts,
                     bp_lattice **out)
{
    if (!out)
        return BP_ERR_INVALID;
    *out = NULL;
    if (!trie || !offsets || (num_texts && !data))
        return BP_ERR_INVALID;
    const size_t longest = longest_text(offsets, num_texts);
    if (longest == SIZE_MAX)
        return BP_ERR_INVALID;
    if (trie->max_piece_len > UINT8_MAX)
        return BP_ERR_TOO_LARGE;
    size_t num_base = 0;
    for (size_t i = 0; i < trie->num_units; i++) {
        const int32_t id = trie->info[i].id;
        if (trie->info[i].length > 0) {
            if (id < 0 || id > UINT16_MAX)
                return BP_ERR_TOO_LARGE;
            if ((size_t)id + 1 > num_base)
                num_base = (size_t)id + 1;
        }
    }
    bp_lattice *lattice = calloc(1, sizeof *lattice);
    if (!lattice)
        return BP_ERR_NOMEM;
    lattice->num_texts = num_texts;
    lattice->num_base = num_base;
    const bp_trie_cursor root = bp_trie_root(trie);
    int rc = BP_OK;
    for (size_t k = 0; k < num_texts && rc == BP_OK; k++) {
        const uint8_t *text = data + offsets[k];
        const size_t len = (size_t)(offsets[k + 1] - offsets[k]);
        for (size_t start = 0; start < len && rc == BP_OK;) {
            const size_t end = bp_chunk_end(text, len, start);
            if (end - start > lattice->longest)
                lattice->longest = end - start;
            for (size_t s = start; s < end && rc == BP_OK; s++) {
                /* A walk finds at most max_piece_len pieces. */
                rc = reserve_edges(lattice, trie->max_piece_len);
                bp_trie_cursor cursor = root;
                for (size_t e = s; e < end && rc == BP_OK;) {
                    if (!bp_trie_step(trie, &cursor, text[e]))
                        break;
                    e++;
                    if (bp_trie_is_piece(trie, cursor.node)) {
                        lattice->pieces[lattice->num_edges] = (uint16_t)trie->info[cursor.node].id;
                        lattice->lengths[lattice->num_edges++] = (uint8_t)(e - s);
                    }
                }
            }
            if (rc == BP_OK && lattice->num_chunks == lattice->chunk_capacity) {
                size_t capacity = lattice->chunk_capacity, text_capacity = lattice->chunk_capacity;
                rc = bp_reserve((void **)&lattice->chunk_end, &capacity, lattice->num_chunks + 1,
                                sizeof *lattice->chunk_end, 1024);
                if (rc == BP_OK)
                    rc = bp_reserve((void **)&lattice->chunk_text, &text_capacity, capacity,
                                    sizeof *lattice->chunk_text, capacity);
                if (rc == BP_OK)
                    lattice->chunk_capacity = capacity;
            }
            if (rc == BP_OK) {
                lattice->chunk_end[lattice->num_chunks] = lattice->num_edges;
                lattice->chunk_text[lattice->num_chunks++] = k;
            }
            start = end;
        }
    }
    if (rc != BP_OK) {
        bp_lattice_free(lattice);
        return rc;
    }
    *out = lattice;
    return BP_OK;
}

int bp_lattice_count(const bp_lattice *lattice, const double *scores, const int32_t *ids, size_t num_base,
                     const uint64_t *weights, uint64_t *totals, size_t num_totals)
{
    if (!lattice || !scores || !ids || !totals || (lattice->num_texts && !weights) || num_base < lattice->num_base)
        return BP_ERR_INVALID;
    for (size_t b = 0; b < lattice->num_base; b++)
        if (ids[b] >= 0 && ((size_t)ids[b] >= num_totals || !(fabs(scores[b]) <= BP_MAX_ABS_SCORE)))
            return BP_ERR_INVALID;
    double *score;
    size_t *back = position_arrays(lattice->longest, sizeof *back, &score);
    if (!back)
        return BP_ERR_NOMEM;
    double *w = malloc(lattice->num_base * sizeof *w);
    if (!w) {
        free(score);
        free(back);
        return BP_ERR_NOMEM;
    }
    /* A piece the vocabulary lacks scores -inf: it never beats a piece of
     * it, and the single byte, last to reach each position, is one. */
    for (size_t b = 0; b < lattice->num_base; b++)
        w[b] = ids[b] >= 0 ? scores[b] : -INFINITY;
    const uint16_t *pieces = lattice->pieces;
    const uint8_t *lengths = lattice->lengths;
    int rc = BP_OK;
    size_t i = 0;
    for (size_t c = 0; c < lattice->num_chunks && rc == BP_OK; c++) {
        const size_t end = lattice->chunk_end[c];
        size_t n = 0;
        for (size_t j = i; j < end; j++)
            n += lengths[j] == 1;
        score[0] = 0.0;
        for (size_t e = 1; e <= n; e++)
            score[e] = bp_best_empty();
        /* s: the start of edge i, moved on by each single byte. */
        size_t s = (size_t)-1;
        for (; i < end; i++) {
            const size_t length = lengths[i];
            s += length == 1;
            const size_t e = s + length;
            const double x = score[s] + w[pieces[i]], y = score[e];
            const size_t take = -(size_t)bp_best_takes(x, y), kept = back[e];
            score[e] = bp_best_kept(x, y);
            back[e] = (i & take) | (kept & ~take);
        }
        const uint64_t weight = weights[lattice->chunk_text[c]];
        for (size_t e = n; e > 0;) {
            const size_t edge = back[e];
            const int32_t id = ids[pieces[edge]];
            if (id < 0) { /* never with the scores checked above */
                rc = BP_ERR_INVALID;
                break;
            }
            totals[id] += weight;
            e -= lengths[edge];
        }
    }
    free(w);
    free(score);
    free(back);
    return rc;
}

int bp_lookup_ids(const bp_trie *trie, const uint8_t *data, const int64_t *offsets, size_t num_texts, int32_t *out)
{
    if (!trie || !offsets || (num_texts && (!data || !out)))
        return BP_ERR_INVALID;
    if (longest_text(offsets, num_texts) == SIZE_MAX)
        return BP_ERR_INVALID;
    const bp_trie_cursor root = bp_trie_root(trie);
    for (size_t k = 0; k < num_texts; k++) {
        const uint8_t *text = data + offsets[k];
        const size_t n = (size_t)(offsets[k + 1] - offsets[k]);
        bp_trie_cursor cursor = root;
        size_t e = 0;
        while (e < n && bp_trie_step(trie, &cursor, text[e]))
            e++;
        out[k] = n > 0 && e == n && bp_trie_is_piece(trie, cursor.node) ? trie->info[cursor.node].id : -1;
    }
    return BP_OK;
}
