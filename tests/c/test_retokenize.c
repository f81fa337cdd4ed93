/* Unit tests of bp_retokenize.h: the trainer's token totals
 * (bp_count_tokens) and alternative segmentations (bp_alternative_lengths),
 * on hand-made vocabularies (bp_test_vocab.h), and whatever the scores. */
#include "bp_retokenize.h"
#include "bp_segmenter.h"
#include "bp_test.h"
#include "bp_test_vocab.h"

/* TEST_V1 (bp_test_vocab.h, with its hand-worked segmentations). */
static test_vocab v1;
static bp_trie *t1;

/* This file's random stream (bp_test_random). */
static uint64_t rng = 0x2545F4914F6CDD1DULL;

static void test_count_tokens(void)
{
    /* "abcd" -> ab, cd (weight 2); "abc" -> a, bc (weight 5); "ab\nab" -> a, "b\n", ab (weight 1). */
    const uint8_t data[] = "abcdabcab\nab";
    const int64_t offsets[] = {0, 4, 7, 12};
    const uint64_t weights[] = {2, 5, 1};
    const size_t num_totals = (size_t)EXTRA_ID(TEST_NV1 - 1) + 1;
    uint64_t *totals = malloc(num_totals * sizeof *totals);
    for (size_t i = 0; i < num_totals; i++)
        totals[i] = 1000; /* not cleared first */
    CHECK_EQ(bp_count_tokens(t1, data, offsets, 3, weights, totals, num_totals), BP_OK);
    uint64_t sum = 0;
    for (size_t i = 0; i < num_totals; i++)
        sum += totals[i] - 1000;
    CHECK_EQ(sum, 2 * 2 + 5 * 2 + 1 * 3);
    CHECK_EQ(totals[EXTRA_ID(0)], 1000 + 2 + 1); /* "ab" */
    CHECK_EQ(totals[EXTRA_ID(3)], 1000 + 2);     /* "cd" */
    CHECK_EQ(totals[BYTE_ID('a')], 1000 + 5 + 1);
    CHECK_EQ(totals[EXTRA_ID(1)], 1000 + 5);     /* "bc" */
    CHECK_EQ(totals[EXTRA_ID(5)], 1000 + 1);     /* "b\n" */
    CHECK_EQ(totals[BP_BOS_ID], 1000);

    /* No texts: nothing to read, nothing added. */
    const int64_t zero[] = {0};
    CHECK_EQ(bp_count_tokens(t1, NULL, zero, 0, NULL, totals, num_totals), BP_OK);
    CHECK_EQ(totals[EXTRA_ID(0)], 1003);

    /* num_totals must exceed the largest id. */
    CHECK_EQ(bp_count_tokens(t1, data, offsets, 3, weights, totals, num_totals - 1), BP_ERR_INVALID);
    CHECK_EQ(bp_count_tokens(t1, data, offsets, 3, weights, totals, 0), BP_ERR_INVALID);
    /* NULL arguments and broken offsets. */
    CHECK_EQ(bp_count_tokens(NULL, data, offsets, 3, weights, totals, num_totals), BP_ERR_INVALID);
    CHECK_EQ(bp_count_tokens(t1, NULL, offsets, 3, weights, totals, num_totals), BP_ERR_INVALID);
    CHECK_EQ(bp_count_tokens(t1, data, NULL, 3, weights, totals, num_totals), BP_ERR_INVALID);
    CHECK_EQ(bp_count_tokens(t1, data, offsets, 3, NULL, totals, num_totals), BP_ERR_INVALID);
    CHECK_EQ(bp_count_tokens(t1, data, offsets, 3, weights, NULL, num_totals), BP_ERR_INVALID);
    const int64_t decreasing[] = {0, 4, 3};
    CHECK_EQ(bp_count_tokens(t1, data, decreasing, 2, weights, totals, num_totals), BP_ERR_INVALID);
    const int64_t negative[] = {-1, 4};
    CHECK_EQ(bp_count_tokens(t1, data, negative, 1, weights, totals, num_totals), BP_ERR_INVALID);
    free(totals);
}

static void test_alternative_lengths(void)
{
    /* TEST_V1: "abc" without itself -> a+bc (2); "ab" -> a+b; "xy" -> x+y (the
     * tie with the whole piece no longer matters); "abcd" (not a piece) ->
     * ab+cd; one byte and the empty text have no alternative (0). */
    const uint8_t data[] = "abcabxyabcdq";
    const int64_t offsets[] = {0, 3, 5, 7, 11, 12, 12};
    int32_t out[6] = {-1, -1, -1, -1, -1, -1};
    CHECK_EQ(bp_alternative_lengths(t1, data, offsets, 6, out), BP_OK);
    CHECK_EQ(out[0], 2);
    CHECK_EQ(out[1], 2);
    CHECK_EQ(out[2], 2);
    CHECK_EQ(out[3], 2);
    CHECK_EQ(out[4], 0);
    CHECK_EQ(out[5], 0);

    /* The alternative is the best segmentation with the whole-text path removed:
     * check it against the brute-force maximum over random texts of TEST_V1's letters. */
    for (int trial = 0; trial < 300; trial++) {
        uint8_t text[8];
        size_t len = 2 + bp_test_random(&rng) % 6;
        for (size_t i = 0; i < len; i++)
            text[i] = (uint8_t)("abcdxy"[bp_test_random(&rng) % 6]);
        const int64_t one[] = {0, (int64_t)len};
        int32_t tokens = -1;
        CHECK_EQ(bp_alternative_lengths(t1, text, one, 1, &tokens), BP_OK);
        int32_t ids[8];
        size_t num = 0;
        CHECK_EQ(bp_encode(t1, text, len, BP_MODE_BEST, 0.0, 0, ids, &num), BP_OK);
        if (num > 1) /* the best segmentation is not one token: it is the alternative */
            CHECK_EQ((size_t)tokens, num);
        else
            CHECK(tokens >= 2 && (size_t)tokens <= len);
    }

    CHECK_EQ(bp_alternative_lengths(NULL, data, offsets, 6, out), BP_ERR_INVALID);
    CHECK_EQ(bp_alternative_lengths(t1, NULL, offsets, 6, out), BP_ERR_INVALID);
    CHECK_EQ(bp_alternative_lengths(t1, data, NULL, 6, out), BP_ERR_INVALID);
    CHECK_EQ(bp_alternative_lengths(t1, data, offsets, 6, NULL), BP_ERR_INVALID);
    const int64_t decreasing[] = {0, 3, 2};
    CHECK_EQ(bp_alternative_lengths(t1, data, decreasing, 2, out), BP_ERR_INVALID);
    CHECK_EQ(bp_alternative_lengths(t1, NULL, offsets, 0, NULL), BP_OK);
}

/* bp_count_tokens against bp_encode text by text (the oracle), on many
 * texts, empty ones, runs of '\n' and one text of 70000 bytes. */
static void test_count_tokens_equals_encode_over_many_runs(void)
{
    enum { TEXTS = 9000 };
    int64_t *offsets = malloc((TEXTS + 1) * sizeof *offsets);
    uint64_t *weights = malloc(TEXTS * sizeof *weights);
    size_t total = 0;
    offsets[0] = 0;
    for (size_t k = 0; k < TEXTS; k++) {
        size_t len = k == 4500 ? 70000 : k % 97 == 0 ? 0 : 1 + bp_test_random(&rng) % 24;
        total += len;
        offsets[k + 1] = (int64_t)total;
        weights[k] = 1 + k % 7;
    }
    uint8_t *data = malloc(total);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)"abcdxy\n\nq"[bp_test_random(&rng) % 9];
    const size_t num_totals = (size_t)EXTRA_ID(TEST_NV1 - 1) + 1;
    uint64_t *totals = calloc(num_totals, sizeof *totals), *want = calloc(num_totals, sizeof *want);
    int32_t *ids = malloc(70000 * sizeof *ids);
    CHECK_EQ(bp_count_tokens(t1, data, offsets, TEXTS, weights, totals, num_totals), BP_OK);
    int failed = 0;
    for (size_t k = 0; k < TEXTS; k++) {
        size_t num = 0;
        failed += bp_encode(t1, data + offsets[k], (size_t)(offsets[k + 1] - offsets[k]), BP_MODE_BEST, 0.0, 0, ids,
                            &num) != BP_OK;
        for (size_t t = 0; t < num; t++)
            want[ids[t]] += weights[k];
    }
    CHECK_EQ(failed, 0);
    CHECK(memcmp(totals, want, num_totals * sizeof *totals) == 0);
    free(offsets);
    free(weights);
    free(data);
    free(totals);
    free(want);
    free(ids);
}

/* Sum over the ids of count * their byte length (ids outside the
 * vocabulary count as 0 bytes: the comparison then fails). */
static uint64_t counted_bytes(const test_vocab *v, const uint64_t *totals, size_t num_totals)
{
    uint64_t bytes = 0;
    for (size_t id = BP_NUM_SPECIAL; id < num_totals && id - BP_NUM_SPECIAL < v->n; id++)
        bytes += totals[id] * test_piece_len(v, (int32_t)id);
    return bytes;
}

/*
 * Scores that bp_trie_build refuses, written into the trie afterwards as
 * hostile memory would hold them (see test_segmenter.c's regression): the
 * counted pieces still cover each text, and every alternative is the token
 * count of some other segmentation.
 */
static void test_retokenizing_whatever_the_scores(void)
{
    uint8_t *texts[TEST_HOSTILE_TEXTS];
    size_t lengths[TEST_HOSTILE_TEXTS], total = 0;
    test_hostile_texts(texts, lengths, &rng);
    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++)
        total += lengths[k];
    uint64_t state = 0x853c49e6748fea9bULL;
    for (int pattern = 0; pattern < TEST_NUM_HOSTILE; pattern++) {
        test_vocab v;
        bp_trie *trie = test_hostile_trie(&v, TEST_VH, TEST_NVH, pattern, &state);
        if (!trie)
            continue;
        int failed_calls = 0;
        /* bp_count_tokens: the counted pieces cover each text, weighted. */
        uint8_t *data = malloc(total);
        int64_t data_offsets[TEST_HOSTILE_TEXTS + 1] = {0};
        uint64_t text_weights[TEST_HOSTILE_TEXTS], expected_bytes = 0;
        for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++) {
            memcpy(data + data_offsets[k], texts[k], lengths[k]);
            data_offsets[k + 1] = data_offsets[k] + (int64_t)lengths[k];
            text_weights[k] = 1 + k % 5;
            expected_bytes += text_weights[k] * lengths[k];
        }
        const size_t num_totals = (size_t)EXTRA_ID(TEST_NVH);
        uint64_t *totals = calloc(num_totals, sizeof *totals);
        failed_calls += bp_count_tokens(trie, data, data_offsets, TEST_HOSTILE_TEXTS, text_weights, totals,
                                        num_totals) != BP_OK;
        const int counts_cover = counted_bytes(&v, totals, num_totals) == expected_bytes;
        /* bp_alternative_lengths: some segmentation other than the text itself. */
        int32_t alternatives[TEST_HOSTILE_TEXTS];
        failed_calls += bp_alternative_lengths(trie, data, data_offsets, TEST_HOSTILE_TEXTS, alternatives) != BP_OK;
        int bad_alternatives = 0;
        for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++)
            bad_alternatives += lengths[k] < 2 ? alternatives[k] != 0
                                               : alternatives[k] < 2 || (size_t)alternatives[k] > lengths[k];
        if (failed_calls || !counts_cover || bad_alternatives)
            fprintf(stderr, "  scores \"%s\": %d failed calls, counts %s, %d bad alternatives\n",
                    test_hostile_name(pattern), failed_calls, counts_cover ? "cover" : "do not cover",
                    bad_alternatives);
        CHECK_EQ(failed_calls, 0);
        CHECK(counts_cover);
        CHECK_EQ(bad_alternatives, 0);
        free(totals);
        free(data);
        bp_trie_free(trie);
        test_vocab_free(&v);
    }
    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++)
        free(texts[k]);
}

/*
 * bp_lattice_count against bp_count_tokens (the oracle): a lattice of
 * random texts (runs of '\n' included) with TEST_V1 as its base counts,
 * for the base and for vocabularies of it with some extra pieces removed
 * and other scores, the totals of a trie built of that vocabulary.
 */
static void test_lattice_equals_count_tokens(void)
{
    enum { TEXTS = 500 };
    int64_t offsets[TEXTS + 1];
    uint64_t weights[TEXTS];
    size_t total = 0;
    offsets[0] = 0;
    for (size_t k = 0; k < TEXTS; k++) {
        total += k % 50 == 0 ? 0 : 1 + bp_test_random(&rng) % 30;
        offsets[k + 1] = (int64_t)total;
        weights[k] = 1 + k % 5;
    }
    uint8_t *data = malloc(total + 1);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)"abcdxy\n\nq"[bp_test_random(&rng) % 9];
    bp_lattice *lattice = NULL;
    CHECK_EQ(bp_lattice_build(t1, data, offsets, TEXTS, &lattice), BP_OK);
    CHECK(lattice != NULL && bp_lattice_num_edges(lattice) >= total && bp_lattice_memory(lattice) > 0);
    const size_t num_totals = (size_t)EXTRA_ID(TEST_NV1 - 1) + 1, num_base = num_totals;
    uint64_t *got = malloc(num_totals * sizeof *got), *want = malloc(num_totals * sizeof *want);
    double *scores = malloc(num_base * sizeof *scores);
    int32_t *ids = malloc(num_base * sizeof *ids);
    for (int trial = 0; trial < 40; trial++) {
        /* A vocabulary: the single bytes and some extra pieces, ids in the
         * base's order, scores drawn (ties among them on purpose). */
        test_vocab sub = {0};
        test_piece pieces[TEST_NV1];
        size_t m = 0;
        for (size_t i = 0; i < TEST_NV1; i++)
            if (trial == 0 || bp_test_random(&rng) % 3) {
                pieces[m] = TEST_V1[i];
                pieces[m++].score = trial == 0 ? TEST_V1[i].score : -(double)(1 + bp_test_random(&rng) % 30);
            }
        const double byte_score = trial == 0 ? -10.0 : -(double)(5 + bp_test_random(&rng) % 10);
        bp_trie *trie = NULL;
        CHECK_EQ(test_vocab_build(&sub, byte_score, pieces, m, &trie), BP_OK);
        for (size_t b = 0; b < num_base; b++)
            ids[b] = -1, scores[b] = NAN; /* ignored where absent */
        for (size_t t = 0; t < sub.n; t++) {
            /* The base id of the sub-vocabulary's piece t: its id in t1. */
            int32_t node = 0;
            for (int64_t i = sub.offsets[t]; i < sub.offsets[t + 1]; i++)
                node = bp_trie_child(t1, node, sub.bytes[i]);
            const int32_t b = t1->info[node].id;
            ids[b] = sub.ids[t];
            scores[b] = sub.scores[t];
        }
        memset(got, 0, num_totals * sizeof *got);
        memset(want, 0, num_totals * sizeof *want);
        CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, weights, got, num_totals), BP_OK);
        CHECK_EQ(bp_count_tokens(trie, data, offsets, TEXTS, weights, want, num_totals), BP_OK);
        CHECK(memcmp(got, want, num_totals * sizeof *got) == 0);
        if (trial == 1) {
            /* Contract errors: a vocabulary without a single byte, a
             * score that is not finite or too large, an id past the totals,
             * too few base entries, NULL arguments. */
            const int32_t id = ids[BYTE_ID('a')];
            ids[BYTE_ID('a')] = -1;
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, weights, got, num_totals), BP_ERR_INVALID);
            ids[BYTE_ID('a')] = id;
            const double score = scores[BYTE_ID('a')];
            scores[BYTE_ID('a')] = NAN;
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, weights, got, num_totals), BP_ERR_INVALID);
            scores[BYTE_ID('a')] = -2 * BP_MAX_ABS_SCORE;
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, weights, got, num_totals), BP_ERR_INVALID);
            scores[BYTE_ID('a')] = score;
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, weights, got, (size_t)id), BP_ERR_INVALID);
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base - 1, weights, got, num_totals), BP_ERR_INVALID);
            CHECK_EQ(bp_lattice_count(NULL, scores, ids, num_base, weights, got, num_totals), BP_ERR_INVALID);
            CHECK_EQ(bp_lattice_count(lattice, NULL, ids, num_base, weights, got, num_totals), BP_ERR_INVALID);
            CHECK_EQ(bp_lattice_count(lattice, scores, NULL, num_base, weights, got, num_totals), BP_ERR_INVALID);
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, NULL, got, num_totals), BP_ERR_INVALID);
            CHECK_EQ(bp_lattice_count(lattice, scores, ids, num_base, weights, NULL, num_totals), BP_ERR_INVALID);
        }
        bp_trie_free(trie);
        test_vocab_free(&sub);
    }
    /* The ids of the base's pieces, and -1 for texts that are none. */
    const uint8_t words[] = "abcqabcab"; /* "ab", "c", "", "qa", "bcab" */
    const int64_t word_offsets[] = {0, 2, 3, 3, 5, 9};
    int32_t found[5];
    CHECK_EQ(bp_lookup_ids(t1, words, word_offsets, 5, found), BP_OK);
    CHECK(found[0] == EXTRA_ID(0) && found[1] == BYTE_ID('c') && found[2] == -1 && found[3] == -1 &&
          found[4] == -1);
    CHECK_EQ(bp_lookup_ids(NULL, words, word_offsets, 5, found), BP_ERR_INVALID);
    /* Build errors: NULL arguments, decreasing offsets. */
    bp_lattice *none = (bp_lattice *)1;
    CHECK_EQ(bp_lattice_build(NULL, data, offsets, TEXTS, &none), BP_ERR_INVALID);
    CHECK(none == NULL);
    CHECK_EQ(bp_lattice_build(t1, data, offsets, TEXTS, NULL), BP_ERR_INVALID);
    const int64_t decreasing[] = {0, 4, 2};
    CHECK_EQ(bp_lattice_build(t1, data, decreasing, 2, &none), BP_ERR_INVALID);
    bp_lattice_free(NULL);
    bp_lattice_free(lattice);
    free(data);
    free(got);
    free(want);
    free(scores);
    free(ids);
}

int main(void)
{
    if (test_vocab_build(&v1, -10.0, TEST_V1, TEST_NV1, &t1) != BP_OK) {
        fprintf(stderr, "cannot build the test vocabulary\n");
        test_vocab_free(&v1);
        return 1;
    }
    RUN(test_count_tokens);
    RUN(test_count_tokens_equals_encode_over_many_runs);
    RUN(test_alternative_lengths);
    RUN(test_retokenizing_whatever_the_scores);
    RUN(test_lattice_equals_count_tokens);
    bp_trie_free(t1);
    test_vocab_free(&v1);
    return bp_test_report("retokenize");
}
