/*
 * Unit tests of the distributed form of the trainer's counters (the
 * "Distributed form" of bp_ngram.h, and bp_piece_counts_add_packed /
 * bp_piece_counts_partitions of bp_pieces.h): shards counted apart, merged
 * partition by partition and finished there must give exactly the model of
 * one counter over the whole corpus; exported tables read through a view
 * must answer the same; bad merges are refused.
 */
#include "bp_ngram.h"
#include "bp_pieces.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

#define U8(lit) ((const uint8_t *)(lit))
#define SENTINEL ((bp_ngrams *)(uintptr_t)0x1)
enum { ORDER = 3, PARTS = 3, LEN = 900 };
static const char ALPHABET[] = "abcdef\nz"; /* 'z' never occurs in the corpus */

static char corpus[LEN];
static int64_t offsets[LEN + 2];
static size_t num_chunks;

static uint64_t rng_state = 0x853C49E6748FEA9BULL;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void make_corpus(void)
{
    for (int i = 0; i < LEN; i++)
        corpus[i] = ALPHABET[next_random() % 7];
    offsets[0] = 0;
    num_chunks = 0;
    for (int i = 0; i < LEN; i++)
        if (corpus[i] == '\n')
            offsets[++num_chunks] = i + 1;
    if (offsets[num_chunks] != LEN)
        offsets[++num_chunks] = LEN;
}

/* A counter of chunks [first, last) of the corpus, every partition counted. */
static bp_ngrams *count_chunks(size_t first, size_t last)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(ORDER, PARTS, &g), BP_OK);
    for (int p = 0; g && p < PARTS; p++)
        CHECK_EQ(bp_ngrams_count(g, p, U8(corpus), offsets + first, last - first), BP_OK);
    return g;
}

/* Number of n-grams over ALPHABET (lengths 1..ORDER) whose lp differ in a and b. */
static int logprobs_differ(const bp_ngrams *a, const bp_ngrams *b)
{
    int differ = 0;
    for (int len = 1; len <= ORDER; len++) {
        int total = 1;
        for (int t = 0; t < len; t++)
            total *= 8;
        for (int code = 0; code < total; code++) {
            uint8_t k[ORDER];
            for (int t = 0, c = code; t < len; t++, c /= 8)
                k[t] = (uint8_t)ALPHABET[c % 8];
            differ += bp_ngrams_logprob(a, k, len) != bp_ngrams_logprob(b, k, len);
        }
    }
    /* And the emissions of a text (bytes never seen included). */
    const char text[] = "abzcab\nfedcbaa";
    const size_t n = sizeof text - 1;
    double ea[(sizeof text - 1) * ORDER], eb[(sizeof text - 1) * ORDER];
    differ += bp_ngrams_emissions(a, U8(text), n, ea) != BP_OK;
    differ += bp_ngrams_emissions(b, U8(text), n, eb) != BP_OK;
    for (size_t i = 0; i < n * ORDER; i++)
        differ += ea[i] != eb[i];
    return differ;
}

/* Adds every count of `shard` into `into`, partition by partition. */
static int merge_counts(bp_ngrams *into, const bp_ngrams *shard)
{
    int rc = bp_ngrams_add_positions(into, bp_ngrams_positions(shard));
    for (int p = 0; p < PARTS && rc == BP_OK; p++) {
        for (int j = 1; j <= ORDER && rc == BP_OK; j++) {
            size_t n = bp_ngrams_partition_size(shard, p, j);
            uint64_t *keys = malloc((n ? n : 1) * sizeof *keys), *counts = malloc((n ? n : 1) * sizeof *counts);
            rc = bp_ngrams_export_counts(shard, p, j, keys, counts);
            if (rc == BP_OK)
                rc = bp_ngrams_add_counts(into, p, j, keys, counts, n);
            free(keys);
            free(counts);
        }
    }
    return rc;
}

static void test_merged_shards_give_the_model_of_the_whole(void)
{
    const uint64_t min_count = 2;
    bp_ngrams *whole = count_chunks(0, num_chunks);
    bp_ngrams *first = count_chunks(0, num_chunks / 3);
    bp_ngrams *second = count_chunks(num_chunks / 3, num_chunks);
    bp_ngrams *reducer = NULL;
    CHECK_EQ(bp_ngrams_new(ORDER, PARTS, &reducer), BP_OK);
    if (whole && first && second && reducer) {
        CHECK_EQ(bp_ngrams_positions(whole), LEN);
        CHECK_EQ(bp_ngrams_positions(first) + bp_ngrams_positions(second), LEN);
        CHECK_EQ(merge_counts(reducer, second), BP_OK); /* any order */
        CHECK_EQ(merge_counts(reducer, first), BP_OK);
        CHECK_EQ(bp_ngrams_positions(reducer), LEN);
        for (int j = 1; j <= ORDER; j++)
            CHECK_EQ(bp_ngrams_size(reducer, j), bp_ngrams_size(whole, j));
        CHECK_EQ(bp_ngrams_get_count(reducer, U8("ab"), 2), bp_ngrams_get_count(whole, U8("ab"), 2));
        /* Finish: missing bytes of every partition first (they add positions), then each partition. */
        size_t added_total = 0;
        for (int p = 0; p < PARTS; p++) {
            size_t added = 99;
            CHECK_EQ(bp_ngrams_add_missing_bytes(reducer, p, &added), BP_OK);
            added_total += added;
        }
        CHECK_EQ(added_total, 256 - 7); /* the corpus has 7 distinct bytes */
        CHECK_EQ(bp_ngrams_positions(reducer), LEN + 256 - 7);
        double lp[1];
        CHECK_EQ(bp_ngrams_emissions(reducer, U8("a"), 1, lp), BP_ERR_INVALID); /* not finished yet */
        for (int p = PARTS - 1; p >= 0; p--)
            CHECK_EQ(bp_ngrams_finish_partition(reducer, p, min_count), BP_OK);
        CHECK_EQ(bp_ngrams_finish(whole, min_count), BP_OK);
        CHECK_EQ(logprobs_differ(whole, reducer), 0);
        CHECK(bp_ngrams_logprob(reducer, U8("z"), 1) == -log((double)(LEN + 256 - 7)));
        CHECK_EQ(bp_ngrams_finish_partition(reducer, 0, min_count), BP_ERR_INVALID); /* twice */
        CHECK_EQ(bp_ngrams_finish(reducer, min_count), BP_ERR_INVALID);
        size_t added;
        CHECK_EQ(bp_ngrams_add_missing_bytes(reducer, 0, &added), BP_ERR_INVALID);
        CHECK_EQ(bp_ngrams_add_positions(reducer, 1), BP_ERR_INVALID);
    }
    bp_ngrams_free(whole);
    bp_ngrams_free(first);
    bp_ngrams_free(second);
    bp_ngrams_free(reducer);
}

static void test_view_of_exported_tables(void)
{
    bp_ngrams *model = count_chunks(0, num_chunks);
    if (!model)
        return;
    void *tables[ORDER * PARTS] = {0};
    size_t capacities[ORDER * PARTS];
    CHECK_EQ(bp_ngrams_table_capacity(model, 0, 1), 0); /* not finished */
    CHECK_EQ(bp_ngrams_export_table(model, 0, 1, capacities), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish(model, 2), BP_OK);
    int exported = 1;
    for (int j = 1; j <= ORDER; j++) {
        for (int p = 0; p < PARTS; p++) {
            size_t k = (size_t)(j - 1) * PARTS + (size_t)p, cap = bp_ngrams_table_capacity(model, p, j);
            capacities[k] = cap;
            exported &= cap > 0 && (cap & (cap - 1)) == 0;
            tables[k] = malloc(cap * 16);
            exported &= bp_ngrams_export_table(model, p, j, tables[k]) == BP_OK;
        }
    }
    CHECK(exported);
    uint8_t map[256];
    bp_ngrams_partition_map(model, map);
    bp_ngrams *view = SENTINEL;
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, map, (const void *const *)tables, capacities, &view), BP_OK);
    if (view && view != SENTINEL) {
        CHECK_EQ(logprobs_differ(model, view), 0);
        CHECK_EQ(bp_ngrams_order(view), ORDER);
        for (int j = 1; j <= ORDER; j++)
            CHECK_EQ(bp_ngrams_size(view, j), bp_ngrams_size(model, j));
        const int64_t one[] = {0, 1};
        CHECK_EQ(bp_ngrams_count(view, 0, U8("a"), one, 1), BP_ERR_INVALID); /* read-only */
        CHECK_EQ(bp_ngrams_add_positions(view, 1), BP_ERR_INVALID);
        bp_ngrams_free(view); /* must not free the caller's tables (ASan would see a double free) */
    }
    /* Two views of the same tables at once. */
    bp_ngrams *v1 = NULL, *v2 = NULL;
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, map, (const void *const *)tables, capacities, &v1), BP_OK);
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, map, (const void *const *)tables, capacities, &v2), BP_OK);
    if (v1 && v2)
        CHECK_EQ(logprobs_differ(v1, v2), 0);
    bp_ngrams_free(v1);
    bp_ngrams_free(v2);

    /* Refused views; *out is NULL. */
    view = SENTINEL;
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, map, (const void *const *)tables, capacities, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_view(0, PARTS, map, (const void *const *)tables, capacities, &view), BP_ERR_INVALID);
    CHECK(view == NULL);
    view = SENTINEL;
    CHECK_EQ(bp_ngrams_view(ORDER, 0, map, (const void *const *)tables, capacities, &view), BP_ERR_INVALID);
    CHECK(view == NULL);
    uint8_t bad_map[256];
    memcpy(bad_map, map, 256);
    bad_map[200] = PARTS; /* a partition that does not exist */
    view = SENTINEL;
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, bad_map, (const void *const *)tables, capacities, &view), BP_ERR_INVALID);
    CHECK(view == NULL);
    size_t saved = capacities[0];
    capacities[0] = saved - 1 ? saved - 1 : 3; /* not a power of two */
    view = SENTINEL;
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, map, (const void *const *)tables, capacities, &view), BP_ERR_INVALID);
    CHECK(view == NULL);
    capacities[0] = saved;
    /* A table with no free slot (lookups would never end): a copy with every slot filled. */
    double *full = malloc(saved * 16);
    for (size_t i = 0; i < 2 * saved; i++)
        full[i] = 0.0;
    void *kept = tables[0];
    tables[0] = full;
    view = SENTINEL;
    CHECK_EQ(bp_ngrams_view(ORDER, PARTS, map, (const void *const *)tables, capacities, &view), BP_ERR_INVALID);
    CHECK(view == NULL);
    tables[0] = kept;
    free(full);
    for (int k = 0; k < ORDER * PARTS; k++)
        free(tables[k]);
    bp_ngrams_free(model);
}

static void test_bad_merges_are_refused_before_anything_is_added(void)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(2, 2, &g), BP_OK);
    if (!g)
        return;
    uint8_t map[256];
    bp_ngrams_partition_map(g, map);
    const int pa = map['a'];
    const uint64_t a = 'a', ab = 'a' | ('b' << 8);
    const uint64_t one = 1, two = 2, zero = 0;
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 1, &a, &two, 1), BP_OK);
    CHECK_EQ(bp_ngrams_get_count(g, U8("a"), 1), 2);
    /* A batch whose last entry is bad: nothing of it is added. */
    const uint64_t keys[] = {a, 'a' | (1ULL << 8)}; /* a length-1 key using 2 bytes */
    const uint64_t counts[] = {5, 1};
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 1, keys, counts, 2), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_get_count(g, U8("a"), 1), 2);
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 1, &a, &zero, 1), BP_ERR_INVALID);  /* count 0 */
    CHECK_EQ(bp_ngrams_add_counts(g, 1 - pa, 1, &a, &one, 1), BP_ERR_INVALID); /* wrong partition */
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 3, &a, &one, 1), BP_ERR_INVALID);   /* length > order */
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 0, &a, &one, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_counts(g, 2, 1, &a, &one, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 1, NULL, &one, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 1, &a, NULL, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_counts(NULL, pa, 1, &a, &one, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 1, NULL, NULL, 0), BP_OK);
    CHECK_EQ(bp_ngrams_get_count(g, U8("a"), 1), 2);
    /* Export errors. */
    uint64_t k1[4], c1[4];
    CHECK_EQ(bp_ngrams_export_counts(g, 2, 1, k1, c1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_export_counts(g, pa, 3, k1, c1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_export_counts(g, pa, 1, NULL, c1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_export_counts(g, pa, 1, k1, c1), BP_OK);
    CHECK(k1[0] == a && c1[0] == 2);
    CHECK_EQ(bp_ngrams_partition_size(g, pa, 1), 1);
    CHECK_EQ(bp_ngrams_partition_size(g, 2, 1), 0);
    /* The partition map is fixed once merging has begun. */
    uint8_t zeros[256] = {0};
    CHECK_EQ(bp_ngrams_assign(g, zeros), BP_ERR_INVALID);
    /* A 2-gram merged without its 1-gram prefix: finishing that partition is refused. */
    CHECK_EQ(bp_ngrams_add_counts(g, pa, 2, &ab, &one, 1), BP_OK);
    const uint64_t orphan = 'c' | ('d' << 8);
    const int pc = map['c'];
    CHECK_EQ(bp_ngrams_add_counts(g, pc, 2, &orphan, &one, 1), BP_OK);
    CHECK_EQ(bp_ngrams_add_positions(g, 3), BP_OK);
    CHECK_EQ(bp_ngrams_add_positions(g, UINT64_MAX), BP_ERR_INVALID); /* overflow */
    CHECK_EQ(bp_ngrams_positions(g), 3);
    CHECK_EQ(bp_ngrams_finish_partition(g, pc, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish_partition(g, pa, 0), BP_ERR_INVALID); /* min_count >= 1 */
    CHECK_EQ(bp_ngrams_finish_partition(g, 2, 1), BP_ERR_INVALID);
    size_t added;
    CHECK_EQ(bp_ngrams_add_missing_bytes(g, 2, &added), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_missing_bytes(g, pa, NULL), BP_ERR_INVALID);
    bp_ngrams_free(g);
}

static void test_partition_maps(void)
{
    /* Heaviest first, each to the least loaded partition, ties to the lowest:
     * 'a' (10) -> 0, 'b' (5) -> 1, 'c' (5) -> 1, then the empty bytes all
     * tie at load 10 and go to 0. */
    uint64_t byte_counts[256] = {0};
    byte_counts['a'] = 10;
    byte_counts['b'] = 5;
    byte_counts['c'] = 5;
    uint8_t map[256], again[256];
    CHECK_EQ(bp_balance_partitions(byte_counts, 2, map), BP_OK);
    int wrong = 0;
    for (int b = 0; b < 256; b++)
        wrong += map[b] != (b == 'b' || b == 'c' ? 1 : 0);
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bp_balance_partitions(byte_counts, 2, again), BP_OK);
    CHECK(memcmp(map, again, 256) == 0); /* deterministic */
    CHECK_EQ(bp_balance_partitions(byte_counts, 1, again), BP_OK);
    wrong = 0;
    for (int b = 0; b < 256; b++)
        wrong += again[b] != 0;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bp_balance_partitions(byte_counts, 0, again), BP_ERR_INVALID);
    CHECK_EQ(bp_balance_partitions(byte_counts, BP_MAX_PARTITIONS + 1, again), BP_ERR_INVALID);
    CHECK_EQ(bp_balance_partitions(NULL, 2, again), BP_ERR_INVALID);
    CHECK_EQ(bp_balance_partitions(byte_counts, 2, NULL), BP_ERR_INVALID);

    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(2, 2, &g), BP_OK);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_balance(g, byte_counts), BP_OK);
    bp_ngrams_partition_map(g, again);
    CHECK(memcmp(map, again, 256) == 0); /* balance = assign of bp_balance_partitions */
    uint8_t bad[256] = {0};
    bad[7] = 2;
    CHECK_EQ(bp_ngrams_assign(g, bad), BP_ERR_INVALID); /* a partition >= num_partitions */
    CHECK_EQ(bp_ngrams_assign(g, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_assign(NULL, map), BP_ERR_INVALID);
    bad[7] = 1;
    CHECK_EQ(bp_ngrams_assign(g, bad), BP_OK);
    bp_ngrams_partition_map(g, again);
    CHECK(memcmp(bad, again, 256) == 0);
    bp_ngrams_free(g);
}

static void test_piece_counts_packed_and_partitions(void)
{
    bp_piece_counts *a = NULL, *b = NULL;
    CHECK_EQ(bp_piece_counts_new(&a), BP_OK);
    CHECK_EQ(bp_piece_counts_new(&b), BP_OK);
    if (!a || !b) {
        bp_piece_counts_free(a);
        bp_piece_counts_free(b);
        return;
    }
    const int64_t off[] = {0, 2, 3, 5};
    const uint64_t cnt[] = {1, 2, 3};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), off, cnt, 3), BP_OK);
    CHECK_EQ(bp_piece_counts_size(a), 2);
    uint8_t data[3];
    int64_t eo[3];
    uint64_t ec[2];
    bp_piece_counts_export(a, data, eo, ec);
    CHECK(memcmp(data, "abc", 3) == 0 && eo[1] == 2 && ec[0] == 4 && ec[1] == 2);
    CHECK_EQ(bp_piece_counts_add_packed(a, NULL, NULL, NULL, 0), BP_OK);
    CHECK_EQ(bp_piece_counts_add_packed(NULL, U8("abcab"), off, cnt, 3), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_packed(a, NULL, off, cnt, 3), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), NULL, cnt, 3), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), off, NULL, 3), BP_ERR_INVALID);
    const int64_t decreasing[] = {2, 1};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), decreasing, cnt, 1), BP_ERR_INVALID);
    const int64_t empty[] = {1, 1};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), empty, cnt, 1), BP_ERR_INVALID);
    const uint64_t zero[] = {0};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), off, zero, 1), BP_ERR_INVALID);

    /* Partitions: a function of the bytes, whatever the counter or insertion order. */
    const char *pieces[] = {"the", "cat", "sat", "\xe4\xb8\xad", "a", "mat", "on", "\0x"};
    const size_t lengths[] = {3, 3, 3, 3, 1, 3, 2, 2};
    for (int i = 0; i < 8; i++)
        bp_piece_counts_add(b, U8(pieces[7 - i]), lengths[7 - i], 1);
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    for (int i = 0; c && i < 8; i++)
        bp_piece_counts_add(c, U8(pieces[i]), lengths[i], 7);
    uint32_t pb[8], pc[8];
    CHECK_EQ(bp_piece_counts_partitions(b, 5, pb), BP_OK);
    CHECK_EQ(bp_piece_counts_partitions(c, 5, pc), BP_OK);
    int wrong = 0;
    for (int i = 0; i < 8; i++)
        wrong += pb[7 - i] != pc[i] || pc[i] >= 5;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bp_piece_counts_partitions(c, 1, pc), BP_OK);
    wrong = 0;
    for (int i = 0; i < 8; i++)
        wrong += pc[i] != 0;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bp_piece_counts_partitions(c, 0, pc), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_partitions(c, 3, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_partitions(NULL, 3, pc), BP_ERR_INVALID);
    bp_piece_counts_free(a);
    bp_piece_counts_free(b);
    bp_piece_counts_free(c);
}

int main(void)
{
    make_corpus();
    RUN(test_merged_shards_give_the_model_of_the_whole);
    RUN(test_view_of_exported_tables);
    RUN(test_bad_merges_are_refused_before_anything_is_added);
    RUN(test_partition_maps);
    RUN(test_piece_counts_packed_and_partitions);
    return bp_test_report("shards");
}
