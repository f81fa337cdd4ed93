/* bp_ngram_view.c: reading a finished n-gram model (see bp_ngram_view.h). */
#include "bp_ngram_view.h"
#include "bp_ngram_table.h"

#include <math.h>
#include <string.h>

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
        const bp_ngram_slot *slots = tables[k];
        size_t free_slots = 0;
        for (size_t i = 0; i < capacity; i++)
            free_slots += isnan(slots[i].value.logprob);
        if (free_slots == 0)
            return BP_ERR_INVALID;
    }
    bp_ngrams *g = bp_ngrams_alloc(order, num_partitions);
    if (!g)
        return BP_ERR_NOMEM;
    g->finished = g->borrowed = g->started = 1;
    memcpy(g->part_of_byte, part_of_byte, 256);
    for (int j = 1; j <= order; j++) {
        for (int p = 0; p < num_partitions; p++) {
            size_t k = (size_t)(j - 1) * (size_t)num_partitions + (size_t)p;
            bp_ngram_table *t = &g->tables[j][p];
            t->slots = (bp_ngram_slot *)tables[k]; /* only read: a view is finished */
            t->mask = capacities[k] - 1;
            for (size_t i = 0; i < capacities[k]; i++)
                t->size += !isnan(t->slots[i].value.logprob);
        }
        for (int p = 0; p < num_partitions; p++)
            g->part_finished[p] = 1;
    }
    if (bp_ngrams_build_dense(g) != BP_OK) {
        bp_ngrams_free(g);
        return BP_ERR_NOMEM;
    }
    *out = g;
    return BP_OK;
}

double bp_ngrams_logprob(const bp_ngrams *g, const uint8_t *text, int length)
{
    if (!g || !g->finished || length < 1 || length > g->order)
        return -INFINITY;
    uint64_t key = bp_ngram_pack(text, length);
    return bp_ngram_table_logprob(&g->tables[length][bp_ngram_partition_of(g, key)], key, bp_ngram_hash(key, length));
}

int bp_ngrams_emissions(const bp_ngrams *g, const uint8_t *text, size_t n, double *out)
{
    if (!g || !g->finished || (n && (!text || !out)))
        return BP_ERR_INVALID;
    const int K = g->order;
    const double *dense1 = g->dense_logprob, *dense2 = g->dense_logprob + BP_NGRAM_DENSE_1;
    /* keys[i % PIPELINE][j]: the n-gram text[i-j .. i], hashed and prefetched
     * PIPELINE positions before it is probed (j >= 2: shorter ones are dense). */
    enum { PIPELINE = BP_NGRAM_PIPELINE };
    uint64_t keys[PIPELINE][BP_MAX_ORDER], hashes[PIPELINE][BP_MAX_ORDER];
    const bp_ngram_table *tables[PIPELINE][BP_MAX_ORDER];
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
                         : bp_ngram_table_logprob(tables[r][j], keys[r][j], hashes[r][j]);
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
                hashes[r][j] = bp_ngram_hash(key, j + 1);
                tables[r][j] = &g->tables[j + 1][bp_ngram_partition_of(g, key)];
                bp_ngram_prefetch(tables[r][j], hashes[r][j]);
            }
        }
    }
    return BP_OK;
}
