/* bp_ngram_shards.c: counts and finished tables as flat arrays (see
 * bp_ngram_shards.h). */
#include "bp_ngram_shards.h"
#include "bp_ngram_table.h"

#include <string.h>

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
    if (check_table_arguments(g, partition, length) != BP_OK || !bp_ngrams_part_counted(g, partition) ||
        (g->tables[length][partition].size && (!keys || !counts)))
        return BP_ERR_INVALID;
    const bp_ngram_table *t = &g->tables[length][partition];
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
        g->buffer_limit || (n && (!keys || !counts)))
        return BP_ERR_INVALID;
    const uint64_t unused = length == 8 ? 0 : ~((1ULL << (8 * length)) - 1);
    for (size_t i = 0; i < n; i++)
        if ((keys[i] & unused) != 0 || counts[i] == 0 || bp_ngram_partition_of(g, keys[i]) != partition)
            return BP_ERR_INVALID; /* checked first: a bad input leaves the counts as they were */
    g->started = 1;
    bp_ngram_table *t = &g->tables[length][partition];
    for (size_t i = 0; i < n; i++) {
        int rc = bp_ngram_table_add(t, keys[i], bp_ngram_hash(keys[i], length), counts[i], length);
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
    const bp_ngram_table *t = &g->tables[length][partition];
    memcpy(out, t->slots, (t->mask + 1) * sizeof(bp_ngram_slot));
    return BP_OK;
}
