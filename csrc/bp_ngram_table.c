/* bp_ngram_table.c: the n-gram hash tables (see bp_ngram_table.h). */
#include "bp_ngram_table.h"

#include <stdlib.h>

int bp_ngram_table_resize(bp_ngram_table *t, size_t capacity, int length)
{
    bp_ngram_table bigger;
    if (bp_ngram_table_init(&bigger, capacity) != BP_OK)
        return BP_ERR_NOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        const bp_ngram_slot *s = &t->slots[i];
        if (s->value.count == 0)
            continue;
        *bp_ngram_table_find(&bigger, s->key, bp_ngram_hash(s->key, length)) = *s;
        bigger.size++;
    }
    free(t->slots);
    *t = bigger;
    return BP_OK;
}

int bp_ngram_table_prune(bp_ngram_table *t, uint64_t min_count, int length)
{
    size_t kept = 0;
    for (size_t i = 0; i <= t->mask; i++)
        kept += t->slots[i].value.count >= min_count;
    size_t capacity = bp_ngram_pruned_capacity(kept);
    if (kept == t->size && capacity == t->mask + 1)
        return BP_OK; /* as it would be rebuilt: a settled table (bp_ngram_sort.c) */
    bp_ngram_table smaller;
    if (capacity == 0 || bp_ngram_table_init(&smaller, capacity) != BP_OK)
        return BP_ERR_NOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        const bp_ngram_slot *s = &t->slots[i];
        if (s->value.count == 0 || s->value.count < min_count)
            continue;
        *bp_ngram_table_find(&smaller, s->key, bp_ngram_hash(s->key, length)) = *s;
        smaller.size++;
    }
    free(t->slots);
    *t = smaller;
    return BP_OK;
}

bp_ngrams *bp_ngrams_alloc(int order, int num_partitions)
{
    bp_ngrams *g = calloc(1, sizeof *g);
    if (g) {
        g->order = order;
        g->num_partitions = num_partitions;
    }
    return g;
}

int bp_ngrams_build_dense(bp_ngrams *g)
{
    double *dense = malloc((BP_NGRAM_DENSE_1 + BP_NGRAM_DENSE_2) * sizeof *dense);
    if (!dense)
        return BP_ERR_NOMEM;
    for (size_t i = 0; i < BP_NGRAM_DENSE_1 + BP_NGRAM_DENSE_2; i++)
        dense[i] = -INFINITY;
    for (int j = 1; j <= 2 && j <= g->order; j++) {
        for (int p = 0; p < g->num_partitions; p++) {
            const bp_ngram_table *t = &g->tables[j][p];
            for (size_t i = 0; i <= t->mask; i++)
                if (!isnan(t->slots[i].value.logprob))
                    dense[(j == 2 ? BP_NGRAM_DENSE_1 : 0) + (t->slots[i].key & 0xFFFF)] = t->slots[i].value.logprob;
        }
    }
    g->dense_logprob = dense;
    return BP_OK;
}
