/* Unit tests of bp_ngram_view.h: lookups and emissions of a finished
 * model, and views that read exported tables in place. */
#include "bp_ngram_view.h"
#include "bp_test.h"
#include "bp_test_ngram.h"

#include <stdlib.h>
#include <string.h>

enum { ORDER = CORPUS_ORDER, PARTS = CORPUS_PARTS };
static test_corpus corpus;

/* This file's random stream (bp_test_random). */
static uint64_t rng = 0xD1B54A32D192ED03ULL;

/* A model answers lookups only once finished; bad lengths find nothing. */
static void test_lookups_need_a_finished_model(void)
{
    bp_ngrams *g = test_counted(2, "abab", 4);
    if (!g)
        return;
    CHECK(LP(g, "ab") == -INFINITY); /* still counting */
    CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
    CHECK(LP(g, "ab") == 0.0);
    CHECK(LP(g, "ba") == log(1.0) - log(2.0));
    CHECK(bp_ngrams_logprob(g, U8("ab"), 0) == -INFINITY);
    CHECK(bp_ngrams_logprob(g, U8("aba"), 3) == -INFINITY); /* longer than the order */
    CHECK(bp_ngrams_logprob(NULL, U8("ab"), 2) == -INFINITY);
    bp_ngrams_free(g);
}

static void test_emissions(void)
{
    bp_ngrams *g = test_counted(3, "abcab", 5);
    if (!g)
        return;
    double out[12];
    CHECK_EQ(bp_ngrams_emissions(g, U8("abcz"), 4, out), BP_ERR_INVALID); /* not finished */
    CHECK_EQ(bp_ngrams_finish(g, 1), BP_OK);
    CHECK_EQ(bp_ngrams_emissions(g, U8("abcz"), 4, out), BP_OK);
    const double I = -INFINITY;
    const double want[12] = {LP(g, "a"), I,           I,
                             LP(g, "b"), LP(g, "ab"), I,
                             LP(g, "c"), LP(g, "bc"), LP(g, "abc"),
                             LP(g, "z"), I,           I};
    int differ = 0;
    for (int i = 0; i < 12; i++)
        differ += out[i] != want[i];
    CHECK_EQ(differ, 0);
    CHECK(out[8] == log(1.0) - log(2.0));
    CHECK_EQ(bp_ngrams_emissions(g, U8("a"), 0, out), BP_OK);
    CHECK_EQ(bp_ngrams_emissions(NULL, U8("a"), 1, out), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_emissions(g, NULL, 1, out), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_emissions(g, U8("a"), 1, NULL), BP_ERR_INVALID);
    bp_ngrams_free(g);
}

static void test_emissions_follow_the_rule_on_a_long_text(void)
{
    enum { K = 4, LEN = 400, N = 60 };
    char seen[LEN], text[N];
    for (int i = 0; i < LEN; i++)
        seen[i] = "abcd"[bp_test_random(&rng) % 4];
    for (int i = 0; i < N; i++)
        text[i] = "abcde"[bp_test_random(&rng) % 5]; /* 'e' is never seen */
    bp_ngrams *g = test_counted(K, seen, LEN);
    if (!g)
        return;
    CHECK_EQ(bp_ngrams_finish(g, 3), BP_OK); /* some n-grams pruned */
    double *out = malloc(N * K * sizeof *out);
    CHECK_EQ(bp_ngrams_emissions(g, U8(text), N, out), BP_OK);
    int differ = 0, pruned = 0;
    for (int i = 0; i < N; i++) {
        int cut = 0;
        for (int j = 0; j < K; j++) {
            double want = -INFINITY;
            if (j <= i && !cut)
                want = bp_ngrams_logprob(g, U8(text + i - j), j + 1);
            cut |= want == -INFINITY;
            pruned += j <= i && want == -INFINITY;
            differ += out[i * K + j] != want;
        }
    }
    CHECK_EQ(differ, 0);
    CHECK(pruned > 0);
    free(out);
    bp_ngrams_free(g);
}

static void test_view_of_exported_tables(void)
{
    bp_ngrams *model = test_corpus_count(&corpus, 0, corpus.num_chunks);
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
        CHECK_EQ(test_logprobs_differ(model, view), 0);
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
        CHECK_EQ(test_logprobs_differ(v1, v2), 0);
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

int main(void)
{
    test_corpus_make(&corpus);
    RUN(test_lookups_need_a_finished_model);
    RUN(test_emissions);
    RUN(test_emissions_follow_the_rule_on_a_long_text);
    RUN(test_view_of_exported_tables);
    return bp_test_report("ngram_view");
}
