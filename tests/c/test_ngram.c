/* Unit tests of bp_ngram.h: counting, partitions, partition maps and
 * balance, finish (missing bytes, pruning, log-probabilities), the count
 * histogram and the bound of the finished tables' size, the growth
 * reserve, and the errors. Reading the finished model: test_ngram_view.c; shards:
 * test_ngram_shards.c. */
#include "bp_ngram.h"
#include "bp_test.h"
#include "bp_test_ngram.h"

#include <stdlib.h>
#include <string.h>

static void test_counts_of_a_small_text(void)
{
    bp_ngrams *g = test_counted(3, "abcab", 5);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_order(g), 3);
    CHECK_EQ(bp_ngrams_get_count(g, U8(""), 0), 5); /* the empty n-gram: one per byte */
    CHECK_EQ(COUNT(g, "a"), 2);
    CHECK_EQ(COUNT(g, "b"), 2);
    CHECK_EQ(COUNT(g, "c"), 1);
    CHECK_EQ(COUNT(g, "z"), 0);
    CHECK_EQ(COUNT(g, "ab"), 2); /* overlapping, and the window cut short at the end */
    CHECK_EQ(COUNT(g, "bc"), 1);
    CHECK_EQ(COUNT(g, "ca"), 1);
    CHECK_EQ(COUNT(g, "ba"), 0);
    CHECK_EQ(COUNT(g, "abc"), 1);
    CHECK_EQ(COUNT(g, "bca"), 1);
    CHECK_EQ(COUNT(g, "cab"), 1);
    CHECK_EQ(COUNT(g, "abca"), 0); /* longer than the order */
    CHECK_EQ(bp_ngrams_get_count(g, U8("ab"), -1), 0);
    CHECK_EQ(bp_ngrams_size(g, 1), 3);
    CHECK_EQ(bp_ngrams_size(g, 2), 3);
    CHECK_EQ(bp_ngrams_size(g, 3), 3);
    CHECK_EQ(bp_ngrams_size(g, 0), 0);
    CHECK_EQ(bp_ngrams_size(g, 4), 0);
    /* Counting again adds. */
    const int64_t offsets[] = {0, 5};
    CHECK_EQ(bp_ngrams_count(g, 0, U8("abcab"), offsets, 1), BP_OK);
    CHECK_EQ(bp_ngrams_get_count(g, U8(""), 0), 10);
    CHECK_EQ(COUNT(g, "ab"), 4);
    CHECK_EQ(COUNT(g, "cab"), 2);
    bp_ngrams_free(g);
}

static void test_ngrams_stay_inside_chunks(void)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(3, 1, &g), BP_OK);
    if (!g)
        return;
    const int64_t offsets[] = {0, 2, 2, 4}; /* "ab" | "" | "ba" */
    CHECK_EQ(bp_ngrams_count(g, 0, U8("abba"), offsets, 3), BP_OK);
    CHECK_EQ(bp_ngrams_get_count(g, U8(""), 0), 4);
    CHECK_EQ(COUNT(g, "ab"), 1);
    CHECK_EQ(COUNT(g, "ba"), 1);
    CHECK_EQ(COUNT(g, "bb"), 0);
    CHECK_EQ(COUNT(g, "abb"), 0);
    CHECK_EQ(COUNT(g, "b"), 2);
    /* No chunks: nothing read. */
    CHECK_EQ(bp_ngrams_count(g, 0, NULL, offsets, 0), BP_OK);
    CHECK_EQ(bp_ngrams_get_count(g, U8(""), 0), 4);
    bp_ngrams_free(g);
}

static void test_zero_bytes_and_the_longest_order(void)
{
    bp_ngrams *g = test_counted(3, "\0\0\0", 3);
    if (g) {
        CHECK_EQ(COUNT(g, "\0"), 3);
        CHECK_EQ(COUNT(g, "\0\0"), 2);
        CHECK_EQ(COUNT(g, "\0\0\0"), 1);
        CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
        CHECK_NEAR(LP(g, "\0\0"), log(2.0) - log(3.0), 1e-12);
        CHECK_NEAR(LP(g, "\0\0\0"), log(1.0) - log(2.0), 1e-12);
    }
    bp_ngrams_free(g);

    g = test_counted(BP_MAX_ORDER, "abcdefghij", 10);
    if (g) {
        CHECK_EQ(COUNT(g, "abcdefgh"), 1);
        CHECK_EQ(COUNT(g, "cdefghij"), 1);
        CHECK_EQ(COUNT(g, "abcdefgz"), 0);
        CHECK_EQ(COUNT(g, "abcdefg"), 1);
        CHECK_EQ(bp_ngrams_size(g, 8), 3);
    }
    bp_ngrams_free(g);

    g = test_counted(BP_MAX_ORDER, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    if (g) {
        CHECK_EQ(COUNT(g, "\xff\xff\xff\xff\xff\xff\xff\xff"), 2);
        CHECK_EQ(COUNT(g, "\xff\xff\xff\xff\xff\xff\xff"), 3);
        CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
        CHECK_NEAR(LP(g, "\xff\xff\xff\xff\xff\xff\xff\xff"), log(2.0) - log(3.0), 1e-12);
    }
    bp_ngrams_free(g);
}

static void test_finish_adds_missing_bytes_and_gives_logprobs(void)
{
    bp_ngrams *g = test_counted(3, "abcab", 5);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
    /* 253 bytes never seen get count 1: c(empty) = 5 + 253 = 258. */
    const double N = 258.0;
    CHECK_EQ(bp_ngrams_size(g, 1), 256);
    CHECK_NEAR(LP(g, "a"), log(2.0) - log(N), 1e-12);
    CHECK_NEAR(LP(g, "c"), log(1.0) - log(N), 1e-12);
    CHECK_NEAR(LP(g, "z"), log(1.0) - log(N), 1e-12); /* never seen */
    CHECK_NEAR(bp_ngrams_logprob(g, U8("\0"), 1), -log(N), 1e-12);
    CHECK_NEAR(LP(g, "ab"), log(2.0) - log(2.0), 1e-12);
    CHECK(LP(g, "ab") == 0.0);
    CHECK_NEAR(LP(g, "bc"), log(1.0) - log(2.0), 1e-12);
    CHECK_NEAR(LP(g, "ca"), 0.0, 1e-12);
    CHECK_NEAR(LP(g, "abc"), log(1.0) - log(2.0), 1e-12);
    CHECK_NEAR(LP(g, "bca"), 0.0, 1e-12);
    CHECK(LP(g, "aa") == -INFINITY); /* never seen */
    CHECK(LP(g, "zab") == -INFINITY);
    CHECK(bp_ngrams_logprob(g, U8("abc"), 0) == -INFINITY); /* length outside 1..order */
    CHECK(bp_ngrams_logprob(g, U8("abca"), 4) == -INFINITY);
    CHECK_EQ(COUNT(g, "ab"), 0); /* counts are gone after finish */
    bp_ngrams_free(g);
}

/* The caller's log table: every log-probability is made of its entries,
 * the large counts are listed sorted and distinct (positions included), and
 * a table lacking a count is an error, not a silent libm fallback. */
static void test_caller_supplied_logarithms(void)
{
    bp_ngrams *g = test_counted(2, "aaaab", 5);
    if (!g)
        return;
    size_t added = 0, n = 0;
    CHECK_EQ(bp_ngrams_add_missing_bytes(g, 0, &added), BP_OK);
    CHECK_EQ(added, 254);
    /* Counts: a 4, b 1, aa 3, ab 1, positions 5 + 254 = 259. */
    CHECK_EQ(bp_ngrams_large_counts(g, 0, 1, 3, NULL, 0, &n), BP_OK);
    CHECK_EQ(n, 3);
    uint64_t large[3] = {0};
    CHECK_EQ(bp_ngrams_large_counts(g, 0, 1, 3, large, 3, &n), BP_OK);
    CHECK(large[0] == 3 && large[1] == 4 && large[2] == 259);
    CHECK_EQ(bp_ngrams_large_counts(g, 0, 4, 3, large, 3, &n), BP_OK); /* min_count 4 drops aa (3) */
    CHECK_EQ(n, 2);
    /* Fake logarithms that are easy to recognize: log(c) := c for small c, 100 * c for large ones. */
    const double small[3] = {0.0, 1.0, 2.0};
    const uint64_t counts[3] = {3, 4, 259};
    const double logs[3] = {300.0, 400.0, 25900.0};
    bp_log_table lacking = {small, 3, counts, logs, 2}; /* without 259 */
    CHECK_EQ(bp_ngrams_finish_partition_logs(g, 0, 1, &lacking), BP_ERR_INVALID);
    bp_ngrams_free(g);

    g = test_counted(2, "aaaab", 5);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_add_missing_bytes(g, 0, &added), BP_OK);
    bp_log_table broken = {NULL, 3, counts, logs, 3}; /* a length without its array */
    CHECK_EQ(bp_ngrams_finish_partition_logs(g, 0, 1, &broken), BP_ERR_INVALID);
    bp_log_table table = {small, 3, counts, logs, 3};
    CHECK_EQ(bp_ngrams_finish_partition_logs(g, 0, 1, &table), BP_OK);
    CHECK(LP(g, "a") == 400.0 - 25900.0);
    CHECK(LP(g, "b") == 1.0 - 25900.0);
    CHECK(LP(g, "aa") == 300.0 - 400.0);
    CHECK(LP(g, "ab") == 1.0 - 400.0);
    CHECK_EQ(bp_ngrams_finish_partition_logs(g, 0, 1, &table), BP_ERR_INVALID); /* finished already */
    CHECK_EQ(bp_ngrams_large_counts(NULL, 0, 1, 3, NULL, 0, &n), BP_ERR_INVALID);
    bp_ngrams_free(g);
}

static void test_pruning_below_min_count(void)
{
    bp_ngrams *g = test_counted(3, "abcab", 5);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_finish(g, 2), BP_OK);
    CHECK_NEAR(LP(g, "ab"), 0.0, 1e-12);     /* count 2: kept */
    CHECK(LP(g, "bc") == -INFINITY);         /* count 1: pruned */
    CHECK(LP(g, "ca") == -INFINITY);
    CHECK(LP(g, "abc") == -INFINITY);
    CHECK_NEAR(LP(g, "c"), -log(258.0), 1e-12); /* single bytes are never pruned */
    CHECK_EQ(bp_ngrams_size(g, 1), 256);
    CHECK_EQ(bp_ngrams_size(g, 2), 1);
    CHECK_EQ(bp_ngrams_size(g, 3), 0);
    bp_ngrams_free(g);
}

/* This file's random stream (bp_test_random). */
static uint64_t rng = 0xD1B54A32D192ED03ULL;

/* Counts data (chunks cut at every '\n') into a counter of `parts` partitions. */
static bp_ngrams *counted_in_parts(int order, int parts, const uint64_t *balance, const char *data, size_t len,
                                   int only_partition)
{
    int64_t offsets[64];
    size_t chunks = 0;
    offsets[0] = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n' && chunks < 62)
            offsets[++chunks] = (int64_t)i + 1;
    if (offsets[chunks] != (int64_t)len)
        offsets[++chunks] = (int64_t)len;
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(order, parts, &g), BP_OK);
    if (!g)
        return NULL;
    if (balance)
        CHECK_EQ(bp_ngrams_balance(g, balance), BP_OK);
    for (int p = parts - 1; p >= 0; p--) /* any order */
        if (only_partition < 0 || p == only_partition)
            CHECK_EQ(bp_ngrams_count(g, p, U8(data), offsets, chunks), BP_OK);
    return g;
}

static void test_partitions_and_balance_never_change_the_counts(void)
{
    enum { ORDER = 3, LEN = 300 };
    char data[LEN];
    for (int i = 0; i < LEN; i++)
        data[i] = "abcdef\n"[bp_test_random(&rng) % 7];
    uint64_t byte_counts[256] = {0};
    byte_counts['a'] = 1000;
    byte_counts['b'] = 10;
    byte_counts['\n'] = 500;
    bp_ngrams *one = counted_in_parts(ORDER, 1, NULL, data, LEN, -1);
    bp_ngrams *three = counted_in_parts(ORDER, 3, NULL, data, LEN, -1);
    bp_ngrams *balanced = counted_in_parts(ORDER, 3, byte_counts, data, LEN, -1);
    bp_ngrams *all256 = counted_in_parts(ORDER, BP_MAX_PARTITIONS, NULL, data, LEN, -1);
    bp_ngrams *parts[3];
    for (int p = 0; p < 3; p++)
        parts[p] = counted_in_parts(ORDER, 3, NULL, data, LEN, p);
    if (one && three && balanced && all256 && parts[0] && parts[1] && parts[2]) {
        CHECK_EQ(bp_ngrams_get_count(one, U8(""), 0), LEN);
        CHECK_EQ(bp_ngrams_get_count(three, U8(""), 0), LEN);
        CHECK_EQ(bp_ngrams_get_count(balanced, U8(""), 0), LEN);
        CHECK_EQ(bp_ngrams_get_count(all256, U8(""), 0), LEN);
        /* Partition 0 counts the empty n-gram, the others do not. */
        CHECK_EQ(bp_ngrams_get_count(parts[0], U8(""), 0), LEN);
        CHECK_EQ(bp_ngrams_get_count(parts[1], U8(""), 0), 0);
        int differ = 0, split = 0, prefix_elsewhere = 0;
        const char alphabet[] = "abcdef\nz";
        for (int len = 1; len <= ORDER; len++) {
            int total = 1;
            for (int t = 0; t < len; t++)
                total *= 8;
            for (int code = 0; code < total; code++) { /* every n-gram over the alphabet, some absent */
                uint8_t k[ORDER];
                for (int t = 0, c = code; t < len; t++, c /= 8)
                    k[t] = (uint8_t)alphabet[c % 8];
                uint64_t c1 = bp_ngrams_get_count(one, k, len);
                differ += bp_ngrams_get_count(three, k, len) != c1;
                differ += bp_ngrams_get_count(balanced, k, len) != c1;
                differ += bp_ngrams_get_count(all256, k, len) != c1;
                /* Each n-gram is in exactly one partition, with its prefixes. */
                int holders = 0;
                for (int p = 0; p < 3; p++) {
                    uint64_t cp = bp_ngrams_get_count(parts[p], k, len);
                    holders += cp != 0;
                    split += cp != 0 && cp != c1;
                    prefix_elsewhere += cp != 0 && len > 1 && bp_ngrams_get_count(parts[p], k, len - 1) == 0;
                }
                split += c1 != 0 && holders != 1;
            }
            differ += bp_ngrams_size(three, len) != bp_ngrams_size(one, len);
            differ += bp_ngrams_size(balanced, len) != bp_ngrams_size(one, len);
        }
        CHECK_EQ(differ, 0);
        CHECK_EQ(split, 0);
        CHECK_EQ(prefix_elsewhere, 0);
    } else {
        CHECK(!"a counter could not be made");
    }
    bp_ngrams_free(one);
    bp_ngrams_free(three);
    bp_ngrams_free(balanced);
    bp_ngrams_free(all256);
    for (int p = 0; p < 3; p++)
        bp_ngrams_free(parts[p]);
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

static void test_many_distinct_ngrams(void)
{
    /* All 65536 byte pairs as 2-byte chunks: the tables grow many times. */
    enum { PAIRS = 65536 };
    uint8_t *data = malloc(2 * PAIRS);
    int64_t *offsets = malloc((PAIRS + 1) * sizeof *offsets);
    for (int i = 0; i < PAIRS; i++) {
        data[2 * i] = (uint8_t)(i >> 8);
        data[2 * i + 1] = (uint8_t)i;
        offsets[i] = 2 * i;
    }
    offsets[PAIRS] = 2 * PAIRS;
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(2, 1, &g), BP_OK);
    if (g) {
        size_t empty_memory = bp_ngrams_memory(g);
        CHECK(empty_memory > 0);
        CHECK_EQ(bp_ngrams_count(g, 0, data, offsets, PAIRS), BP_OK);
        CHECK(bp_ngrams_memory(g) > empty_memory);
        CHECK(bp_ngrams_memory(g) >= PAIRS * 2 * sizeof(uint64_t));
        CHECK_EQ(bp_ngrams_size(g, 1), 256);
        CHECK_EQ(bp_ngrams_size(g, 2), PAIRS);
        CHECK_EQ(bp_ngrams_get_count(g, U8(""), 0), 2 * PAIRS);
        int wrong = 0;
        for (int i = 0; i < PAIRS; i += 97)
            wrong += bp_ngrams_get_count(g, data + 2 * i, 2) != 1 || bp_ngrams_get_count(g, data + 2 * i, 1) != 512;
        CHECK_EQ(wrong, 0);
        CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
        CHECK_NEAR(bp_ngrams_logprob(g, U8("\x12\x34"), 2), -log(512.0), 1e-12);
        CHECK_NEAR(bp_ngrams_logprob(g, U8("\x12"), 1), log(512.0) - log(2.0 * PAIRS), 1e-12);
    }
    bp_ngrams_free(g);
    free(data);
    free(offsets);
}

static void test_lifecycle_errors(void)
{
    bp_ngrams *g = SENTINEL;
    /* bp_ngrams_new: order and partitions out of range, out NULL; *out is NULL. */
    const int bad_orders[] = {0, -1, BP_MAX_ORDER + 1, 100};
    for (int i = 0; i < 4; i++) {
        g = SENTINEL;
        CHECK_EQ(bp_ngrams_new(bad_orders[i], 1, &g), BP_ERR_INVALID);
        CHECK(g == NULL);
    }
    const int bad_parts[] = {0, -1, BP_MAX_PARTITIONS + 1};
    for (int i = 0; i < 3; i++) {
        g = SENTINEL;
        CHECK_EQ(bp_ngrams_new(3, bad_parts[i], &g), BP_ERR_INVALID);
        CHECK(g == NULL);
    }
    CHECK_EQ(bp_ngrams_new(3, 1, NULL), BP_ERR_INVALID);
    /* The extremes are fine. */
    CHECK_EQ(bp_ngrams_new(1, BP_MAX_PARTITIONS, &g), BP_OK);
    bp_ngrams_free(g);
    CHECK_EQ(bp_ngrams_new(BP_MAX_ORDER, 1, &g), BP_OK);
    bp_ngrams_free(g);

    g = NULL;
    CHECK_EQ(bp_ngrams_new(2, 2, &g), BP_OK);
    if (!g)
        return;
    uint64_t byte_counts[256] = {0};
    byte_counts['a'] = 5;
    CHECK_EQ(bp_ngrams_balance(g, byte_counts), BP_OK); /* before counting */
    CHECK_EQ(bp_ngrams_balance(g, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_balance(NULL, byte_counts), BP_ERR_INVALID);

    const uint8_t *data = U8("abab");
    const int64_t offsets[] = {0, 4};
    CHECK_EQ(bp_ngrams_count(g, -1, data, offsets, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count(g, 2, data, offsets, 1), BP_ERR_INVALID); /* = num_partitions */
    CHECK_EQ(bp_ngrams_count(NULL, 0, data, offsets, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count(g, 0, NULL, offsets, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count(g, 0, data, NULL, 1), BP_ERR_INVALID);
    /* Broken offsets, on a throwaway counter: the header leaves the counts
     * "incomplete" after an error (here the first chunk has been half
     * counted when the second one is refused), so only the code is pinned. */
    bp_ngrams *scratch = NULL;
    CHECK_EQ(bp_ngrams_new(2, 1, &scratch), BP_OK);
    const int64_t decreasing[] = {0, 3, 2};
    CHECK_EQ(bp_ngrams_count(scratch, 0, data, decreasing, 2), BP_ERR_INVALID);
    const int64_t negative[] = {-1, 2};
    CHECK_EQ(bp_ngrams_count(scratch, 0, data, negative, 1), BP_ERR_INVALID);
    const int64_t decreasing_first[] = {2, 1};
    CHECK_EQ(bp_ngrams_count(scratch, 0, data, decreasing_first, 1), BP_ERR_INVALID);
    bp_ngrams_free(scratch);

    CHECK_EQ(bp_ngrams_count(g, 0, data, offsets, 1), BP_OK);
    CHECK_EQ(bp_ngrams_count(g, 1, data, offsets, 1), BP_OK);
    CHECK_EQ(bp_ngrams_balance(g, byte_counts), BP_ERR_INVALID); /* counting has started */

    /* Even a first count that stored nothing has started counting: the map
     * must not change after it (else bytes could move to a partition that
     * was already counted, and counts would be lost). */
    bp_ngrams *early = NULL;
    CHECK_EQ(bp_ngrams_new(2, 2, &early), BP_OK);
    if (early) {
        CHECK_EQ(bp_ngrams_count(early, 0, NULL, offsets, 0), BP_OK);
        CHECK_EQ(bp_ngrams_balance(early, byte_counts), BP_ERR_INVALID);
    }
    bp_ngrams_free(early);

    CHECK_EQ(bp_ngrams_finish(g, 0), BP_ERR_INVALID); /* min_count >= 1 */
    CHECK_EQ(bp_ngrams_finish(NULL, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
    CHECK_EQ(bp_ngrams_finish(g, 1), BP_ERR_INVALID); /* twice */
    CHECK_EQ(bp_ngrams_count(g, 0, data, offsets, 1), BP_ERR_INVALID); /* after finish */
    CHECK_EQ(bp_ngrams_balance(g, byte_counts), BP_ERR_INVALID);
    CHECK_NEAR(LP(g, "ab"), 0.0, 1e-12); /* the failed calls changed nothing */
    CHECK_NEAR(LP(g, "ba"), log(1.0) - log(2.0), 1e-12);
    CHECK_NEAR(LP(g, "a"), log(2.0) - log(4.0 + 254.0), 1e-12); /* 254 bytes unseen */
    bp_ngrams_free(g);
    bp_ngrams_free(NULL); /* a no-op */
}

/* A call of 64 KB or more counts its 1- and 2-grams in dense arrays, a
 * smaller one hashes them: the counts are the same either way, in every
 * partition, chunk boundaries and 2-byte chunks included. */
static void test_large_and_small_calls_count_alike(void)
{
    enum { LEN = 200000, PIECE = 1000, ORDER = 4, PARTS = 2 };
    uint8_t *text = malloc(LEN);
    int64_t *whole = malloc((LEN / 2 + 1) * sizeof *whole);
    if (!text || !whole) {
        free(text);
        free(whole);
        CHECK(0);
        return;
    }
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < LEN; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        text[i] = (uint8_t)("abcdefgh\xe4\xb8\x80\n"[(state >> 33) % 12]);
    }
    /* Chunks of 2..7 bytes, one of them of 2 (the dense path's edge). */
    size_t chunks = 0;
    whole[0] = 0;
    for (int64_t at = 0; at < LEN;) {
        int64_t next = at + 2 + (int64_t)(chunks % 6);
        at = next < LEN ? next : LEN;
        whole[++chunks] = at;
    }
    bp_ngrams *big = NULL, *small = NULL;
    CHECK_EQ(bp_ngrams_new(ORDER, PARTS, &big), BP_OK);
    CHECK_EQ(bp_ngrams_new(ORDER, PARTS, &small), BP_OK);
    if (big && small) {
        for (int p = 0; p < PARTS; p++) {
            CHECK_EQ(bp_ngrams_count(big, p, text, whole, chunks), BP_OK); /* one call of 200 KB */
            size_t k = 0;
            while (k < chunks) { /* calls of about PIECE bytes each */
                size_t end = k;
                while (end < chunks && whole[end + 1] - whole[k] <= PIECE)
                    end++;
                if (end == k)
                    end = k + 1;
                CHECK_EQ(bp_ngrams_count(small, p, text, whole + k, end - k), BP_OK);
                k = end;
            }
        }
        for (int j = 1; j <= ORDER; j++)
            CHECK_EQ(bp_ngrams_size(big, j), bp_ngrams_size(small, j));
        size_t differ = 0;
        for (size_t i = 0; i + ORDER <= LEN; i += 7)
            for (int j = 1; j <= ORDER; j++)
                differ += bp_ngrams_get_count(big, text + i, j) != bp_ngrams_get_count(small, text + i, j);
        CHECK_EQ(differ, 0);
        CHECK(bp_ngrams_get_count(big, U8("ab"), 2) > 0);
    }
    bp_ngrams_free(big);
    bp_ngrams_free(small);
    free(text);
    free(whole);
}

/* Counts the chunks of `text` (chunks end after each '|', which is left
 * out) in a new counter of `order` over one partition. */
static bp_ngrams *counted_chunks(int order, const char *text, size_t len)
{
    int64_t *offsets = malloc((len + 2) * sizeof *offsets);
    uint8_t *data = malloc(len + 1);
    bp_ngrams *g = NULL;
    if (offsets && data) {
        size_t n = 0, chunks = 0;
        offsets[0] = 0;
        for (size_t i = 0; i < len; i++) {
            if (text[i] == '|')
                offsets[++chunks] = (int64_t)n;
            else
                data[n++] = (uint8_t)text[i];
        }
        offsets[++chunks] = (int64_t)n;
        CHECK_EQ(bp_ngrams_new(order, 1, &g), BP_OK);
        if (g)
            CHECK_EQ(bp_ngrams_count(g, 0, data, offsets, chunks), BP_OK);
    }
    free(offsets);
    free(data);
    return g;
}

/* The histogram of counts: sorted distinct values with their multiplicity,
 * counts from the cap on under the cap, below min_count left out; the
 * two-call protocol; the errors. */
static void test_count_histogram(void)
{
    enum { RUN_LEN = 70002 };
    /* aa, bb: 70001 each; aaa, bbb: 70000; ab 1001; ba 999; bc 1; aba, bab 999; abc 1. */
    size_t len = 2 * RUN_LEN + 2 + 2000 + 1 + 3;
    char *text = malloc(len);
    if (!text) {
        CHECK(0);
        return;
    }
    size_t at = 0;
    memset(text + at, 'a', RUN_LEN);
    at += RUN_LEN;
    text[at++] = '|';
    memset(text + at, 'b', RUN_LEN);
    at += RUN_LEN;
    text[at++] = '|';
    for (int k = 0; k < 1000; k++) {
        text[at++] = 'a';
        text[at++] = 'b';
    }
    text[at++] = '|';
    memcpy(text + at, "abc", 3);
    at += 3;
    CHECK_EQ(at, len);
    bp_ngrams *g = counted_chunks(3, text, len);
    free(text);
    if (!g)
        return;
    const uint64_t cap = 1 << 17;
    uint64_t values[8], num[8];
    size_t n = 99;
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, cap, NULL, NULL, 0, &n), BP_OK);
    CHECK_EQ(n, 4);
    n = 99;
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, cap, values, num, 3, &n), BP_OK); /* too small: says how many */
    CHECK_EQ(n, 4);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, cap, values, num, 8, &n), BP_OK);
    CHECK_EQ(n, 4);
    const uint64_t want_values[4] = {1, 999, 1001, 70001}, want_num[4] = {1, 1, 1, 2};
    for (size_t i = 0; i < 4 && n == 4; i++) {
        CHECK_EQ(values[i], want_values[i]);
        CHECK_EQ(num[i], want_num[i]);
    }
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 3, 2, cap, values, num, 8, &n), BP_OK); /* abc (1) left out */
    CHECK_EQ(n, 2);
    CHECK(n == 2 && values[0] == 999 && num[0] == 2 && values[1] == 70000 && num[1] == 2);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 3, 70001, cap, values, num, 8, &n), BP_OK);
    CHECK_EQ(n, 0);
    /* The cap: ab (1001), aa and bb (70001) all count as 1000; a cap equal to min_count lumps all. */
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 2, 1000, values, num, 8, &n), BP_OK);
    CHECK(n == 2 && values[0] == 999 && num[0] == 1 && values[1] == 1000 && num[1] == 3);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 5, 5, values, num, 8, &n), BP_OK);
    CHECK(n == 1 && values[0] == 5 && num[0] == 4);
    /* Errors: 1-grams (never pruned), lengths past the order, min_count 0, a cap below it or too
     * large, bad partition or pointer. */
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 1, 1, cap, values, num, 8, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 4, 1, cap, values, num, 8, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 0, cap, values, num, 8, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 3, 2, values, num, 8, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, BP_NGRAM_HISTOGRAM_MAX_CAP + 1, values, num, 8, &n),
             BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 1, 2, 1, cap, values, num, 8, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, cap, values, num, 8, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(NULL, 0, 2, 1, cap, values, num, 8, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, cap, values, num, 8, &n), BP_ERR_INVALID); /* finished */
    bp_ngrams_free(g);
}

/* bp_ngrams_finished_bytes_bound: its edges, and that the finished tables
 * never pass it, whatever the partitions and min_count, from tables at their
 * least size to tables of many thousand n-grams. */
static void test_the_finished_tables_stay_within_the_bound(void)
{
    CHECK_EQ(bp_ngrams_finished_bytes_bound(1, 1, 0), 16384);
    CHECK_EQ(bp_ngrams_finished_bytes_bound(8, 256, 10), 8ULL * 256 * 16384 + 640);
    CHECK_EQ(bp_ngrams_finished_bytes_bound(0, 1, 0), 0);
    CHECK_EQ(bp_ngrams_finished_bytes_bound(BP_MAX_ORDER + 1, 1, 0), 0);
    CHECK_EQ(bp_ngrams_finished_bytes_bound(2, 0, 0), 0);
    CHECK_EQ(bp_ngrams_finished_bytes_bound(2, BP_MAX_PARTITIONS + 1, 0), 0);
    CHECK_EQ(bp_ngrams_finished_bytes_bound(2, 1, UINT64_MAX / 8), UINT64_MAX);

    enum { LEN = 60000, ORDER = 4 };
    uint8_t *text = malloc(LEN);
    if (!text) {
        CHECK(0);
        return;
    }
    uint64_t state = 12345;
    for (size_t i = 0; i < LEN; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        text[i] = (uint8_t)('a' + (state >> 33) % 12);
    }
    const int64_t offsets[] = {0, LEN};
    const uint64_t min_counts[] = {1, 2, 3, 6, 40, 100000};
    const int parts[] = {1, 2, 5};
    for (size_t m = 0; m < sizeof min_counts / sizeof *min_counts; m++) {
        for (size_t q = 0; q < sizeof parts / sizeof *parts; q++) {
            bp_ngrams *g = NULL;
            CHECK_EQ(bp_ngrams_new(ORDER, parts[q], &g), BP_OK);
            if (!g)
                break;
            uint64_t kept = 0;
            for (int p = 0; p < parts[q]; p++) {
                CHECK_EQ(bp_ngrams_count(g, p, text, offsets, 1), BP_OK);
                for (int j = 2; j <= ORDER; j++) {
                    uint64_t values[64], num[64];
                    size_t n = 0;
                    CHECK_EQ(bp_ngrams_count_histogram(g, p, j, min_counts[m], min_counts[m] + 63, values, num, 64,
                                                       &n), BP_OK);
                    for (size_t i = 0; i < n && n <= 64; i++)
                        kept += num[i];
                }
            }
            CHECK_EQ(bp_ngrams_finish(g, min_counts[m]), BP_OK);
            uint64_t bytes = 0;
            for (int j = 1; j <= ORDER; j++)
                for (int p = 0; p < parts[q]; p++)
                    bytes += 16 * (uint64_t)bp_ngrams_table_capacity(g, p, j);
            CHECK_EQ(bytes, bp_ngrams_memory(g));
            CHECK(bytes <= bp_ngrams_finished_bytes_bound(ORDER, parts[q], kept));
            if (m == 0 && q == 0) /* larger than the least tables: the bound's per-n-gram part is tested */
                CHECK(bytes > bp_ngrams_finished_bytes_bound(ORDER, parts[q], 0));
            bp_ngrams_free(g);
        }
    }
    free(text);
}

/* The growth reserve: twice the slots of every table more than half full
 * (the doubling to come), nothing for the others. */
static void test_growth_reserve(void)
{
    CHECK_EQ(bp_ngrams_growth_reserve(NULL), 0);
    uint8_t data[2 * 900];
    int64_t offsets[901];
    for (int k = 0; k < 900; k++) { /* 900 chunks, each one distinct 2-gram */
        data[2 * k] = (uint8_t)(k / 30);
        data[2 * k + 1] = (uint8_t)(k % 30);
        offsets[k] = 2 * k;
    }
    offsets[900] = 2 * 900;
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(2, 1, &g), BP_OK);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_growth_reserve(g), 0); /* empty tables */
    CHECK_EQ(bp_ngrams_count(g, 0, data, offsets, 600), BP_OK);
    CHECK_EQ(bp_ngrams_size(g, 2), 600); /* 600 of 1024 slots: past half */
    CHECK_EQ(bp_ngrams_growth_reserve(g), 2 * 1024 * 16);
    CHECK_EQ(bp_ngrams_memory(g), 2 * 1024 * 16);
    CHECK_EQ(bp_ngrams_count(g, 0, data, offsets + 600, 300), BP_OK);
    CHECK_EQ(bp_ngrams_size(g, 2), 900); /* doubled at 769: 900 of 2048 */
    CHECK_EQ(bp_ngrams_memory(g), (1024 + 2048) * 16);
    CHECK_EQ(bp_ngrams_growth_reserve(g), 0);
    bp_ngrams_free(g);
}

int main(void)
{
    RUN(test_counts_of_a_small_text);
    RUN(test_ngrams_stay_inside_chunks);
    RUN(test_zero_bytes_and_the_longest_order);
    RUN(test_finish_adds_missing_bytes_and_gives_logprobs);
    RUN(test_caller_supplied_logarithms);
    RUN(test_pruning_below_min_count);
    RUN(test_partitions_and_balance_never_change_the_counts);
    RUN(test_partition_maps);
    RUN(test_many_distinct_ngrams);
    RUN(test_large_and_small_calls_count_alike);
    RUN(test_lifecycle_errors);
    RUN(test_count_histogram);
    RUN(test_the_finished_tables_stay_within_the_bound);
    RUN(test_growth_reserve);
    return bp_test_report("ngram");
}
