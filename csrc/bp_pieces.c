/* bp_pieces.c: counter of byte strings (see bp_pieces.h). */
#include "bp_pieces.h"
#include "bp_rng.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    uint64_t count;
    uint32_t offset; /* into the arena */
    uint32_t length;
} entry;

struct bp_piece_counts {
    entry *entries;
    size_t size, entries_capacity;
    uint8_t *arena;
    size_t arena_used, arena_capacity;
    uint32_t *index; /* entry number + 1; 0 is a free slot */
    size_t index_mask;
};

#define EMPTY_INDEX_CAPACITY 1024

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    /* FNV-style mixing of 8-byte words, finished by SplitMix64. */
    uint64_t h = BP_GOLDEN_GAMMA ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t t = 0; t < n; t++)
        w |= (uint64_t)p[t] << (8 * t);
    return bp_mix64(h ^ w);
}

int bp_piece_counts_new(bp_piece_counts **out)
{
    if (!out)
        return BP_ERR_INVALID;
    *out = NULL;
    bp_piece_counts *c = calloc(1, sizeof *c);
    if (!c)
        return BP_ERR_NOMEM;
    c->index = calloc(EMPTY_INDEX_CAPACITY, sizeof *c->index);
    if (!c->index) {
        free(c);
        return BP_ERR_NOMEM;
    }
    c->index_mask = EMPTY_INDEX_CAPACITY - 1;
    *out = c;
    return BP_OK;
}

void bp_piece_counts_free(bp_piece_counts *c)
{
    if (!c)
        return;
    free(c->entries);
    free(c->arena);
    free(c->index);
    free(c);
}

static int grow_index(bp_piece_counts *c)
{
    size_t capacity = (c->index_mask + 1) * 2;
    uint32_t *index = calloc(capacity, sizeof *index);
    if (!index)
        return BP_ERR_NOMEM;
    for (size_t k = 0; k < c->size; k++) {
        size_t i = (size_t)c->entries[k].hash & (capacity - 1);
        while (index[i])
            i = (i + 1) & (capacity - 1);
        index[i] = (uint32_t)(k + 1);
    }
    free(c->index);
    c->index = index;
    c->index_mask = capacity - 1;
    return BP_OK;
}

/* bp_piece_counts_add with the piece's hash_bytes already computed. */
static int add_hashed(bp_piece_counts *c, const uint8_t *piece, size_t length, uint64_t count, uint64_t h)
{
    size_t i = (size_t)h & c->index_mask;
    for (uint32_t k; (k = c->index[i]) != 0; i = (i + 1) & c->index_mask) {
        entry *e = &c->entries[k - 1];
        if (e->hash == h && e->length == length && memcmp(c->arena + e->offset, piece, length) == 0) {
            e->count += count;
            return BP_OK;
        }
    }
    if (c->arena_used + length > UINT32_MAX || c->size + 1 >= UINT32_MAX)
        return BP_ERR_TOO_LARGE;
    int rc = bp_reserve((void **)&c->arena, &c->arena_capacity, c->arena_used + length, 1, 256);
    if (rc == BP_OK)
        rc = bp_reserve((void **)&c->entries, &c->entries_capacity, c->size + 1, sizeof(entry), 256);
    if (rc != BP_OK)
        return rc;
    memcpy(c->arena + c->arena_used, piece, length);
    c->entries[c->size] = (entry){h, count, (uint32_t)c->arena_used, (uint32_t)length};
    c->arena_used += length;
    c->index[i] = (uint32_t)(++c->size);
    if (c->size * 2 > c->index_mask + 1)
        return grow_index(c);
    return BP_OK;
}

int bp_piece_counts_add(bp_piece_counts *c, const uint8_t *piece, size_t length, uint64_t count)
{
    if (!c || !piece || length == 0)
        return BP_ERR_INVALID;
    return add_hashed(c, piece, length, count, hash_bytes(piece, length));
}

int bp_piece_counts_merge(bp_piece_counts *into, const bp_piece_counts *from)
{
    if (!into || !from || into == from)
        return BP_ERR_INVALID;
    for (size_t k = 0; k < from->size; k++) {
        const entry *e = &from->entries[k];
        int rc = bp_piece_counts_add(into, from->arena + e->offset, e->length, e->count);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/* Adds each text data[offsets[k] .. offsets[k+1]) with count counts[k], or
 * 1 where counts is NULL. An empty text is skipped where skip_empty and
 * refused otherwise; a zero count or broken offsets are refused. */
static int add_texts(bp_piece_counts *c, const uint8_t *data, const int64_t *offsets, const uint64_t *counts,
                     size_t n, int skip_empty)
{
    for (size_t k = 0; k < n; k++) {
        const uint64_t count = counts ? counts[k] : 1;
        if (offsets[k] < 0 || offsets[k + 1] < offsets[k] || count == 0)
            return BP_ERR_INVALID;
        if (offsets[k + 1] == offsets[k]) {
            if (skip_empty)
                continue;
            return BP_ERR_INVALID;
        }
        int rc = bp_piece_counts_add(c, data + offsets[k], (size_t)(offsets[k + 1] - offsets[k]), count);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

int bp_piece_counts_add_packed(bp_piece_counts *c, const uint8_t *data, const int64_t *offsets,
                               const uint64_t *piece_counts, size_t n)
{
    if (!c || (n && (!data || !offsets || !piece_counts)))
        return BP_ERR_INVALID;
    return add_texts(c, data, offsets, piece_counts, n, 0);
}

int bp_piece_counts_add_each(bp_piece_counts *c, const uint8_t *data, const int64_t *offsets, size_t n)
{
    if (!c || (n && (!data || !offsets)))
        return BP_ERR_INVALID;
    return add_texts(c, data, offsets, NULL, n, 1);
}

/* Adds `count` to the piece if it belongs to `partition` of num_partitions
 * (bp_piece_counts_partitions' rule). */
static int add_in_partition(bp_piece_counts *c, const uint8_t *piece, size_t length, uint64_t count,
                            uint32_t num_partitions, uint32_t partition)
{
    uint64_t h = hash_bytes(piece, length);
    if (num_partitions > 1 && h % num_partitions != partition)
        return BP_OK;
    return add_hashed(c, piece, length, count, h);
}

int bp_piece_counts_add_substrings(bp_piece_counts *c, const uint8_t *data, const int64_t *offsets,
                                   const uint64_t *weights, size_t n, size_t min_length, size_t max_length,
                                   uint32_t num_partitions, uint32_t partition)
{
    if (!c || min_length < 1 || max_length < min_length || (n && (!data || !offsets || !weights)) ||
        num_partitions == 0 || partition >= num_partitions)
        return BP_ERR_INVALID;
    for (size_t k = 0; k < n; k++) {
        if (offsets[k] < 0 || offsets[k + 1] < offsets[k])
            return BP_ERR_INVALID;
        const uint8_t *text = data + offsets[k];
        const size_t len = (size_t)(offsets[k + 1] - offsets[k]);
        for (size_t i = 0; i < len; i++) {
            if (bp_is_utf8_continuation(text[i]))
                continue;
            for (size_t length = min_length; length <= max_length && i + length <= len; length++) {
                if (i + length < len && bp_is_utf8_continuation(text[i + length]))
                    continue;
                int rc = add_in_partition(c, text + i, length, weights[k], num_partitions, partition);
                if (rc != BP_OK)
                    return rc;
            }
        }
        if (len > max_length) {
            int rc = add_in_partition(c, text, len, weights[k], num_partitions, partition);
            if (rc != BP_OK)
                return rc;
        }
    }
    return BP_OK;
}

int bp_piece_counts_partitions(const bp_piece_counts *c, uint32_t num_partitions, uint32_t *out)
{
    if (!c || num_partitions == 0 || (c->size && !out))
        return BP_ERR_INVALID;
    for (size_t k = 0; k < c->size; k++)
        out[k] = (uint32_t)(c->entries[k].hash % num_partitions);
    return BP_OK;
}

size_t bp_piece_counts_size(const bp_piece_counts *c) { return c ? c->size : 0; }

size_t bp_piece_counts_total_bytes(const bp_piece_counts *c) { return c ? c->arena_used : 0; }

size_t bp_piece_counts_memory(const bp_piece_counts *c)
{
    if (!c)
        return 0;
    return c->entries_capacity * sizeof(entry) + c->arena_capacity + (c->index_mask + 1) * sizeof(uint32_t);
}

void bp_piece_counts_export(const bp_piece_counts *c, uint8_t *data, int64_t *offsets, uint64_t *out_counts)
{
    int64_t at = 0;
    for (size_t k = 0; k < c->size; k++) {
        const entry *e = &c->entries[k];
        memcpy(data + at, c->arena + e->offset, e->length);
        offsets[k] = at;
        out_counts[k] = e->count;
        at += e->length;
    }
    offsets[c->size] = at;
}
