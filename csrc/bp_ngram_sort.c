/* bp_ngram_sort.c: buffered counting of n-grams by sorting (bp_ngrams_buffer
 * and bp_ngrams_settle in bp_ngram.h).
 *
 * Every position of a partition becomes one 64-bit word, its window: the
 * bytes that start there, the first in the highest byte (big-endian), so
 * that sorting the words sorts the windows bytewise and the positions whose
 * text shares its first j bytes lie together, for every j at once. A window
 * of `order` bytes (`full`) keeps them, the rest zero. A window cut short by
 * the end of its chunk (`tail`, avail < order <= 8 bytes, so its lowest byte
 * is free) keeps its avail bytes, zeros, and avail in the lowest byte.
 *
 * After an LSD radix sort of each array, one merged pass reads them in
 * order of their first 7 bytes (ties: tails first). An n-gram of length j
 * is then a run of consecutive windows sharing their first j bytes, and its
 * count the number of windows in the run with at least j bytes (a tail of
 * fewer lies inside the run and adds nothing). Where two neighbours share
 * l bytes, the runs of every length above l end: each distinct n-gram is
 * seen once, with its exact count, in O(order) per position.
 */
#include "bp_ngram.h"
#include "bp_ngram_table.h"

#include <stdlib.h>
#include <string.h>

/* Smallest buffer allocation (positions). */
#define BUFFER_INITIAL 4096

/* N-grams whose insertion is in flight (hashed and prefetched, not yet added). */
#define ADD_PIPELINE 16

static inline uint64_t byte_swap64(uint64_t x)
{
#if defined(__GNUC__)
    return __builtin_bswap64(x);
#else
    uint64_t r = 0;
    for (int t = 0; t < 8; t++)
        r = (r << 8) | ((x >> (8 * t)) & 0xFF);
    return r;
#endif
}

/* The number of equal leading (highest) bytes of a and b, 0..8. */
static inline int common_bytes(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ b;
    if (x == 0)
        return 8;
#if defined(__GNUC__)
    return __builtin_clzll(x) / 8;
#else
    int n = 0;
    while (!(x >> 56)) {
        x <<= 8;
        n++;
    }
    return n;
#endif
}

/* The window of text[0 .. avail) (avail 1..8), big-endian, zero-padded;
 * `room` bytes are readable from text (room >= avail). */
static inline uint64_t load_window(const uint8_t *text, size_t room, int avail)
{
    uint64_t w = 0;
    if (room >= 8) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&w, text, 8);
        w = byte_swap64(w);
#else
        for (int t = 0; t < 8; t++)
            w = (w << 8) | text[t];
#endif
    } else {
        for (int t = 0; t < avail; t++)
            w |= (uint64_t)text[t] << (56 - 8 * t);
    }
    return avail == 8 ? w : w & ~((1ULL << (8 * (8 - avail))) - 1);
}

/* Makes room for `more` positions in one array of a buffer. */
static int reserve_positions(uint64_t **array, size_t *capacity, size_t need)
{
    return bp_reserve((void **)array, capacity, need, sizeof **array, BUFFER_INITIAL);
}

static void note_peak(bp_ngrams *g, int p)
{
    const bp_ngram_buffer *buf = &g->buffers[p];
    size_t bytes = (buf->full_capacity + buf->tail_capacity) * sizeof(uint64_t);
    if (bytes > g->buffer_peak[p])
        g->buffer_peak[p] = bytes;
}

/* Sorts keys[0 .. n) ascending, by 8-bit digits from the lowest, skipping the
 * digits that every key shares. *keys (room for `capacity` keys) may come
 * back as another block of that room (the old one freed): the sort copies
 * between two blocks. Errors: BP_ERR_NOMEM (*keys unchanged). */
static int radix_sort(uint64_t **keys, size_t n, size_t capacity)
{
    if (n < 2)
        return BP_OK;
    size_t (*counts)[256] = calloc(8, sizeof *counts);
    if (!counts)
        return BP_ERR_NOMEM;
    const uint64_t *a = *keys;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = a[i];
        for (int d = 0; d < 8; d++)
            counts[d][(k >> (8 * d)) & 0xFF]++;
    }
    uint64_t *src = *keys, *dst = NULL;
    for (int d = 0; d < 8; d++) {
        size_t *c = counts[d];
        if (c[(src[0] >> (8 * d)) & 0xFF] == n) /* every key has this digit */
            continue;
        if (!dst && !(dst = malloc(capacity * sizeof *dst))) {
            free(counts);
            return BP_ERR_NOMEM;
        }
        size_t sum = 0;
        for (int v = 0; v < 256; v++) {
            size_t here = c[v];
            c[v] = sum;
            sum += here;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t k = src[i];
            dst[c[(k >> (8 * d)) & 0xFF]++] = k;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    free(counts);
    free(dst); /* the block the keys are not in (or NULL) */
    *keys = src;
    return BP_OK;
}

/* What a scan does with each distinct n-gram. */
enum { SCAN_MEASURE, SCAN_ADD_KEPT, SCAN_ADD_ALL };

typedef struct {
    uint64_t key, hash, count;
    int length;
} pending_add;

typedef struct {
    bp_ngrams *g;
    int partition;
    int mode;
    uint64_t min_count;
    size_t kept[BP_MAX_ORDER + 1];
    size_t distinct[BP_MAX_ORDER + 1];
    pending_add ring[ADD_PIPELINE];
    size_t head, in_flight;
    int rc;
} scan_state;

static inline void add_now(scan_state *s, const pending_add *a)
{
    if (s->rc == BP_OK)
        s->rc = bp_ngram_table_add(&s->g->tables[a->length][s->partition], a->key, a->hash, a->count, a->length);
}

/* The n-gram of the first `length` bytes of `window` was counted `count` times. */
static inline void emit(scan_state *s, uint64_t window, int length, uint64_t count)
{
    s->distinct[length]++;
    if (s->mode != SCAN_ADD_ALL && length > 1 && count < s->min_count)
        return;
    s->kept[length]++;
    if (s->mode == SCAN_MEASURE)
        return;
    uint64_t le = byte_swap64(window); /* the first byte lowest: bp_ngram_pack's key */
    uint64_t key = length == 8 ? le : le & ((1ULL << (8 * length)) - 1);
    pending_add *slot = &s->ring[s->head % ADD_PIPELINE];
    if (s->in_flight == ADD_PIPELINE) { /* the slot holds the oldest: add it */
        add_now(s, slot);
        s->in_flight--;
    }
    slot->key = key;
    slot->hash = bp_ngram_hash(key, length);
    slot->count = count;
    slot->length = length;
    bp_ngram_prefetch(&s->g->tables[length][s->partition], slot->hash);
    s->head++;
    s->in_flight++;
}

/* One merged pass over the sorted windows (see the top of this file). */
static int scan(scan_state *s, const uint64_t *full, size_t num_full, const uint64_t *tail, size_t num_tail)
{
    const int order = s->g->order;
    uint64_t run[BP_MAX_ORDER + 1] = {0};
    uint64_t prev = 0;
    size_t i = 0, t = 0;
    s->head = s->in_flight = 0;
    s->rc = BP_OK;
    while ((i < num_full || t < num_tail) && s->rc == BP_OK) {
        uint64_t window;
        int avail;
        if (t < num_tail && (i == num_full || (tail[t] >> 8) <= (full[i] >> 8))) {
            window = tail[t] & ~(uint64_t)0xFF;
            avail = (int)(tail[t] & 0xFF);
            t++;
        } else {
            window = full[i];
            avail = order;
            i++;
        }
        if (i + t > 1) {
            int same = common_bytes(prev, window);
            for (int j = order; j > same; j--) {
                if (run[j]) {
                    emit(s, prev, j, run[j]);
                    run[j] = 0;
                }
            }
        }
        for (int j = 1; j <= avail; j++)
            run[j]++;
        prev = window;
    }
    for (int j = order; j >= 1; j--)
        if (run[j])
            emit(s, prev, j, run[j]);
    for (; s->in_flight > 0; s->in_flight--) /* drain, oldest first */
        add_now(s, &s->ring[(s->head - s->in_flight) % ADD_PIPELINE]);
    return s->rc;
}

/* Sorts the buffer of partition p and adds its counts to the tables: every
 * n-gram (`final` 0), or, when the tables hold nothing yet and this is all
 * of the partition's text (`final` 1), those that finishing with min_count
 * keeps, in tables sized for them. Empties the buffer (its memory kept
 * unless `final`). */
static int count_buffer(bp_ngrams *g, int p, int final, uint64_t min_count)
{
    bp_ngram_buffer *buf = &g->buffers[p];
    int rc = radix_sort(&buf->full, buf->full_size, buf->full_capacity);
    if (rc == BP_OK)
        rc = radix_sort(&buf->tail, buf->tail_size, buf->tail_capacity);
    if (rc != BP_OK)
        return rc;
    scan_state s;
    memset(&s, 0, sizeof s);
    s.g = g;
    s.partition = p;
    s.min_count = min_count;
    if (final) {
        s.mode = SCAN_MEASURE;
        scan(&s, buf->full, buf->full_size, buf->tail, buf->tail_size);
        /* The tables of exactly what finishing keeps: as large as pruning
         * makes them (bp_ngram_table_prune then has nothing to do). */
        for (int j = 1; j <= g->order; j++) {
            bp_ngram_table fresh;
            if (bp_ngram_table_init(&fresh, bp_ngram_pruned_capacity(s.kept[j])) != BP_OK)
                return BP_ERR_NOMEM;
            free(g->tables[j][p].slots);
            g->tables[j][p] = fresh;
            g->dropped[j][p] += s.distinct[j] - s.kept[j];
        }
        memset(s.kept, 0, sizeof s.kept);
        memset(s.distinct, 0, sizeof s.distinct);
        s.mode = SCAN_ADD_KEPT;
    } else {
        s.mode = SCAN_ADD_ALL;
    }
    rc = scan(&s, buf->full, buf->full_size, buf->tail, buf->tail_size);
    buf->full_size = buf->tail_size = 0;
    return rc;
}

int bp_ngrams_buffer_count(bp_ngrams *g, int p, const uint8_t *data, const int64_t *offsets, size_t num_chunks)
{
    bp_ngram_buffer *buf = &g->buffers[p];
    const int order = g->order;
    const int64_t data_end = num_chunks ? offsets[num_chunks] : 0;
    const uint8_t *part_of_byte = g->part_of_byte;
    for (size_t k = 0; k < num_chunks; k++) {
        int64_t a = offsets[k], b = offsets[k + 1];
        size_t length = (size_t)(b - a);
        if (length == 0)
            continue;
        size_t held = buf->full_size + buf->tail_size;
        if (held && held + length > g->buffer_limit) { /* full: count it into the tables */
            int rc = count_buffer(g, p, 0, 1);
            if (rc != BP_OK)
                return rc;
            g->part_flushed[p] = 1;
        }
        /* Room for every position of the chunk (only this partition's are taken). */
        size_t num_tail = length < (size_t)order ? length : (size_t)order - 1;
        if (reserve_positions(&buf->full, &buf->full_capacity, buf->full_size + length) != BP_OK ||
            reserve_positions(&buf->tail, &buf->tail_capacity, buf->tail_size + num_tail) != BP_OK)
            return BP_ERR_NOMEM;
        note_peak(g, p);
        uint64_t *full = buf->full + buf->full_size, *tail = buf->tail + buf->tail_size;
        int64_t full_end = b - order + 1; /* positions before it have `order` bytes */
        int64_t i = a;
        for (; i < full_end; i++)
            if (part_of_byte[data[i]] == p)
                *full++ = load_window(data + i, (size_t)(data_end - i), order);
        for (; i < b; i++)
            if (part_of_byte[data[i]] == p) {
                int avail = (int)(b - i);
                *tail++ = load_window(data + i, (size_t)(data_end - i), avail) | (uint64_t)avail;
            }
        buf->full_size = (size_t)(full - buf->full);
        buf->tail_size = (size_t)(tail - buf->tail);
        if (p == 0)
            g->positions += length;
    }
    return BP_OK;
}

void bp_ngrams_free_buffers(bp_ngrams *g)
{
    for (int p = 0; p < BP_MAX_PARTITIONS; p++) {
        free(g->buffers[p].full);
        free(g->buffers[p].tail);
        memset(&g->buffers[p], 0, sizeof g->buffers[p]);
    }
}

int bp_ngrams_buffer(bp_ngrams *g, size_t max_positions)
{
    if (!g || g->started || g->borrowed || g->finished || g->buffer_limit || max_positions == 0)
        return BP_ERR_INVALID;
    g->buffer_limit = max_positions;
    return BP_OK;
}

int bp_ngrams_settle(bp_ngrams *g, int partition, uint64_t min_count)
{
    if (!g || !g->buffer_limit || partition < 0 || partition >= g->num_partitions || min_count < 1 ||
        g->part_settled[partition] || g->part_finished[partition])
        return BP_ERR_INVALID;
    int final = !g->part_flushed[partition];
    for (int j = 1; j <= g->order && final; j++)
        final = g->tables[j][partition].size == 0;
    int rc = count_buffer(g, partition, final, min_count);
    bp_ngram_buffer *buf = &g->buffers[partition];
    free(buf->full);
    free(buf->tail);
    memset(buf, 0, sizeof *buf);
    g->part_settled[partition] = 1;
    g->settled_min_count[partition] = final ? min_count : 1;
    return rc;
}

size_t bp_ngrams_distinct(const bp_ngrams *g, int length)
{
    size_t n = bp_ngrams_size(g, length);
    if (n == 0 && (!g || length < 1 || length > g->order))
        return 0;
    for (int p = 0; p < g->num_partitions; p++)
        n += g->dropped[length][p];
    return n;
}

size_t bp_ngrams_buffer_peak(const bp_ngrams *g)
{
    size_t bytes = 0;
    if (!g)
        return 0;
    for (int p = 0; p < g->num_partitions; p++)
        bytes += g->buffer_peak[p];
    return bytes;
}
