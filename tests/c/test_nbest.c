/* Unit tests of bp_nbest.h: the k best segmentations, checked by hand and
 * against a brute-force enumeration. */
#include "bp_nbest.h"
#include "bp_segmenter.h"
#include "bp_test.h"
#include "bp_test_vocab.h"

/* TEST_V1 (bp_test_vocab.h), the vocabulary of test_segmenter.c:
 *   259 "ab" -12   260 "bc" -11.5   261 "abc" -25   262 "cd" -15
 *   263 "xy" -20   264 "b\n" -1     265 "\nx" -1     (bytes -10) */
static test_vocab v1;
static bp_trie *t1;

typedef struct {
    int rc;
    size_t found;
    int32_t *ids;
    int64_t *offsets;
    double *scores;
} nbest_result;

/* bp_nbest with exact-size outputs: k * len ids (at least 1), k + 1 offsets, k scores. */
static nbest_result nbest(const char *text, size_t len, size_t k)
{
    nbest_result r;
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    r.ids = malloc((k * len > 0 ? k * len : 1) * sizeof *r.ids);
    r.offsets = malloc((k + 1) * sizeof *r.offsets);
    r.scores = malloc(k * sizeof *r.scores);
    r.found = (size_t)-1;
    r.rc = bp_nbest(t1, copy, len, k, r.ids, r.offsets, r.scores, &r.found);
    free(copy);
    return r;
}

static void nbest_free(nbest_result *r)
{
    free(r->ids);
    free(r->offsets);
    free(r->scores);
}

/* 1 iff segmentation `rank` of r is exactly `want`. */
static int rank_is(const nbest_result *r, size_t rank, const int32_t *want, size_t n)
{
    return rank < r->found && r->offsets[rank + 1] - r->offsets[rank] == (int64_t)n &&
           memcmp(r->ids + r->offsets[rank], want, n * sizeof *want) == 0;
}
#define RANK_IS(r, rank, ...) \
    rank_is(r, rank, (const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

static void test_all_segmentations_of_abc_in_order(void)
{
    /* a+bc -21.5, ab+c -22, abc -25, a+b+c -30: all four, best first. */
    nbest_result r = nbest("abc", 3, 10);
    CHECK_EQ(r.rc, BP_OK);
    CHECK_EQ(r.found, 4);
    if (r.rc == BP_OK && r.found == 4) {
        CHECK(RANK_IS(&r, 0, BYTE_ID('a'), EXTRA_ID(1)));
        CHECK(RANK_IS(&r, 1, EXTRA_ID(0), BYTE_ID('c')));
        CHECK(RANK_IS(&r, 2, EXTRA_ID(2)));
        CHECK(RANK_IS(&r, 3, BYTE_ID('a'), BYTE_ID('b'), BYTE_ID('c')));
        CHECK(r.scores[0] == -21.5 && r.scores[1] == -22.0 && r.scores[2] == -25.0 && r.scores[3] == -30.0);
        CHECK_EQ(r.offsets[0], 0);
        CHECK_EQ(r.offsets[4], 2 + 2 + 1 + 3);
    }
    nbest_free(&r);

    r = nbest("abc", 3, 2); /* only the top two */
    CHECK_EQ(r.rc, BP_OK);
    CHECK_EQ(r.found, 2);
    CHECK(RANK_IS(&r, 0, BYTE_ID('a'), EXTRA_ID(1)));
    CHECK(RANK_IS(&r, 1, EXTRA_ID(0), BYTE_ID('c')));
    nbest_free(&r);

    r = nbest("abc", 3, 1);
    CHECK(r.rc == BP_OK && r.found == 1 && RANK_IS(&r, 0, BYTE_ID('a'), EXTRA_ID(1)) && r.scores[0] == -21.5);
    nbest_free(&r);
}

static void test_ties_keep_the_viterbi_order(void)
{
    nbest_result r = nbest("xy", 2, 5); /* "xy" -20 == "x"+"y" -20 */
    CHECK_EQ(r.rc, BP_OK);
    CHECK_EQ(r.found, 2);
    CHECK(RANK_IS(&r, 0, EXTRA_ID(4))); /* as BP_MODE_BEST: the longest piece */
    CHECK(RANK_IS(&r, 1, BYTE_ID('x'), BYTE_ID('y')));
    CHECK(r.found == 2 && r.scores[0] == r.scores[1]);
    nbest_free(&r);
}

static void test_chunks_multiply_and_are_never_crossed(void)
{
    /* "x\n" and "xy" have 1 and 2 segmentations: 2 in all, never with "\nx". */
    nbest_result r = nbest("x\nxy", 4, 10);
    CHECK_EQ(r.rc, BP_OK);
    CHECK_EQ(r.found, 2);
    CHECK(RANK_IS(&r, 0, BYTE_ID('x'), BYTE_ID('\n'), EXTRA_ID(4)));
    CHECK(RANK_IS(&r, 1, BYTE_ID('x'), BYTE_ID('\n'), BYTE_ID('x'), BYTE_ID('y')));
    nbest_free(&r);
}

static void test_empty_text_has_the_empty_segmentation(void)
{
    nbest_result r = nbest("", 0, 3);
    CHECK_EQ(r.rc, BP_OK);
    CHECK_EQ(r.found, 1);
    CHECK(r.offsets[0] == 0 && r.offsets[1] == 0);
    CHECK(r.scores[0] == 0.0);
    nbest_free(&r);
}

/* This file's random stream (bp_test_random). */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static void test_agrees_with_best_and_brute_force(void)
{
    const char alphabet[] = "abcdxy\n";
    enum { CAP = 4096 };
    double *all = malloc(CAP * sizeof *all);
    int not_best = 0, increasing = 0, not_spelled = 0, wrong_score = 0, wrong_count = 0, not_brute = 0,
        repeated = 0;
    for (int trial = 0; trial < 150; trial++) {
        char text[9];
        size_t len = 1 + bp_test_random(&rng) % 8, k = 1 + bp_test_random(&rng) % 12;
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[bp_test_random(&rng) % 7];
        nbest_result r = nbest(text, len, k);
        CHECK_EQ(r.rc, BP_OK);
        if (r.rc != BP_OK) {
            nbest_free(&r);
            continue;
        }
        /* Rank 0 is BP_MODE_BEST's segmentation. */
        int32_t best[8];
        size_t num_best;
        CHECK_EQ(bp_encode(t1, (const uint8_t *)text, len, BP_MODE_BEST, 0.0, 0, best, &num_best), BP_OK);
        not_best += !rank_is(&r, 0, best, num_best);
        /* Brute force: how many there are and their best scores. */
        size_t total = 0;
        test_enumerate(&v1, (const uint8_t *)text, len, 0, 0.0, all, &total, CAP);
        qsort(all, total < CAP ? total : CAP, sizeof *all, test_compare_desc);
        wrong_count += r.found != (total < k ? total : k);
        for (size_t i = 0; i < r.found; i++) {
            const int32_t *ids = r.ids + r.offsets[i];
            size_t n = (size_t)(r.offsets[i + 1] - r.offsets[i]);
            increasing += i > 0 && r.scores[i] > r.scores[i - 1];
            not_spelled += !test_ids_spell(&v1, ids, n, (const uint8_t *)text, len);
            wrong_score += fabs(test_ids_score(&v1, ids, n) - r.scores[i]) > 1e-9;
            not_brute += i < total && fabs(all[i] - r.scores[i]) > 1e-9;
            for (size_t j = 0; j < i; j++) /* distinct segmentations */
                repeated += r.offsets[j + 1] - r.offsets[j] == (int64_t)n &&
                            memcmp(r.ids + r.offsets[j], ids, n * sizeof *ids) == 0;
        }
        nbest_free(&r);
    }
    CHECK_EQ(not_best, 0);
    CHECK_EQ(increasing, 0);
    CHECK_EQ(not_spelled, 0);
    CHECK_EQ(wrong_score, 0);
    CHECK_EQ(wrong_count, 0);
    CHECK_EQ(not_brute, 0);
    CHECK_EQ(repeated, 0);
    free(all);
}

/* Regression companion of test_segmenter.c's hostile scores: scores that
 * bp_trie_build refuses, written into the trie afterwards (NaN breaks the
 * order of the lists; sums reach +-inf). Every segmentation found must
 * still spell the text, and there is always at least one. */
static void test_whatever_the_scores_every_result_is_a_segmentation(void)
{
    const test_piece extra[] = {PIECE("ab", -12.0), PIECE("bc", -11.5), PIECE("abc", -25.0), PIECE("aa", -2.5),
                                PIECE("aaa", -3.0), PIECE("b\n", -1.0), PIECE("\nx", -1.0)};
    uint64_t state = 0xda942042e4dd58b5ULL;
    for (int pattern = 0; pattern < TEST_NUM_HOSTILE; pattern++) {
        test_vocab v;
        bp_trie *trie = test_hostile_trie(&v, extra, sizeof extra / sizeof extra[0], pattern, &state);
        if (!trie)
            continue;
        int failed = 0, none = 0, not_spelled = 0;
        for (int trial = 0; trial < 60; trial++) {
            uint8_t text[64];
            size_t len = trial == 0 ? 0 : 1 + bp_test_random(&rng) % 63, k = 1 + bp_test_random(&rng) % 9;
            for (size_t i = 0; i < len; i++)
                text[i] = trial % 2 ? (uint8_t)"aab\nxc"[bp_test_random(&rng) % 6]
                                    : (uint8_t)(bp_test_random(&rng) >> 3);
            int32_t *ids = malloc((len ? len : 1) * k * sizeof *ids);
            int64_t *offsets = malloc((k + 1) * sizeof *offsets);
            double *scores = malloc(k * sizeof *scores);
            size_t found = 0;
            failed += bp_nbest(trie, text, len, k, ids, offsets, scores, &found) != BP_OK;
            none += found < 1 || found > k;
            for (size_t r = 0; r < found && r < k; r++)
                not_spelled += offsets[r + 1] < offsets[r] ||
                               !test_ids_spell(&v, ids + offsets[r], (size_t)(offsets[r + 1] - offsets[r]), text, len);
            free(ids);
            free(offsets);
            free(scores);
        }
        if (failed || none || not_spelled)
            fprintf(stderr, "  scores \"%s\": %d failed, %d without a result, %d not spelled\n",
                    test_hostile_name(pattern), failed, none, not_spelled);
        CHECK_EQ(failed, 0);
        CHECK_EQ(none, 0);
        CHECK_EQ(not_spelled, 0);
        bp_trie_free(trie);
        test_vocab_free(&v);
    }
}

static void test_errors(void)
{
    int32_t ids[16];
    int64_t offsets[3];
    double scores[2];
    size_t found;
    const uint8_t *text = (const uint8_t *)"abcd";
    found = 99;
    CHECK_EQ(bp_nbest(t1, text, 4, 0, ids, offsets, scores, &found), BP_ERR_INVALID); /* k == 0 */
    CHECK_EQ(bp_nbest(NULL, text, 4, 2, ids, offsets, scores, &found), BP_ERR_INVALID);
    CHECK_EQ(bp_nbest(t1, NULL, 4, 2, ids, offsets, scores, &found), BP_ERR_INVALID);
    CHECK_EQ(bp_nbest(t1, text, 4, 2, NULL, offsets, scores, &found), BP_ERR_INVALID);
    CHECK_EQ(bp_nbest(t1, text, 4, 2, ids, NULL, scores, &found), BP_ERR_INVALID);
    CHECK_EQ(bp_nbest(t1, text, 4, 2, ids, offsets, NULL, &found), BP_ERR_INVALID);
    CHECK_EQ(bp_nbest(t1, text, 4, 2, ids, offsets, scores, NULL), BP_ERR_INVALID);
    /* A k so large that k * (len + 1) entries overflow: refused, not wrapped. */
    CHECK_EQ(bp_nbest(t1, text, 4, SIZE_MAX / 2, ids, offsets, scores, &found), BP_ERR_NOMEM);
}

int main(void)
{
    if (test_vocab_build(&v1, -10.0, TEST_V1, TEST_NV1, &t1) != BP_OK) {
        fprintf(stderr, "cannot build the test vocabulary\n");
        test_vocab_free(&v1);
        return 1;
    }
    RUN(test_all_segmentations_of_abc_in_order);
    RUN(test_ties_keep_the_viterbi_order);
    RUN(test_chunks_multiply_and_are_never_crossed);
    RUN(test_empty_text_has_the_empty_segmentation);
    RUN(test_agrees_with_best_and_brute_force);
    RUN(test_whatever_the_scores_every_result_is_a_segmentation);
    RUN(test_errors);
    bp_trie_free(t1);
    test_vocab_free(&v1);
    return bp_test_report("nbest");
}
