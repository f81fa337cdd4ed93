/* bp_ngram.c: counting n-grams and finishing the counts into the n-gram
 * model (see bp_ngram.h; the tables are bp_ngram_table.h). */
#include "bp_ngram.h"
#include "bp_ngram_table.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a bp_ngrams_count call from which its 1- and 2-grams are counted
 * in the dense arrays (their making and scanning cost ~50 us). */
#define DENSE_MIN_BYTES 65536

int bp_ngrams_new(int order, int num_partitions, bp_ngrams **out)
{
    if (!out)
        return BP_ERR_INVALID;
    *out = NULL;
    if (order < 1 || order > BP_MAX_ORDER || num_partitions < 1 || num_partitions > BP_MAX_PARTITIONS)
        return BP_ERR_INVALID;
    bp_ngrams *g = bp_ngrams_alloc(order, num_partitions);
    if (!g)
        return BP_ERR_NOMEM;
    for (int b = 0; b < 256; b++)
        g->part_of_byte[b] = (uint8_t)(b % num_partitions);
    for (int j = 1; j <= order; j++) {
        for (int p = 0; p < num_partitions; p++) {
            if (bp_ngram_table_init(&g->tables[j][p], BP_NGRAM_INITIAL_CAPACITY) != BP_OK) {
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
    bp_ngrams_free_buffers(g);
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
    if (g->buffer_limit) {
        if (g->part_settled[partition])
            return BP_ERR_INVALID;
        g->started = 1;
        return bp_ngrams_buffer_count(g, partition, data, offsets, num_chunks);
    }
    /* 1- and 2-grams are counted in dense arrays indexed by their bytes
     * (no hashing: they are a third of the work and always cached), and
     * added to their tables once at the end; for a small input, making and
     * scanning the arrays would cost more than hashing them. */
    const int use_dense = num_chunks > 0 && offsets[num_chunks] - offsets[0] >= DENSE_MIN_BYTES;
    const int first_hashed = use_dense ? 3 : 1; /* the shortest n-gram that goes through the tables */
    uint64_t *dense = use_dense ? calloc(BP_NGRAM_DENSE_1 + BP_NGRAM_DENSE_2, sizeof *dense) : NULL;
    if (use_dense && !dense)
        return BP_ERR_NOMEM;
    uint64_t *count1 = dense, *count2 = use_dense ? dense + BP_NGRAM_DENSE_1 : NULL;
    g->started = 1;
    const int order = g->order;
    bp_ngram_table *tables[BP_MAX_ORDER + 1];
    for (int j = 1; j <= order; j++)
        tables[j] = &g->tables[j][partition];
    /* A ring of positions: hash and prefetch now, insert BP_NGRAM_PIPELINE positions later. */
    pending_position ring[BP_NGRAM_PIPELINE];
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
            pending_position *pos = &ring[head % BP_NGRAM_PIPELINE];
            if (in_flight == BP_NGRAM_PIPELINE) { /* the slot holds the oldest position: insert it */
                for (int j = first_hashed; j <= pos->lengths && rc == BP_OK; j++)
                    rc = bp_ngram_table_add(tables[j], pos->key[j], pos->hash[j], 1, j);
                in_flight--;
            }
            uint64_t window = bp_ngram_pack(data + i, avail);
            pos->lengths = avail;
            for (int j = first_hashed; j <= avail; j++) {
                pos->key[j] = j == 8 ? window : window & ((1ULL << (8 * j)) - 1);
                pos->hash[j] = bp_ngram_hash(pos->key[j], j);
                bp_ngram_prefetch(tables[j], pos->hash[j]);
            }
            head++;
            in_flight++;
        }
        if (partition == 0)
            g->positions += (uint64_t)(b - a);
    }
    for (; in_flight > 0 && rc == BP_OK; in_flight--) { /* drain, oldest first */
        pending_position *pos = &ring[(head - in_flight) % BP_NGRAM_PIPELINE];
        for (int j = first_hashed; j <= pos->lengths && rc == BP_OK; j++)
            rc = bp_ngram_table_add(tables[j], pos->key[j], pos->hash[j], 1, j);
    }
    for (uint64_t key = 0; key < BP_NGRAM_DENSE_1 && rc == BP_OK && use_dense; key++)
        if (count1[key])
            rc = bp_ngram_table_add(tables[1], key, bp_ngram_hash(key, 1), count1[key], 1);
    for (uint64_t key = 0; key < BP_NGRAM_DENSE_2 && rc == BP_OK && use_dense && order >= 2; key++)
        if (count2[key])
            rc = bp_ngram_table_add(tables[2], key, bp_ngram_hash(key, 2), count2[key], 2);
    free(dense);
    return rc;
}

static bp_ngram_slot *find_ngram(const bp_ngrams *g, uint64_t key, int length)
{
    uint64_t h = bp_ngram_hash(key, length);
    bp_ngram_slot *s = bp_ngram_table_find(&g->tables[length][bp_ngram_partition_of(g, key)], key, h);
    return s->value.count != 0 ? s : NULL;
}

uint64_t bp_ngrams_get_count(const bp_ngrams *g, const uint8_t *text, int length)
{
    if (!g || g->finished || length < 0 || length > g->order)
        return 0;
    if (length == 0)
        return g->positions;
    uint64_t key = bp_ngram_pack(text, length);
    int p = bp_ngram_partition_of(g, key);
    if (!bp_ngrams_part_counted(g, p)) /* log-probabilities now, or not counted yet */
        return 0;
    bp_ngram_slot *s = find_ngram(g, key, length);
    return s ? s->value.count : 0;
}

int bp_ngrams_add_missing_bytes(bp_ngrams *g, int partition, size_t *num_added)
{
    if (!g || !num_added || partition < 0 || partition >= g->num_partitions ||
        !bp_ngrams_part_counted(g, partition))
        return BP_ERR_INVALID;
    *num_added = 0;
    g->started = 1;
    for (int b = 0; b < 256; b++) {
        if (g->part_of_byte[b] != partition)
            continue;
        uint64_t h = bp_ngram_hash((uint64_t)b, 1);
        bp_ngram_table *t = &g->tables[1][partition];
        if (bp_ngram_table_find(t, (uint64_t)b, h)->value.count == 0) {
            int rc = bp_ngram_table_add(t, (uint64_t)b, h, 1, 1);
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
        !bp_ngrams_part_counted(g, partition) ||
        min_count < g->settled_min_count[partition])
        return BP_ERR_INVALID;
    size_t n = 0, room = 0;
    uint64_t *all = NULL;
    int rc = bp_reserve((void **)&all, &room, 1, sizeof *all, 64);
    if (rc != BP_OK)
        return rc;
    if (g->positions >= threshold) /* every partition's 1-grams divide by it */
        all[n++] = g->positions;
    for (int j = 1; j <= g->order; j++) {
        const bp_ngram_table *t = &g->tables[j][partition];
        for (size_t i = 0; i <= t->mask; i++) {
            uint64_t c = t->slots[i].value.count;
            if (c == 0 || c < threshold || (j > 1 && c < min_count))
                continue;
            if ((rc = bp_reserve((void **)&all, &room, n + 1, sizeof *all, 64)) != BP_OK) {
                free(all);
                return rc;
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

int bp_ngrams_count_histogram(const bp_ngrams *g, int partition, int length, uint64_t min_count, uint64_t cap,
                              uint64_t *values, uint64_t *num_ngrams, size_t capacity, size_t *num_values)
{
    if (!g || !num_values || min_count < 1 || cap < min_count || cap > BP_NGRAM_HISTOGRAM_MAX_CAP ||
        partition < 0 || partition >= g->num_partitions || length < 2 || length > g->order ||
        !bp_ngrams_part_counted(g, partition) ||
        min_count < g->settled_min_count[partition])
        return BP_ERR_INVALID;
    uint64_t *dense = calloc((size_t)cap + 1, sizeof *dense);
    if (!dense)
        return BP_ERR_NOMEM;
    const bp_ngram_table *t = &g->tables[length][partition];
    for (size_t i = 0; i <= t->mask; i++) {
        uint64_t c = t->slots[i].value.count;
        if (c != 0 && c >= min_count)
            dense[c < cap ? c : cap]++;
    }
    size_t n = 0;
    for (uint64_t c = min_count; c <= cap; c++)
        n += dense[c] != 0;
    if (values && num_ngrams && capacity >= n) {
        size_t k = 0;
        for (uint64_t c = min_count; c <= cap; c++) {
            if (dense[c]) {
                values[k] = c;
                num_ngrams[k++] = dense[c];
            }
        }
    }
    *num_values = n;
    free(dense);
    return BP_OK;
}

uint64_t bp_ngrams_finished_bytes_bound(int order, int num_partitions, uint64_t kept)
{
    if (order < 1 || order > BP_MAX_ORDER || num_partitions < 1 || num_partitions > BP_MAX_PARTITIONS)
        return 0;
    const uint64_t slot = sizeof(bp_ngram_slot);
    const uint64_t least = (uint64_t)order * (uint64_t)num_partitions * BP_NGRAM_INITIAL_CAPACITY * slot;
    if (kept > (UINT64_MAX - least) / (4 * slot))
        return UINT64_MAX;
    return least + 4 * slot * kept;
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

int bp_ngrams_finish_partition(bp_ngrams *g, int partition, uint64_t min_count)
{
    return bp_ngrams_finish_partition_logs(g, partition, min_count, NULL);
}

int bp_ngrams_finish_partition_logs(bp_ngrams *g, int partition, uint64_t min_count, const bp_log_table *logs)
{
    if (!g || min_count < 1 || partition < 0 || partition >= g->num_partitions ||
        !bp_ngrams_part_counted(g, partition) || min_count < g->settled_min_count[partition])
        return BP_ERR_INVALID;
    if (logs && ((logs->num_small && !logs->small) || (logs->num_large && (!logs->large_counts || !logs->large_logs))))
        return BP_ERR_INVALID;
    const double log_positions = table_log(logs, g->positions);
    const int p = partition;
    for (int j = 2; j <= g->order; j++) {
        int rc = bp_ngram_table_prune(&g->tables[j][p], min_count, j);
        if (rc != BP_OK)
            return rc;
    }
    /* Longest first, so that the prefixes (same first byte: same partition)
     * still hold counts when read. */
    for (int j = g->order; j >= 1; j--) {
        bp_ngram_table *t = &g->tables[j][p];
        for (size_t i = 0; i <= t->mask; i++) {
            bp_ngram_slot *s = &t->slots[i];
            if (s->value.count == 0) {
                /* From now on NaN marks a free slot: 0.0 is a valid lp. */
                s->value.logprob = NAN;
                continue;
            }
            double log_prefix = log_positions;
            if (j > 1) {
                uint64_t prefix = s->key & ((1ULL << (8 * (j - 1))) - 1);
                bp_ngram_slot *ps = bp_ngram_table_find(&g->tables[j - 1][p], prefix, bp_ngram_hash(prefix, j - 1));
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
        int rc = bp_ngrams_build_dense(g);
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
        if (g->buffer_limit && !g->part_settled[p] && !g->part_finished[p]) {
            int rc = bp_ngrams_settle(g, p, min_count);
            if (rc != BP_OK)
                return rc;
        }
    }
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

int bp_ngrams_order(const bp_ngrams *g) { return g->order; }

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
            bytes += (g->tables[j][p].mask + 1) * sizeof(bp_ngram_slot);
    for (int p = 0; p < g->num_partitions; p++)
        bytes += (g->buffers[p].full_capacity + g->buffers[p].tail_capacity) * sizeof(uint64_t);
    return bytes;
}

size_t bp_ngrams_growth_reserve(const bp_ngrams *g)
{
    size_t bytes = 0;
    if (!g || g->borrowed)
        return 0;
    for (int j = 1; j <= g->order; j++) {
        for (int p = 0; p < g->num_partitions; p++) {
            const bp_ngram_table *t = &g->tables[j][p];
            if (!g->part_finished[p] && t->size * 2 > t->mask + 1)
                bytes += 2 * (t->mask + 1) * sizeof(bp_ngram_slot);
        }
    }
    for (int p = 0; p < g->num_partitions; p++) {
        const bp_ngram_buffer *buf = &g->buffers[p];
        bytes += (buf->full_size + buf->tail_size) * sizeof(uint64_t); /* the sort's second copy */
        if (buf->full_size * 2 > buf->full_capacity)
            bytes += buf->full_capacity * sizeof(uint64_t);
        if (buf->tail_size * 2 > buf->tail_capacity)
            bytes += buf->tail_capacity * sizeof(uint64_t);
    }
    return bytes;
}
