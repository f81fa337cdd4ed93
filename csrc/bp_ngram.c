/* bp_ngram.c: n-gram counting and the n-gram model (see bp_ngram.h). */
#include "bp_ngram.h"
#include "bp_rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* While counting, value.count (0 marks a free slot); after finish,
 * value.logprob (NaN marks a free slot). */
typedef struct {
    uint64_t key;
    union {
        uint64_t count;
        double logprob;
    } value;
} slot;

/* Open addressing, linear probing, load factor at most 1/2. */
typedef struct {
    slot *slots;
    size_t mask; /* capacity - 1, a power of two */
    size_t size;
} table;

struct bp_ngrams {
    int order;
    int num_partitions;
    int finished;
    uint64_t positions; /* count of the empty n-gram */
    table tables[BP_NGRAM_MAX_ORDER + 1][BP_NGRAM_MAX_PARTITIONS]; /* [length][partition] */
};

#define INITIAL_CAPACITY 1024

static inline uint64_t hash_key(uint64_t key, int length)
{
    return bp_mix64(key + BP_GOLDEN_GAMMA * (uint64_t)length);
}

static inline int partition_of(const bp_ngrams *g, uint64_t h)
{
    return (int)((h >> 40) % (uint64_t)g->num_partitions);
}

/* Packs text[0 .. length) little-endian (byte t at bits 8t); reads only those bytes. */
static inline uint64_t pack(const uint8_t *text, int length)
{
    uint64_t key = 0;
    for (int t = 0; t < length; t++)
        key |= (uint64_t)text[t] << (8 * t);
    return key;
}

static int table_init(table *t, size_t capacity)
{
    t->slots = calloc(capacity, sizeof(slot));
    if (!t->slots)
        return BP_ERR_NOMEM;
    t->mask = capacity - 1;
    t->size = 0;
    return BP_OK;
}

/* The slot of `key`, or the free slot where it would go. */
static inline slot *table_find(const table *t, uint64_t key, uint64_t h)
{
    size_t i = (size_t)h & t->mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (s->value.count == 0 || s->key == key)
            return s;
        i = (i + 1) & t->mask;
    }
}

static int table_resize(table *t, size_t capacity, int length)
{
    table bigger;
    if (table_init(&bigger, capacity) != BP_OK)
        return BP_ERR_NOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        const slot *s = &t->slots[i];
        if (s->value.count == 0)
            continue;
        *table_find(&bigger, s->key, hash_key(s->key, length)) = *s;
        bigger.size++;
    }
    free(t->slots);
    *t = bigger;
    return BP_OK;
}

static inline int table_add(table *t, uint64_t key, uint64_t h, uint64_t count, int length)
{
    slot *s = table_find(t, key, h);
    if (s->value.count != 0) {
        s->value.count += count;
        return BP_OK;
    }
    s->key = key;
    s->value.count = count;
    if (++t->size * 2 > t->mask + 1)
        return table_resize(t, (t->mask + 1) * 2, length);
    return BP_OK;
}

bp_ngrams *bp_ngrams_new(int order, int num_partitions)
{
    if (order < 1 || order > BP_NGRAM_MAX_ORDER || num_partitions < 1 || num_partitions > BP_NGRAM_MAX_PARTITIONS)
        return NULL;
    bp_ngrams *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->order = order;
    g->num_partitions = num_partitions;
    for (int j = 1; j <= order; j++) {
        for (int p = 0; p < num_partitions; p++) {
            if (table_init(&g->tables[j][p], INITIAL_CAPACITY) != BP_OK) {
                bp_ngrams_free(g);
                return NULL;
            }
        }
    }
    return g;
}

void bp_ngrams_free(bp_ngrams *g)
{
    if (!g)
        return;
    for (int j = 0; j <= BP_NGRAM_MAX_ORDER; j++)
        for (int p = 0; p < BP_NGRAM_MAX_PARTITIONS; p++)
            free(g->tables[j][p].slots);
    free(g);
}

int bp_ngrams_count(bp_ngrams *g, int partition, const uint8_t *data,
                    const int64_t *offsets, size_t num_chunks)
{
    if (!g || g->finished || partition < 0 || partition >= g->num_partitions || !offsets || (num_chunks && !data))
        return BP_ERR_INVALID;
    const int order = g->order;
    for (size_t k = 0; k < num_chunks; k++) {
        int64_t a = offsets[k], b = offsets[k + 1];
        if (a < 0 || b < a)
            return BP_ERR_INVALID;
        for (int64_t i = a; i < b; i++) {
            int avail = b - i < order ? (int)(b - i) : order;
            uint64_t window = pack(data + i, avail);
            for (int j = 1; j <= avail; j++) {
                uint64_t key = j == 8 ? window : window & ((1ULL << (8 * j)) - 1);
                uint64_t h = hash_key(key, j);
                if (partition_of(g, h) != partition)
                    continue;
                int rc = table_add(&g->tables[j][partition], key, h, 1, j);
                if (rc != BP_OK)
                    return rc;
            }
        }
        if (partition == 0)
            g->positions += (uint64_t)(b - a);
    }
    return BP_OK;
}

static slot *find_ngram(const bp_ngrams *g, uint64_t key, int length)
{
    uint64_t h = hash_key(key, length);
    slot *s = table_find(&g->tables[length][partition_of(g, h)], key, h);
    return s->value.count != 0 ? s : NULL;
}

uint64_t bp_ngrams_get_count(const bp_ngrams *g, const uint8_t *text, int length)
{
    if (!g || g->finished || length < 0 || length > g->order)
        return 0;
    if (length == 0)
        return g->positions;
    slot *s = find_ngram(g, pack(text, length), length);
    return s ? s->value.count : 0;
}

/* Drops the slots with a count below min_count by rebuilding the table. */
static int prune_table(table *t, uint64_t min_count, int length)
{
    size_t kept = 0;
    for (size_t i = 0; i <= t->mask; i++)
        kept += t->slots[i].value.count >= min_count;
    size_t capacity = INITIAL_CAPACITY;
    while (capacity < kept * 2 + 2)
        capacity *= 2;
    table smaller;
    if (table_init(&smaller, capacity) != BP_OK)
        return BP_ERR_NOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        const slot *s = &t->slots[i];
        if (s->value.count == 0 || s->value.count < min_count)
            continue;
        *table_find(&smaller, s->key, hash_key(s->key, length)) = *s;
        smaller.size++;
    }
    free(t->slots);
    *t = smaller;
    return BP_OK;
}

int bp_ngrams_finish(bp_ngrams *g, uint64_t min_count)
{
    if (!g || g->finished || min_count < 1)
        return BP_ERR_INVALID;
    for (int b = 0; b < 256; b++) {
        uint64_t h = hash_key((uint64_t)b, 1);
        table *t = &g->tables[1][partition_of(g, h)];
        if (table_find(t, (uint64_t)b, h)->value.count == 0) {
            int rc = table_add(t, (uint64_t)b, h, 1, 1);
            if (rc != BP_OK)
                return rc;
            g->positions++;
        }
    }
    for (int j = 2; j <= g->order; j++) {
        for (int p = 0; p < g->num_partitions; p++) {
            int rc = prune_table(&g->tables[j][p], min_count, j);
            if (rc != BP_OK)
                return rc;
        }
    }
    /* Longest first, so that the prefixes still hold counts when read. */
    for (int j = g->order; j >= 1; j--) {
        for (int p = 0; p < g->num_partitions; p++) {
            table *t = &g->tables[j][p];
            for (size_t i = 0; i <= t->mask; i++) {
                slot *s = &t->slots[i];
                if (s->value.count == 0) {
                    /* From now on NaN marks a free slot: 0.0 is a valid lp. */
                    s->value.logprob = NAN;
                    continue;
                }
                uint64_t prefix_count = g->positions;
                if (j > 1) {
                    uint64_t prefix = s->key & ((1ULL << (8 * (j - 1))) - 1);
                    slot *ps = find_ngram(g, prefix, j - 1);
                    if (!ps) /* cannot happen: a prefix occurs wherever k does */
                        return BP_ERR_INVALID;
                    prefix_count = ps->value.count;
                }
                s->value.logprob = log((double)s->value.count) - log((double)prefix_count);
            }
        }
    }
    g->finished = 1;
    return BP_OK;
}

double bp_ngrams_logprob(const bp_ngrams *g, const uint8_t *text, int length)
{
    if (!g || !g->finished || length < 1 || length > g->order)
        return -INFINITY;
    uint64_t key = pack(text, length), h = hash_key(key, length);
    const table *t = &g->tables[length][partition_of(g, h)];
    size_t i = (size_t)h & t->mask;
    for (;;) {
        const slot *s = &t->slots[i];
        if (isnan(s->value.logprob)) /* a free slot */
            return -INFINITY;
        if (s->key == key)
            return s->value.logprob;
        i = (i + 1) & t->mask;
    }
}

size_t bp_ngrams_size(const bp_ngrams *g, int length)
{
    size_t n = 0;
    if (!g || length < 1 || length > g->order)
        return 0;
    for (int p = 0; p < g->num_partitions; p++)
        n += g->tables[length][p].size;
    return n;
}

size_t bp_ngrams_memory(const bp_ngrams *g)
{
    size_t bytes = 0;
    if (!g)
        return 0;
    for (int j = 1; j <= g->order; j++)
        for (int p = 0; p < g->num_partitions; p++)
            bytes += (g->tables[j][p].mask + 1) * sizeof(slot);
    return bytes;
}
