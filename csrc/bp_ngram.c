/* bp_ngram.c: n-gram counting and the n-gram model (see bp_ngram.h). */
#include "bp_ngram.h"
#include "bp_rng.h"

#include <math.h>
#include <stdatomic.h>
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

/* Open addressing, linear probing. While counting the load factor is at
 * most 3/4: these tables are the trainer's peak memory, and a probe's
 * neighbours share its cache line (4 slots), so fuller tables cost little
 * time (dev corpus, order 6: peak 318 -> 259 MB, time unchanged). A
 * finished table is rebuilt at most half full (prune_table): the second
 * pass looks up n-grams that are mostly absent, and a miss probes to the
 * next free slot. */
typedef struct {
    slot *slots;
    size_t mask; /* capacity - 1, a power of two */
    size_t size;
} table;

struct bp_ngrams {
    int order;
    int num_partitions;
    int finished;   /* every partition finished: the model answers lookups */
    int borrowed;   /* a view (bp_ngrams_view): the tables' slots belong to the caller */
    int started;    /* counting or merging has begun: the partition map is fixed */
    /* Partitions finished so far: concurrent bp_ngrams_finish_partition calls
     * count themselves here, and the one that makes it num_partitions sets
     * `finished` (no call reads another's part_finished). */
    atomic_int num_finished;
    uint8_t part_finished[BP_MAX_PARTITIONS];
    uint8_t part_of_byte[256]; /* partition of the n-grams starting with each byte */
    uint64_t positions; /* count of the empty n-gram */
    table tables[BP_MAX_ORDER + 1][BP_MAX_PARTITIONS]; /* [length][partition] */
    /* Once finished: the log-probability of every 1-gram (at its byte) and
     * 2-gram (at DENSE_1 + its packed key), -INFINITY where pruned; the
     * emissions read these instead of hashing (see build_dense). */
    double *dense_logprob;
};

#define INITIAL_CAPACITY 1024

/* Entries of the dense 1- and 2-gram arrays: of the counts in
 * bp_ngrams_count, of the log-probabilities once finished. */
#define DENSE_1 256u
#define DENSE_2 65536u
/* Bytes of a bp_ngrams_count call from which its 1- and 2-grams are counted
 * in the dense arrays (their making and scanning cost ~50 us). */
#define DENSE_MIN_BYTES 65536

static inline uint64_t hash_key(uint64_t key, int length)
{
    return bp_mix64(key + BP_GOLDEN_GAMMA * (uint64_t)length);
}

/* The partition of a packed key: that of its first byte (the low byte). */
static inline int partition_of(const bp_ngrams *g, uint64_t key)
{
    return g->part_of_byte[key & 0xFF];
}

/* Positions whose lookups are in flight (prefetched, not yet used). */
#define PIPELINE 8

static inline void prefetch_slot(const table *t, uint64_t h)
{
#if defined(__GNUC__)
    __builtin_prefetch(&t->slots[(size_t)h & t->mask], 1, 1);
#else
    (void)t;
    (void)h;
#endif
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
    if (capacity > SIZE_MAX / sizeof(slot))
        return BP_ERR_NOMEM;
    t->slots = bp_table_alloc(capacity * sizeof(slot));
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
    if (++t->size * 4 > (t->mask + 1) * 3)
        return table_resize(t, (t->mask + 1) * 2, length);
    return BP_OK;
}

/* A zeroed model of `order` and `num_partitions` (checked by the caller), or
 * NULL when out of memory. */
static bp_ngrams *alloc_ngrams(int order, int num_partitions)
{
    bp_ngrams *g = calloc(1, sizeof *g);
    if (g) {
        g->order = order;
        g->num_partitions = num_partitions;
    }
    return g;
}

int bp_ngrams_new(int order, int num_partitions, bp_ngrams **out)
{
    if (!out)
        return BP_ERR_INVALID;
    *out = NULL;
    if (order < 1 || order > BP_MAX_ORDER || num_partitions < 1 || num_partitions > BP_MAX_PARTITIONS)
        return BP_ERR_INVALID;
    bp_ngrams *g = alloc_ngrams(order, num_partitions);
    if (!g)
        return BP_ERR_NOMEM;
    for (int b = 0; b < 256; b++)
        g->part_of_byte[b] = (uint8_t)(b % num_partitions);
    for (int j = 1; j <= order; j++) {
        for (int p = 0; p < num_partitions; p++) {
            if (table_init(&g->tables[j][p], INITIAL_CAPACITY) != BP_OK) {
                bp_ngrams_free(g);
                return BP_ERR_NOMEM;
            }
        }
    }
    *out = g;
    return BP_OK;
}

void bp_ngrams_free(bp_ngrams *g)
{
    if (!g)
        return;
    if (!g->borrowed)
        for (int j = 0; j <= BP_MAX_ORDER; j++)
            for (int p = 0; p < BP_MAX_PARTITIONS; p++)
                free(g->tables[j][p].slots);
    free(g->dense_logprob);
    free(g);
}

int bp_balance_partitions(const uint64_t byte_counts[256], int num_partitions, uint8_t part_of_byte[256])
{
    if (!byte_counts || !part_of_byte || num_partitions < 1 || num_partitions > BP_MAX_PARTITIONS)
        return BP_ERR_INVALID;
    int order[256];
    for (int b = 0; b < 256; b++)
        order[b] = b;
    for (int a = 1; a < 256; a++) { /* insertion sort, heaviest first, stable */
        int b = order[a], k = a;
        for (; k > 0 && byte_counts[order[k - 1]] < byte_counts[b]; k--)
            order[k] = order[k - 1];
        order[k] = b;
    }
    uint64_t load[BP_MAX_PARTITIONS] = {0};
    for (int a = 0; a < 256; a++) {
        int lightest = 0;
        for (int p = 1; p < num_partitions; p++)
            if (load[p] < load[lightest])
                lightest = p;
        part_of_byte[order[a]] = (uint8_t)lightest;
        load[lightest] += byte_counts[order[a]];
    }
    return BP_OK;
}

int bp_ngrams_assign(bp_ngrams *g, const uint8_t part_of_byte[256])
{
    if (!g || !part_of_byte || g->started || g->borrowed)
        return BP_ERR_INVALID;
    for (int b = 0; b < 256; b++)
        if (part_of_byte[b] >= g->num_partitions)
            return BP_ERR_INVALID;
    memcpy(g->part_of_byte, part_of_byte, 256);
    return BP_OK;
}

int bp_ngrams_balance(bp_ngrams *g, const uint64_t byte_counts[256])
{
    if (!g || !byte_counts)
        return BP_ERR_INVALID;
    uint8_t map[256];
    int rc = bp_balance_partitions(byte_counts, g->num_partitions, map);
    return rc == BP_OK ? bp_ngrams_assign(g, map) : rc;
}

void bp_ngrams_partition_map(const bp_ngrams *g, uint8_t part_of_byte[256])
{
    memcpy(part_of_byte, g->part_of_byte, 256);
}

typedef struct {
    uint64_t key[BP_MAX_ORDER + 1];
    uint64_t hash[BP_MAX_ORDER + 1];
    int lengths;
} pending_position;

int bp_ngrams_count(bp_ngrams *g, int partition, const uint8_t *data,
                    const int64_t *offsets, size_t num_chunks)
{
    if (!g || partition < 0 || partition >= g->num_partitions || g->part_finished[partition] || g->borrowed ||
        !offsets || (num_chunks && !data))
        return BP_ERR_INVALID;
    for (size_t k = 0; k < num_chunks; k++)
        if (offsets[k] < 0 || offsets[k + 1] < offsets[k])
            return BP_ERR_INVALID;
    /* 1- and 2-grams are counted in dense arrays indexed by their bytes
     * (no hashing: they are a third of the work and always cached), and
     * added to their tables once at the end; for a small input, making and
     * scanning the arrays would cost more than hashing them. */
    const int use_dense = num_chunks > 0 && offsets[num_chunks] - offsets[0] >= DENSE_MIN_BYTES;
    const int first_hashed = use_dense ? 3 : 1; /* the shortest n-gram that goes through the tables */
    uint64_t *dense = use_dense ? calloc(DENSE_1 + DENSE_2, sizeof *dense) : NULL;
    if (use_dense && !dense)
        return BP_ERR_NOMEM;
    uint64_t *count1 = dense, *count2 = use_dense ? dense + DENSE_1 : NULL;
    g->started = 1;
    const int order = g->order;
    table *tables[BP_MAX_ORDER + 1];
    for (int j = 1; j <= order; j++)
        tables[j] = &g->tables[j][partition];
    /* A ring of positions: hash and prefetch now, insert PIPELINE positions later. */
    pending_position ring[PIPELINE];
    size_t head = 0, in_flight = 0;
    int rc = BP_OK;
    for (size_t k = 0; k < num_chunks && rc == BP_OK; k++) {
        int64_t a = offsets[k], b = offsets[k + 1];
        for (int64_t i = a; i < b && rc == BP_OK; i++) {
            if (g->part_of_byte[data[i]] != partition)
                continue;
            int avail = b - i < order ? (int)(b - i) : order;
            if (use_dense) {
                count1[data[i]]++;
                if (avail >= 2)
                    count2[data[i] | (unsigned)data[i + 1] << 8]++;
                if (avail < 3)
                    continue;
            }
            pending_position *pos = &ring[head % PIPELINE];
            if (in_flight == PIPELINE) { /* the slot holds the oldest position: insert it */
                for (int j = first_hashed; j <= pos->lengths && rc == BP_OK; j++)
                    rc = table_add(tables[j], pos->key[j], pos->hash[j], 1, j);
                in_flight--;
            }
            uint64_t window = pack(data + i, avail);
            pos->lengths = avail;
            for (int j = first_hashed; j <= avail; j++) {
                pos->key[j] = j == 8 ? window : window & ((1ULL << (8 * j)) - 1);
                pos->hash[j] = hash_key(pos->key[j], j);
                prefetch_slot(tables[j], pos->hash[j]);
            }
            head++;
            in_flight++;
        }
        if (partition == 0)
            g->positions += (uint64_t)(b - a);
    }
    for (; in_flight > 0 && rc == BP_OK; in_flight--) { /* drain, oldest first */
        pending_position *pos = &ring[(head - in_flight) % PIPELINE];
        for (int j = first_hashed; j <= pos->lengths && rc == BP_OK; j++)
            rc = table_add(tables[j], pos->key[j], pos->hash[j], 1, j);
    }
    for (uint64_t key = 0; key < DENSE_1 && rc == BP_OK && use_dense; key++)
        if (count1[key])
            rc = table_add(tables[1], key, hash_key(key, 1), count1[key], 1);
    for (uint64_t key = 0; key < DENSE_2 && rc == BP_OK && use_dense && order >= 2; key++)
        if (count2[key])
            rc = table_add(tables[2], key, hash_key(key, 2), count2[key], 2);
    free(dense);
    return rc;
}

static slot *find_ngram(const bp_ngrams *g, uint64_t key, int length)
{
    uint64_t h = hash_key(key, length);
    slot *s = table_find(&g->tables[length][partition_of(g, key)], key, h);
    return s->value.count != 0 ? s : NULL;
}

uint64_t bp_ngrams_get_count(const bp_ngrams *g, const uint8_t *text, int length)
{
    if (!g || g->finished || length < 0 || length > g->order)
        return 0;
    if (length == 0)
        return g->positions;
    uint64_t key = pack(text, length);
    if (g->part_finished[partition_of(g, key)]) /* its slots hold log-probabilities now */
        return 0;
    slot *s = find_ngram(g, key, length);
    return s ? s->value.count : 0;
}

/* Drops the slots with a count below min_count by rebuilding the table. */
static int prune_table(table *t, uint64_t min_count, int length)
{
    size_t kept = 0;
    for (size_t i = 0; i <= t->mask; i++)
        kept += t->slots[i].value.count >= min_count;
    size_t capacity = bp_grow_capacity(0, kept * 2 + 2, INITIAL_CAPACITY);
    table smaller;
    if (capacity == 0 || table_init(&smaller, capacity) != BP_OK)
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

int bp_ngrams_add_missing_bytes(bp_ngrams *g, int partition, size_t *num_added)
{
    if (!g || !num_added || partition < 0 || partition >= g->num_partitions || g->part_finished[partition])
        return BP_ERR_INVALID;
    *num_added = 0;
    g->started = 1;
    for (int b = 0; b < 256; b++) {
        if (g->part_of_byte[b] != partition)
            continue;
        uint64_t h = hash_key((uint64_t)b, 1);
        table *t = &g->tables[1][partition];
        if (table_find(t, (uint64_t)b, h)->value.count == 0) {
            int rc = table_add(t, (uint64_t)b, h, 1, 1);
            if (rc != BP_OK)
                return rc;
            g->positions++;
            ++*num_added;
        }
    }
    return BP_OK;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int bp_ngrams_large_counts(const bp_ngrams *g, int partition, uint64_t min_count, uint64_t threshold,
                           uint64_t *out, size_t capacity, size_t *num_counts)
{
    if (!g || !num_counts || min_count < 1 || partition < 0 || partition >= g->num_partitions ||
        g->part_finished[partition])
        return BP_ERR_INVALID;
    size_t n = 0, room = 64;
    uint64_t *all = malloc(room * sizeof *all);
    if (!all)
        return BP_ERR_NOMEM;
    if (g->positions >= threshold) /* every partition's 1-grams divide by it */
        all[n++] = g->positions;
    for (int j = 1; j <= g->order; j++) {
        const table *t = &g->tables[j][partition];
        for (size_t i = 0; i <= t->mask; i++) {
            uint64_t c = t->slots[i].value.count;
            if (c == 0 || c < threshold || (j > 1 && c < min_count))
                continue;
            if (n == room) {
                size_t bigger = bp_grow_capacity(room, room + 1, 64);
                uint64_t *grown = bigger ? realloc(all, bigger * sizeof *all) : NULL;
                if (!grown) {
                    free(all);
                    return BP_ERR_NOMEM;
                }
                all = grown;
                room = bigger;
            }
            all[n++] = c;
        }
    }
    qsort(all, n, sizeof *all, compare_u64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (distinct == 0 || all[distinct - 1] != all[i])
            all[distinct++] = all[i];
    if (out && capacity >= distinct)
        memcpy(out, all, distinct * sizeof *all);
    *num_counts = distinct;
    free(all);
    return BP_OK;
}

/* log(c) from the caller's table, or NAN when it lacks c. */
static double table_log(const bp_log_table *logs, uint64_t c)
{
    if (!logs)
        return log((double)c);
    if (c < logs->num_small)
        return logs->small[c];
    size_t lo = 0, hi = logs->num_large;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (logs->large_counts[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < logs->num_large && logs->large_counts[lo] == c ? logs->large_logs[lo] : NAN;
}

/* Fills g->dense_logprob from the finished 1- and 2-gram tables of every
 * partition (called once, when the last partition is finished). */
static int build_dense(bp_ngrams *g)
{
    double *dense = malloc((DENSE_1 + DENSE_2) * sizeof *dense);
    if (!dense)
        return BP_ERR_NOMEM;
    for (size_t i = 0; i < DENSE_1 + DENSE_2; i++)
        dense[i] = -INFINITY;
    for (int j = 1; j <= 2 && j <= g->order; j++) {
        for (int p = 0; p < g->num_partitions; p++) {
            const table *t = &g->tables[j][p];
            for (size_t i = 0; i <= t->mask; i++)
                if (!isnan(t->slots[i].value.logprob))
                    dense[(j == 2 ? DENSE_1 : 0) + (t->slots[i].key & 0xFFFF)] = t->slots[i].value.logprob;
        }
    }
    g->dense_logprob = dense;
    return BP_OK;
}

int bp_ngrams_finish_partition(bp_ngrams *g, int partition, uint64_t min_count)
{
    return bp_ngrams_finish_partition_logs(g, partition, min_count, NULL);
}

int bp_ngrams_finish_partition_logs(bp_ngrams *g, int partition, uint64_t min_count, const bp_log_table *logs)
{
    if (!g || min_count < 1 || partition < 0 || partition >= g->num_partitions || g->part_finished[partition])
        return BP_ERR_INVALID;
    if (logs && ((logs->num_small && !logs->small) || (logs->num_large && (!logs->large_counts || !logs->large_logs))))
        return BP_ERR_INVALID;
    const double log_positions = table_log(logs, g->positions);
    const int p = partition;
    for (int j = 2; j <= g->order; j++) {
        int rc = prune_table(&g->tables[j][p], min_count, j);
        if (rc != BP_OK)
            return rc;
    }
    /* Longest first, so that the prefixes (same first byte: same partition)
     * still hold counts when read. */
    for (int j = g->order; j >= 1; j--) {
        table *t = &g->tables[j][p];
        for (size_t i = 0; i <= t->mask; i++) {
            slot *s = &t->slots[i];
            if (s->value.count == 0) {
                /* From now on NaN marks a free slot: 0.0 is a valid lp. */
                s->value.logprob = NAN;
                continue;
            }
            double log_prefix = log_positions;
            if (j > 1) {
                uint64_t prefix = s->key & ((1ULL << (8 * (j - 1))) - 1);
                slot *ps = table_find(&g->tables[j - 1][p], prefix, hash_key(prefix, j - 1));
                if (ps->value.count == 0) /* a corrupt merge: a prefix occurs wherever k does */
                    return BP_ERR_INVALID;
                log_prefix = table_log(logs, ps->value.count);
            }
            double log_count = table_log(logs, s->value.count);
            if (isnan(log_count) || isnan(log_prefix)) /* the caller's table lacks a count */
                return BP_ERR_INVALID;
            s->value.logprob = log_count - log_prefix;
        }
    }
    g->part_finished[p] = 1;
    if (atomic_fetch_add(&g->num_finished, 1) + 1 == g->num_partitions) {
        /* The last one: every other partition's tables are final. */
        int rc = build_dense(g);
        if (rc != BP_OK)
            return rc;
        g->finished = 1;
    }
    return BP_OK;
}

int bp_ngrams_finish(bp_ngrams *g, uint64_t min_count)
{
    if (!g || g->finished || min_count < 1)
        return BP_ERR_INVALID;
    for (int p = 0; p < g->num_partitions; p++) {
        size_t added;
        int rc = bp_ngrams_add_missing_bytes(g, p, &added);
        if (rc != BP_OK)
            return rc;
    }
    for (int p = 0; p < g->num_partitions; p++) {
        int rc = bp_ngrams_finish_partition(g, p, min_count);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

uint64_t bp_ngrams_positions(const bp_ngrams *g) { return g ? g->positions : 0; }

int bp_ngrams_add_positions(bp_ngrams *g, uint64_t positions)
{
    if (!g || g->finished || g->borrowed || positions > UINT64_MAX - g->positions)
        return BP_ERR_INVALID;
    g->positions += positions;
    return BP_OK;
}

static int check_table_arguments(const bp_ngrams *g, int partition, int length)
{
    if (!g || partition < 0 || partition >= g->num_partitions || length < 1 || length > g->order)
        return BP_ERR_INVALID;
    return BP_OK;
}

size_t bp_ngrams_partition_size(const bp_ngrams *g, int partition, int length)
{
    if (check_table_arguments(g, partition, length) != BP_OK)
        return 0;
    return g->tables[length][partition].size;
}

int bp_ngrams_export_counts(const bp_ngrams *g, int partition, int length, uint64_t *keys, uint64_t *counts)
{
    if (check_table_arguments(g, partition, length) != BP_OK || g->part_finished[partition] ||
        (g->tables[length][partition].size && (!keys || !counts)))
        return BP_ERR_INVALID;
    const table *t = &g->tables[length][partition];
    size_t n = 0;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].value.count == 0)
            continue;
        keys[n] = t->slots[i].key;
        counts[n++] = t->slots[i].value.count;
    }
    return BP_OK;
}

int bp_ngrams_add_counts(bp_ngrams *g, int partition, int length, const uint64_t *keys, const uint64_t *counts,
                         size_t n)
{
    if (check_table_arguments(g, partition, length) != BP_OK || g->part_finished[partition] || g->borrowed ||
        (n && (!keys || !counts)))
        return BP_ERR_INVALID;
    const uint64_t unused = length == 8 ? 0 : ~((1ULL << (8 * length)) - 1);
    for (size_t i = 0; i < n; i++)
        if ((keys[i] & unused) != 0 || counts[i] == 0 || partition_of(g, keys[i]) != partition)
            return BP_ERR_INVALID; /* checked first: a bad input leaves the counts as they were */
    g->started = 1;
    table *t = &g->tables[length][partition];
    for (size_t i = 0; i < n; i++) {
        int rc = table_add(t, keys[i], hash_key(keys[i], length), counts[i], length);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

size_t bp_ngrams_table_capacity(const bp_ngrams *g, int partition, int length)
{
    if (check_table_arguments(g, partition, length) != BP_OK || !g->part_finished[partition])
        return 0;
    return g->tables[length][partition].mask + 1;
}

int bp_ngrams_export_table(const bp_ngrams *g, int partition, int length, void *out)
{
    if (check_table_arguments(g, partition, length) != BP_OK || !g->part_finished[partition] || !out)
        return BP_ERR_INVALID;
    const table *t = &g->tables[length][partition];
    memcpy(out, t->slots, (t->mask + 1) * sizeof(slot));
    return BP_OK;
}

int bp_ngrams_view(int order, int num_partitions, const uint8_t part_of_byte[256], const void *const *tables,
                   const size_t *capacities, bp_ngrams **out)
{
    if (!out)
        return BP_ERR_INVALID;
    *out = NULL;
    if (order < 1 || order > BP_MAX_ORDER || num_partitions < 1 || num_partitions > BP_MAX_PARTITIONS ||
        !part_of_byte || !tables || !capacities)
        return BP_ERR_INVALID;
    for (int b = 0; b < 256; b++)
        if (part_of_byte[b] >= num_partitions)
            return BP_ERR_INVALID;
    for (int k = 0; k < order * num_partitions; k++) {
        size_t capacity = capacities[k];
        if (!tables[k] || capacity == 0 || (capacity & (capacity - 1)) != 0)
            return BP_ERR_INVALID;
        /* A probe ends at a free slot: a table without one would never end. */
        const slot *slots = tables[k];
        size_t free_slots = 0;
        for (size_t i = 0; i < capacity; i++)
            free_slots += isnan(slots[i].value.logprob);
        if (free_slots == 0)
            return BP_ERR_INVALID;
    }
    bp_ngrams *g = alloc_ngrams(order, num_partitions);
    if (!g)
        return BP_ERR_NOMEM;
    g->finished = g->borrowed = g->started = 1;
    memcpy(g->part_of_byte, part_of_byte, 256);
    for (int j = 1; j <= order; j++) {
        for (int p = 0; p < num_partitions; p++) {
            size_t k = (size_t)(j - 1) * (size_t)num_partitions + (size_t)p;
            table *t = &g->tables[j][p];
            t->slots = (slot *)tables[k]; /* only read: a view is finished */
            t->mask = capacities[k] - 1;
            for (size_t i = 0; i < capacities[k]; i++)
                t->size += !isnan(t->slots[i].value.logprob);
        }
        for (int p = 0; p < num_partitions; p++)
            g->part_finished[p] = 1;
    }
    if (build_dense(g) != BP_OK) {
        bp_ngrams_free(g);
        return BP_ERR_NOMEM;
    }
    *out = g;
    return BP_OK;
}

/* Probes a finished table: the log-probability, or -INFINITY if absent. */
static inline double table_logprob(const table *t, uint64_t key, uint64_t h)
{
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

double bp_ngrams_logprob(const bp_ngrams *g, const uint8_t *text, int length)
{
    if (!g || !g->finished || length < 1 || length > g->order)
        return -INFINITY;
    uint64_t key = pack(text, length);
    return table_logprob(&g->tables[length][partition_of(g, key)], key, hash_key(key, length));
}

int bp_ngrams_order(const bp_ngrams *g) { return g->order; }

int bp_ngrams_emissions(const bp_ngrams *g, const uint8_t *text, size_t n, double *out)
{
    if (!g || !g->finished || (n && (!text || !out)))
        return BP_ERR_INVALID;
    const int K = g->order;
    const double *dense1 = g->dense_logprob, *dense2 = g->dense_logprob + DENSE_1;
    /* keys[i % PIPELINE][j]: the n-gram text[i-j .. i], hashed and prefetched
     * PIPELINE positions before it is probed (j >= 2: shorter ones are dense). */
    uint64_t keys[PIPELINE][BP_MAX_ORDER], hashes[PIPELINE][BP_MAX_ORDER];
    const table *tables[PIPELINE][BP_MAX_ORDER];
    for (size_t i = 0; i < n + PIPELINE; i++) {
        /* Stage 2 first: position i - PIPELINE leaves the ring slot that
         * position i is about to take. */
        if (i >= PIPELINE) {
            size_t p = i - PIPELINE, r = p % PIPELINE;
            double *row = out + p * (size_t)K;
            int j = 0;
            for (; j < K && (size_t)j <= p; j++) {
                row[j] = j == 0 ? dense1[text[p]]
                         : j == 1 ? dense2[keys[r][1]]
                         : table_logprob(tables[r][j], keys[r][j], hashes[r][j]);
                if (row[j] == -INFINITY)
                    break;
            }
            for (; j < K; j++)
                row[j] = -INFINITY;
        }
        if (i < n) { /* stage 1: hash and prefetch position i */
            size_t r = i % PIPELINE;
            uint64_t key = 0;
            for (int j = 0; j < K && (size_t)j <= i; j++) {
                key = (key << 8) | text[i - (size_t)j]; /* text[i-j] becomes the low (first) byte */
                keys[r][j] = key;
                if (j < 2)
                    continue;
                hashes[r][j] = hash_key(key, j + 1);
                tables[r][j] = &g->tables[j + 1][partition_of(g, key)];
                prefetch_slot(tables[r][j], hashes[r][j]);
            }
        }
    }
    return BP_OK;
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
