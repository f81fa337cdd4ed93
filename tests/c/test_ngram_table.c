/* Unit tests of bp_ngram_table.h (internal to the n-gram files): packing,
 * the hash table's add, find, growth, pruning and finished lookups, and the
 * dense 1- and 2-gram arrays of a finished model. */
#include "bp_ngram_table.h"
#include "bp_ngram_view.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

#define U8(lit) ((const uint8_t *)(lit))

/* This file's random stream (bp_test_random). */
static uint64_t rng = 0x6A09E667F3BCC909ULL;

static void test_keys_pack_little_endian_and_hash_by_length(void)
{
    CHECK(bp_ngram_pack(U8("ab"), 2) == ('a' | (uint64_t)'b' << 8));
    CHECK(bp_ngram_pack(U8("abc"), 2) == bp_ngram_pack(U8("abz"), 2)); /* reads only `length` bytes */
    CHECK(bp_ngram_pack(U8("\xff\xff\xff\xff\xff\xff\xff\xff"), 8) == UINT64_MAX);
    CHECK(bp_ngram_pack(U8(""), 0) == 0);
    /* "a" and "a\0" pack alike: the length keeps them apart in the hash. */
    CHECK(bp_ngram_pack(U8("a\0"), 2) == bp_ngram_pack(U8("a"), 1));
    CHECK(bp_ngram_hash('a', 1) != bp_ngram_hash('a', 2));
    CHECK(bp_ngram_hash(12345, 3) == bp_ngram_hash(12345, 3));
}

/* Adds accumulate; every key stays findable across many doublings; the
 * table is never more than 3/4 full and always a power of two. */
static void test_add_find_and_growth(void)
{
    enum { KEYS = 20000 };
    bp_ngram_table t;
    CHECK_EQ(bp_ngram_table_init(&t, BP_NGRAM_INITIAL_CAPACITY), BP_OK);
    CHECK_EQ(t.mask + 1, BP_NGRAM_INITIAL_CAPACITY);
    CHECK_EQ(t.size, 0);
    uint64_t *keys = malloc(KEYS * sizeof *keys);
    int overfull = 0, failed = 0;
    for (size_t k = 0; k < KEYS; k++) {
        keys[k] = bp_test_random(&rng) & 0xFFFFFFFFFFFFULL; /* 6-byte keys */
        failed += bp_ngram_table_add(&t, keys[k], bp_ngram_hash(keys[k], 6), k + 1, 6) != BP_OK;
        overfull += t.size * 4 > (t.mask + 1) * 3 || ((t.mask + 1) & t.mask) != 0;
    }
    CHECK_EQ(failed, 0);
    CHECK_EQ(overfull, 0);
    CHECK_EQ(t.size, KEYS); /* random 48-bit keys: distinct */
    CHECK(t.mask + 1 >= KEYS * 4 / 3);
    /* Adding again accumulates, and adds no entry. */
    CHECK_EQ(bp_ngram_table_add(&t, keys[7], bp_ngram_hash(keys[7], 6), 100, 6), BP_OK);
    CHECK_EQ(t.size, KEYS);
    int wrong = 0;
    for (size_t k = 0; k < KEYS; k++) {
        const bp_ngram_slot *s = bp_ngram_table_find(&t, keys[k], bp_ngram_hash(keys[k], 6));
        wrong += s->key != keys[k] || s->value.count != k + 1 + (k == 7 ? 100 : 0);
    }
    CHECK_EQ(wrong, 0);
    /* An absent key finds a free slot. */
    const uint64_t absent = 1ULL << 60;
    CHECK_EQ(bp_ngram_table_find(&t, absent, bp_ngram_hash(absent, 6))->value.count, 0);
    free(keys);
    free(t.slots);
}

/* Pruning keeps exactly the counts >= min_count, at most half full. */
static void test_prune_keeps_counts_at_least_min_count(void)
{
    bp_ngram_table t;
    CHECK_EQ(bp_ngram_table_init(&t, BP_NGRAM_INITIAL_CAPACITY), BP_OK);
    int failed = 0;
    for (uint64_t key = 1; key <= 3000; key++) /* counts 1 .. 9; key % 10 == 0 is never added */
        if (key % 10)
            failed += bp_ngram_table_add(&t, key, bp_ngram_hash(key, 2), key % 10, 2) != BP_OK;
    CHECK_EQ(failed, 0);
    CHECK_EQ(bp_ngram_table_prune(&t, 5, 2), BP_OK);
    size_t kept = 0;
    int wrong = 0;
    for (uint64_t key = 1; key <= 3000; key++) {
        const bp_ngram_slot *s = bp_ngram_table_find(&t, key, bp_ngram_hash(key, 2));
        const int want = key % 10 >= 5;
        kept += want;
        wrong += want ? s->key != key || s->value.count != key % 10 : s->value.count != 0;
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(t.size, kept);
    CHECK(t.size * 2 + 2 <= t.mask + 1);
    CHECK(((t.mask + 1) & t.mask) == 0);
    /* Nothing kept: the least capacity. */
    CHECK_EQ(bp_ngram_table_prune(&t, 100, 2), BP_OK);
    CHECK_EQ(t.size, 0);
    CHECK_EQ(t.mask + 1, BP_NGRAM_INITIAL_CAPACITY);
    free(t.slots);
}

/* A finished table: NaN marks a free slot, 0.0 is a value. */
static void test_finished_lookups(void)
{
    bp_ngram_table t;
    CHECK_EQ(bp_ngram_table_init(&t, 16), BP_OK);
    const uint64_t keys[] = {'a', 'b', 'c'};
    for (int k = 0; k < 3; k++)
        CHECK_EQ(bp_ngram_table_add(&t, keys[k], bp_ngram_hash(keys[k], 1), 1, 1), BP_OK);
    for (size_t i = 0; i <= t.mask; i++) { /* as finishing does */
        bp_ngram_slot *s = &t.slots[i];
        s->value.logprob = s->value.count == 0 ? NAN : s->key == 'a' ? 0.0 : -(double)s->key;
    }
    CHECK(bp_ngram_table_logprob(&t, 'a', bp_ngram_hash('a', 1)) == 0.0);
    CHECK(bp_ngram_table_logprob(&t, 'c', bp_ngram_hash('c', 1)) == -(double)'c');
    CHECK(bp_ngram_table_logprob(&t, 'z', bp_ngram_hash('z', 1)) == -INFINITY);
    free(t.slots);
}

/* A finished model's dense arrays hold every 1- and 2-gram's
 * log-probability, -inf where pruned or never seen. */
static void test_dense_arrays_match_the_tables(void)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(3, 2, &g), BP_OK);
    if (!g)
        return;
    CHECK(g->dense_logprob == NULL);
    const char text[] = "abracadabra\nabba";
    const int64_t offsets[] = {0, 12, 16};
    for (int p = 0; p < 2; p++)
        CHECK_EQ(bp_ngrams_count(g, p, U8(text), offsets, 2), BP_OK);
    CHECK_EQ(bp_ngrams_finish(g, 2), BP_OK);
    CHECK(g->finished && g->dense_logprob != NULL);
    int wrong = 0, finite = 0;
    for (int a = 0; a < 256; a++) {
        const uint8_t one = (uint8_t)a;
        wrong += g->dense_logprob[a] != bp_ngrams_logprob(g, &one, 1);
        for (int b = 0; b < 256; b++) {
            const uint8_t two[2] = {(uint8_t)a, (uint8_t)b};
            const double lp = g->dense_logprob[BP_NGRAM_DENSE_1 + (unsigned)(a | b << 8)];
            wrong += lp != bp_ngrams_logprob(g, two, 2);
            finite += lp != -INFINITY;
        }
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(finite, 3); /* the 2-grams seen at least twice: ab (3), br, ra */
    bp_ngrams_free(g);

    /* bp_ngrams_alloc: a zeroed model without tables, freed alike. */
    g = bp_ngrams_alloc(2, 3);
    CHECK(g != NULL);
    if (g) {
        CHECK(g->order == 2 && g->num_partitions == 3 && !g->finished && g->tables[1][0].slots == NULL);
        bp_ngrams_free(g);
    }
}

int main(void)
{
    RUN(test_keys_pack_little_endian_and_hash_by_length);
    RUN(test_add_find_and_growth);
    RUN(test_prune_keeps_counts_at_least_min_count);
    RUN(test_finished_lookups);
    RUN(test_dense_arrays_match_the_tables);
    return bp_test_report("ngram_table");
}
