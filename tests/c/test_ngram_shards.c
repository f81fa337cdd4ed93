/*
 * Unit tests of bp_ngram_shards.h, the distributed form of the n-gram
 * counter: shards counted apart, merged partition by partition and
 * finished there must give exactly the model of one counter over the whole
 * corpus; bad merges are refused. (Views of exported tables:
 * test_ngram_view.c.)
 */
#include "bp_ngram_shards.h"
#include "bp_test.h"
#include "bp_test_ngram.h"

#include <stdlib.h>
#include <string.h>

enum { ORDER = CORPUS_ORDER, PARTS = CORPUS_PARTS, LEN = CORPUS_LEN };
static test_corpus corpus;

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
    bp_ngrams *whole = test_corpus_count(&corpus, 0, corpus.num_chunks);
    bp_ngrams *first = test_corpus_count(&corpus, 0, corpus.num_chunks / 3);
    bp_ngrams *second = test_corpus_count(&corpus, corpus.num_chunks / 3, corpus.num_chunks);
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
        CHECK_EQ(test_logprobs_differ(whole, reducer), 0);
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



int main(void)
{
    test_corpus_make(&corpus);
    RUN(test_merged_shards_give_the_model_of_the_whole);
    RUN(test_bad_merges_are_refused_before_anything_is_added);
    return bp_test_report("ngram_shards");
}
