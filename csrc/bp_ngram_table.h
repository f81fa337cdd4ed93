/*
 * bp_ngram_table.h: the tables that hold the n-grams of a bp_ngrams, and the
 * layout of bp_ngrams itself. Internal to the n-gram files (bp_ngram.c,
 * bp_ngram_shards.c, bp_ngram_view.c) and their tests: the bindings use
 * bp_ngram.h, bp_ngram_shards.h and bp_ngram_view.h only.
 *
 * An n-gram of length j <= BP_MAX_ORDER is packed into a uint64 key (byte t
 * at bits 8t, the rest zero: bp_ngram_pack) and kept in an open-addressing
 * hash table with linear probing, one per (length, partition). A slot holds
 * the key and, while counting, its count (0 marks a free slot); once the
 * partition is finished, its log-probability (NaN marks a free slot, as 0.0
 * is a valid log-probability). Slots are 16 bytes, and finished tables are
 * exported and viewed as raw slot arrays (bp_ngram_shards.h, bp_ngram_view.h),
 * so this layout is part of the distributed form.
 *
 * Load: while counting at most 3/4 (bp_ngram_table_add grows it by doubling).
 * These tables are the trainer's peak memory, and a probe's neighbours
 * share its cache line (4 slots), so fuller tables cost little time (dev
 * corpus, order 6: peak 318 -> 259 MB, time unchanged). A finished table is
 * rebuilt at most half full (bp_ngram_table_prune): the second pass looks
 * up n-grams that are mostly absent, and a miss probes to the next free slot.
 *
 * The inline functions here are the inner loops of counting and lookups;
 * none checks its arguments (the public functions do).
 */
#ifndef BP_NGRAM_TABLE_H
#define BP_NGRAM_TABLE_H

#include "bp_ngram.h"
#include "bp_rng.h"

#include <math.h>
#include <stdatomic.h>

/* While counting, value.count (0 marks a free slot); after finish,
 * value.logprob (NaN marks a free slot). 16 bytes. */
typedef struct {
    uint64_t key;
    union {
        uint64_t count;
        double logprob;
    } value;
} bp_ngram_slot;

/* One table: capacity (mask + 1, a power of two) slots, `size` of them used. */
typedef struct {
    bp_ngram_slot *slots;
    size_t mask;
    size_t size;
} bp_ngram_table;

/* The positions of one partition that a buffered counter (bp_ngrams_buffer)
 * holds until it counts them by sorting: `full` the windows of `order`
 * bytes, `tail` the shorter ones at the ends of chunks (bp_ngram_sort.c has
 * their encoding). */
typedef struct {
    uint64_t *full;
    size_t full_size, full_capacity;
    uint64_t *tail;
    size_t tail_size, tail_capacity;
} bp_ngram_buffer;

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
    bp_ngram_table tables[BP_MAX_ORDER + 1][BP_MAX_PARTITIONS]; /* [length][partition] */
    /* Once finished: the log-probability of every 1-gram (at its byte) and
     * 2-gram (at BP_NGRAM_DENSE_1 + its packed key), -INFINITY where pruned;
     * the emissions read these instead of hashing (bp_ngrams_build_dense). */
    double *dense_logprob;
    /* Buffered counting (bp_ngrams_buffer): the most positions a partition
     * buffers before adding them to its tables (0: counting goes straight to
     * the tables), each partition's buffer, whether a full buffer went to the
     * tables (which then hold partial counts), whether the partition was
     * settled and with which min_count, the n-grams settling did not keep
     * (counted fewer than that min_count times), and the largest bytes the
     * buffers held at once, per partition. */
    size_t buffer_limit;
    bp_ngram_buffer buffers[BP_MAX_PARTITIONS];
    uint8_t part_flushed[BP_MAX_PARTITIONS];
    uint8_t part_settled[BP_MAX_PARTITIONS];
    uint64_t settled_min_count[BP_MAX_PARTITIONS];
    size_t dropped[BP_MAX_ORDER + 1][BP_MAX_PARTITIONS];
    size_t buffer_peak[BP_MAX_PARTITIONS];
};

/* 1 when the tables of `partition` hold its counts: it is not finished
 * (its slots would hold log-probabilities), and it is not buffered or was
 * settled (bp_ngrams_settle). */
static inline int bp_ngrams_part_counted(const bp_ngrams *g, int partition)
{
    return !g->part_finished[partition] && (g->buffer_limit == 0 || g->part_settled[partition]);
}

/* Buffered counting of the positions of `partition` in the chunks (bp_ngram_sort.c;
 * the arguments checked by bp_ngrams_count). Errors: BP_ERR_NOMEM. */
int bp_ngrams_buffer_count(bp_ngrams *g, int partition, const uint8_t *data, const int64_t *offsets,
                           size_t num_chunks);

/* Frees the buffers of every partition (bp_ngrams_free). */
void bp_ngrams_free_buffers(bp_ngrams *g);

/* Capacity of a new table, and the least one after pruning. */
#define BP_NGRAM_INITIAL_CAPACITY 1024

/* Entries of the dense 1- and 2-gram arrays: of the counts in
 * bp_ngrams_count, of the log-probabilities once finished. */
#define BP_NGRAM_DENSE_1 256u
#define BP_NGRAM_DENSE_2 65536u

/* Positions whose lookups are in flight (hashed and prefetched, not yet used)
 * in the loops of bp_ngrams_count and bp_ngrams_emissions. */
#define BP_NGRAM_PIPELINE 8

/* Makes *t an empty table of `capacity` slots (a power of two), allocated
 * with bp_table_alloc (caller frees t->slots). Errors: BP_ERR_NOMEM.
 * Inline: the tables that resizing and pruning fill then stay in registers
 * (a slot's key, a uint64_t, could alias the mask of a table whose address
 * had escaped). */
static inline int bp_ngram_table_init(bp_ngram_table *t, size_t capacity)
{
    if (capacity > SIZE_MAX / sizeof(bp_ngram_slot))
        return BP_ERR_NOMEM;
    t->slots = bp_table_alloc(capacity * sizeof(bp_ngram_slot));
    if (!t->slots)
        return BP_ERR_NOMEM;
    t->mask = capacity - 1;
    t->size = 0;
    return BP_OK;
}

static inline uint64_t bp_ngram_hash(uint64_t key, int length)
{
    return bp_mix64(key + BP_GOLDEN_GAMMA * (uint64_t)length);
}

/* Packs text[0 .. length) little-endian (byte t at bits 8t); reads only those bytes. */
static inline uint64_t bp_ngram_pack(const uint8_t *text, int length)
{
    uint64_t key = 0;
    for (int t = 0; t < length; t++)
        key |= (uint64_t)text[t] << (8 * t);
    return key;
}

/* The partition of a packed key: that of its first byte (the low byte). */
static inline int bp_ngram_partition_of(const bp_ngrams *g, uint64_t key)
{
    return g->part_of_byte[key & 0xFF];
}

/* Prefetches the slot where a probe for hash h starts (for writing). */
static inline void bp_ngram_prefetch(const bp_ngram_table *t, uint64_t h)
{
#if defined(__GNUC__)
    __builtin_prefetch(&t->slots[(size_t)h & t->mask], 1, 1);
#else
    (void)t;
    (void)h;
#endif
}

/* While counting: the slot of `key` (hash h), or the free slot where it
 * would go. Expected O(1). */
static inline bp_ngram_slot *bp_ngram_table_find(const bp_ngram_table *t, uint64_t key, uint64_t h)
{
    size_t i = (size_t)h & t->mask;
    for (;;) {
        bp_ngram_slot *s = &t->slots[i];
        if (s->value.count == 0 || s->key == key)
            return s;
        i = (i + 1) & t->mask;
    }
}

/* Resizes the table to `capacity` slots (a power of two > its size), every
 * n-gram of `length` rehashed. Errors: BP_ERR_NOMEM (the table is then as it
 * was). O(old + new capacity). */
int bp_ngram_table_resize(bp_ngram_table *t, size_t capacity, int length);

/* While counting: adds `count` (>= 1) to the n-gram `key` (hash h) of
 * `length`, inserting it if new, and doubles the table past 3/4 full.
 * Errors: BP_ERR_NOMEM (the count was added; the table did not grow).
 * Expected amortized O(1). */
static inline int bp_ngram_table_add(bp_ngram_table *t, uint64_t key, uint64_t h, uint64_t count, int length)
{
    bp_ngram_slot *s = bp_ngram_table_find(t, key, h);
    if (s->value.count != 0) {
        s->value.count += count;
        return BP_OK;
    }
    s->key = key;
    s->value.count = count;
    if (++t->size * 4 > (t->mask + 1) * 3)
        return bp_ngram_table_resize(t, (t->mask + 1) * 2, length);
    return BP_OK;
}

/* Once finished: the log-probability of `key` (hash h), or -INFINITY if
 * absent. Expected O(1); only reads, so safe on shared tables. */
static inline double bp_ngram_table_logprob(const bp_ngram_table *t, uint64_t key, uint64_t h)
{
    size_t i = (size_t)h & t->mask;
    for (;;) {
        const bp_ngram_slot *s = &t->slots[i];
        if (isnan(s->value.logprob)) /* a free slot */
            return -INFINITY;
        if (s->key == key)
            return s->value.logprob;
        i = (i + 1) & t->mask;
    }
}

/* The capacity of a table rebuilt to hold `kept` n-grams at most half full
 * (at least BP_NGRAM_INITIAL_CAPACITY slots): what bp_ngram_table_prune
 * makes, so what bp_ngrams_finished_bytes_bound bounds. 0 on overflow. */
static inline size_t bp_ngram_pruned_capacity(size_t kept)
{
    if (kept > (SIZE_MAX - 2) / 2)
        return 0;
    return bp_grow_capacity(0, kept * 2 + 2, BP_NGRAM_INITIAL_CAPACITY);
}

/* While counting: drops the n-grams with a count below min_count by
 * rebuilding the table to bp_ngram_pruned_capacity of what it keeps (a
 * table that keeps every n-gram and has that capacity already, as settling
 * makes them, stays as it is). Errors: BP_ERR_NOMEM (the table is then as
 * it was). O(capacity). */
int bp_ngram_table_prune(bp_ngram_table *t, uint64_t min_count, int length);

/* A zeroed bp_ngrams of `order` and `num_partitions` (checked by the
 * caller) without tables, or NULL when out of memory; freed by
 * bp_ngrams_free. */
bp_ngrams *bp_ngrams_alloc(int order, int num_partitions);

/* Fills g->dense_logprob from the finished 1- and 2-gram tables of every
 * partition (once, when the last partition is finished or a view is made).
 * Errors: BP_ERR_NOMEM. O(capacity of those tables). */
int bp_ngrams_build_dense(bp_ngrams *g);

#endif
