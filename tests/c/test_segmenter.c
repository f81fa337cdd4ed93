/* Unit tests of bp_segmenter.h: bp_encode in its three modes,
 * bp_encode_batch (log-space and linear perfect sampling) and
 * bp_sampling_weights, on hand-made vocabularies (bp_test_vocab.h). */
#include "bp_rng.h"
#include "bp_segmenter.h"
#include "bp_test.h"
#include "bp_test_vocab.h"

#include <float.h>

/* TEST_V1 (bp_test_vocab.h, with its hand-worked segmentations). */
static test_vocab v1;
static bp_trie *t1;

/* bp_encode into an exact-size buffer (len entries, at least 1 so malloc
 * returns a pointer); returns the rc, ids in *ids (caller frees). */
static int encode(const bp_trie *trie, const char *text, size_t len, bp_mode mode, double alpha, uint64_t key,
                  int32_t **ids, size_t *num)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    *ids = malloc((len ? len : 1) * sizeof **ids);
    *num = (size_t)-1;
    int rc = bp_encode(trie, copy, len, mode, alpha, key, *ids, num);
    free(copy);
    return rc;
}

/* 1 iff BEST encodes text to exactly the expected ids. */
static int best_is(const char *text, size_t len, const int32_t *expected, size_t num_expected)
{
    int32_t *ids;
    size_t num;
    int rc = encode(t1, text, len, BP_MODE_BEST, -1.0, 0, &ids, &num);
    int same = rc == BP_OK && num == num_expected && memcmp(ids, expected, num * sizeof *ids) == 0;
    if (!same) {
        fprintf(stderr, "  BEST of \"%.*s\": rc %d, ids", (int)len, text, rc);
        for (size_t i = 0; rc == BP_OK && i < num; i++)
            fprintf(stderr, " %d", ids[i]);
        fputc('\n', stderr);
    }
    free(ids);
    return same;
}
#define BEST_IS(lit, ...) \
    best_is(lit, sizeof(lit) - 1, (const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / 4)

static void test_best_hand_worked_examples(void)
{
    CHECK(BEST_IS("abc", BYTE_ID('a'), EXTRA_ID(1)));
    CHECK(BEST_IS("abcd", EXTRA_ID(0), EXTRA_ID(3)));
    CHECK(BEST_IS("ab", EXTRA_ID(0)));
    CHECK(BEST_IS("a", BYTE_ID('a')));
    CHECK(BEST_IS("xy", EXTRA_ID(4)));                            /* tie: the longest */
    CHECK(BEST_IS("x\nx", BYTE_ID('x'), BYTE_ID('\n'), BYTE_ID('x'))); /* no piece crosses a chunk */
    CHECK(BEST_IS("ab\nab", BYTE_ID('a'), EXTRA_ID(5), EXTRA_ID(0)));
    /* "ab\n\n" -> a+"b\n"+"\n" -21 beats ab+"\n"+"\n" -32 */
    CHECK(BEST_IS("ab\n\nab", BYTE_ID('a'), EXTRA_ID(5), BYTE_ID('\n'), EXTRA_ID(0)));
    CHECK(BEST_IS("\x00\xff\x80", BYTE_ID(0x00), BYTE_ID(0xff), BYTE_ID(0x80))); /* any bytes */
    CHECK(BEST_IS("a\0b", BYTE_ID('a'), BYTE_ID(0), BYTE_ID('b')));
}

static void test_best_on_empty_and_long_text(void)
{
    int32_t id = 77;
    size_t num = 5;
    CHECK_EQ(bp_encode(t1, NULL, 0, BP_MODE_BEST, 0.0, 0, &id, &num), BP_OK);
    CHECK_EQ(num, 0);
    CHECK_EQ(id, 77);
    num = 5;
    CHECK_EQ(bp_encode(t1, (const uint8_t *)"", 0, BP_MODE_SAMPLE_PERFECT, 1.0, 9, &id, &num), BP_OK);
    CHECK_EQ(num, 0);

    /* 4000 bytes, one chunk: the per-position rings wrap many times. */
    enum { REPS = 1000 };
    char *text = malloc(4 * REPS);
    for (int r = 0; r < REPS; r++)
        memcpy(text + 4 * r, "abcd", 4);
    int32_t *ids;
    CHECK_EQ(encode(t1, text, 4 * REPS, BP_MODE_BEST, 0.0, 0, &ids, &num), BP_OK);
    CHECK_EQ(num, 2 * REPS);
    int wrong = 0;
    for (size_t i = 0; i < num && i < 2 * REPS; i++)
        wrong += ids[i] != (i % 2 ? EXTRA_ID(3) : EXTRA_ID(0));
    CHECK_EQ(wrong, 0);
    free(ids);
    free(text);
}

/* This file's random stream (bp_test_random): small reproducible texts. */
static uint64_t rng = 0x2545F4914F6CDD1DULL;

static void test_best_is_the_brute_force_maximum(void)
{
    const char alphabet[] = "abcdxy\n";
    double scores[4096];
    int bad_spell = 0, bad_score = 0;
    for (int trial = 0; trial < 200; trial++) {
        char text[9];
        size_t len = 1 + bp_test_random(&rng) % 8;
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[bp_test_random(&rng) % 7];
        int32_t *ids;
        size_t num, total = 0;
        CHECK_EQ(encode(t1, text, len, BP_MODE_BEST, 0.0, 0, &ids, &num), BP_OK);
        test_enumerate(&v1, (const uint8_t *)text, len, 0, 0.0, scores, &total, 4096);
        double best = -INFINITY;
        for (size_t i = 0; i < total && i < 4096; i++)
            best = scores[i] > best ? scores[i] : best;
        bad_spell += !test_ids_spell(&v1, ids, num, (const uint8_t *)text, len);
        bad_score += fabs(test_ids_score(&v1, ids, num) - best) > 1e-9;
        free(ids);
    }
    CHECK_EQ(bad_spell, 0);
    CHECK_EQ(bad_score, 0);
}

/* V2: every run of 'a' has many segmentations of similar scores. */
static const test_piece V2[] = {PIECE("aa", -2.5), PIECE("aaa", -3.0), PIECE("aaaa", -3.5)};

static void test_samplers_are_deterministic_per_key_and_vary_across_keys(void)
{
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -2.0, V2, 3, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(&v);
        return;
    }
    char text[64];
    memset(text, 'a', sizeof text);
    text[30] = '\n'; /* two chunks */
    const bp_mode modes[] = {BP_MODE_SAMPLE_PERFECT, BP_MODE_SAMPLE_VITERBI};
    for (int m = 0; m < 2; m++) {
        enum { KEYS = 20 };
        int32_t *first[KEYS];
        size_t num[KEYS];
        int spelled = 1, repeated = 1;
        for (int k = 0; k < KEYS; k++) {
            uint64_t key = bp_stream_key(2024, (uint64_t)k);
            CHECK_EQ(encode(trie, text, sizeof text, modes[m], 1.0, key, &first[k], &num[k]), BP_OK);
            spelled &= test_ids_spell(&v, first[k], num[k], (const uint8_t *)text, sizeof text);
            int32_t *again;
            size_t num_again;
            CHECK_EQ(encode(trie, text, sizeof text, modes[m], 1.0, key, &again, &num_again), BP_OK);
            repeated &= num_again == num[k] && memcmp(again, first[k], num[k] * sizeof *again) == 0;
            free(again);
        }
        CHECK(spelled);
        CHECK(repeated);
        int distinct = 0;
        for (int k = 0; k < KEYS; k++) {
            int seen = 0;
            for (int j = 0; j < k && !seen; j++)
                seen = num[j] == num[k] && memcmp(first[j], first[k], num[k] * sizeof(int32_t)) == 0;
            distinct += !seen;
        }
        CHECK(distinct >= KEYS / 2);
        for (int k = 0; k < KEYS; k++)
            free(first[k]);
    }
    bp_trie_free(trie);
    test_vocab_free(&v);
}

static void test_perfect_sampling_frequencies(void)
{
    /* "aa" = "aa" (score -1) or "a"+"a" (-2): P("aa") = e^-a / (e^-a + e^-2a). */
    const test_piece extra[] = {PIECE("aa", -1.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -1.0, extra, 1, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(&v);
        return;
    }
    const double alphas[] = {0.0, 1.0, 0.5};
    for (int a = 0; a < 3; a++) {
        enum { DRAWS = 4000 };
        int whole = 0, failed = 0;
        for (uint64_t k = 0; k < DRAWS; k++) {
            int32_t ids[2];
            size_t num = 0;
            failed += bp_encode(trie, (const uint8_t *)"aa", 2, BP_MODE_SAMPLE_PERFECT, alphas[a], bp_stream_key(7, k),
                                ids, &num) != BP_OK;
            whole += num == 1;
        }
        CHECK_EQ(failed, 0);
        double expected = 1.0 / (1.0 + exp(-alphas[a]));
        CHECK_NEAR((double)whole / DRAWS, expected, 0.03); /* about 4 standard deviations */
    }
    bp_trie_free(trie);
    test_vocab_free(&v);
}

static void test_perfect_sampling_with_huge_alpha_is_best(void)
{
    const char *texts[] = {"abc", "abcd", "ab\nab", "abcabcd\ncd", "bcbcab", "x\nx", "ab\n\n\nabcd"};
    int differ = 0;
    for (int t = 0; t < 7; t++) {
        size_t len = strlen(texts[t]);
        int32_t *best, *sampled;
        size_t nb, ns;
        CHECK_EQ(encode(t1, texts[t], len, BP_MODE_BEST, 0.0, 0, &best, &nb), BP_OK);
        for (uint64_t k = 0; k < 5; k++) {
            CHECK_EQ(encode(t1, texts[t], len, BP_MODE_SAMPLE_PERFECT, 1e6, bp_stream_key(1, k), &sampled, &ns),
                     BP_OK);
            differ += ns != nb || memcmp(best, sampled, nb * sizeof *best) != 0;
            free(sampled);
        }
        free(best);
    }
    CHECK_EQ(differ, 0);
}

/* Perfect sampling of texts[0 .. n) through bp_encode_batch with the given
 * weights (NULL: the log-space form); ids into *ids (caller frees). */
static int sample_batch(const bp_trie *trie, const double *weights, double alpha, const uint8_t *const *texts,
                        const size_t *lengths, size_t n, const uint64_t *keys, int32_t **ids, int64_t *offsets)
{
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += lengths[k];
    *ids = malloc((total + 2 * n + 1) * sizeof **ids);
    return bp_encode_batch(trie, texts, lengths, n, BP_MODE_SAMPLE_PERFECT, alpha, weights, keys, 0, 0, *ids,
                           offsets);
}

/* 1 iff the linear form (weights of bp_sampling_weights) draws exactly what
 * the log-space form draws for every text and key. */
static int linear_equals_log(const bp_trie *trie, double alpha, const uint8_t *const *texts, const size_t *lengths,
                             size_t n, const uint64_t *keys)
{
    double *weights = malloc(trie->num_units * sizeof *weights);
    int32_t *linear = NULL, *logspace = NULL;
    int64_t *off_linear = malloc((n + 1) * sizeof *off_linear), *off_log = malloc((n + 1) * sizeof *off_log);
    int same = bp_sampling_weights(trie, alpha, weights) == BP_OK &&
               sample_batch(trie, weights, alpha, texts, lengths, n, keys, &linear, off_linear) == BP_OK &&
               sample_batch(trie, NULL, alpha, texts, lengths, n, keys, &logspace, off_log) == BP_OK &&
               memcmp(off_linear, off_log, (n + 1) * sizeof *off_log) == 0 &&
               memcmp(linear, logspace, (size_t)off_log[n] * sizeof *linear) == 0;
    if (!same)
        fprintf(stderr, "  alpha %g: the linear and log-space samples differ\n", alpha);
    free(weights);
    free(linear);
    free(logspace);
    free(off_linear);
    free(off_log);
    return same;
}

static void test_linear_sampling_draws_what_log_space_draws(void)
{
    /* Random texts over the pieces' letters, some with long chunks (no
     * '\n' for thousands of bytes): Z shrinks by about e^-10 a byte there,
     * so the scaled form rescales every few dozen bytes. */
    enum { N = 40 };
    uint8_t *texts[N];
    size_t lengths[N];
    uint64_t keys[N], state = 12345;
    const char letters[] = "abcdxy\n";
    for (size_t k = 0; k < N; k++) {
        lengths[k] = k < 30 ? 1 + k * 7 : 2000 + 300 * k;
        texts[k] = malloc(lengths[k]);
        for (size_t i = 0; i < lengths[k]; i++) {
            state = bp_mix64(state);
            texts[k][i] = (uint8_t)letters[state % (k < 30 ? 7 : 6)];
        }
        keys[k] = bp_stream_key(3, k);
    }
    const double alphas[] = {0.0, 0.1, 0.5, 1.0, 5.0, 7.5}; /* 7.5 * -25: near the limit */
    for (int a = 0; a < 6; a++)
        CHECK(linear_equals_log(t1, alphas[a], (const uint8_t *const *)texts, lengths, N, keys));
    for (size_t k = 0; k < N; k++)
        free(texts[k]);
}

static void test_sampling_weights(void)
{
    double *weights = malloc(t1->num_units * sizeof *weights);
    CHECK_EQ(bp_sampling_weights(t1, 0.5, weights), BP_OK);
    int32_t node = 0;
    for (const char *p = "ab"; *p; p++)
        node = bp_trie_child(t1, node, (uint8_t)*p);
    CHECK(node > 0 && weights[node] == exp(0.5 * -12.0));
    CHECK(weights[0] == 0.0); /* the root ends no piece */
    /* |alpha * score| beyond BP_LINEAR_MAX_EXPONENT: the log-space form must run. */
    CHECK_EQ(bp_sampling_weights(t1, 8.0, weights), BP_OK);              /* 8 * -25 = -200: within */
    CHECK_EQ(bp_sampling_weights(t1, 8.1, weights), BP_ERR_TOO_LARGE);   /* 8.1 * -25 = -202.5 */
    CHECK_EQ(bp_sampling_weights(t1, -1.0, weights), BP_ERR_INVALID);
    CHECK_EQ(bp_sampling_weights(t1, NAN, weights), BP_ERR_INVALID);
    CHECK_EQ(bp_sampling_weights(NULL, 1.0, weights), BP_ERR_INVALID);
    CHECK_EQ(bp_sampling_weights(t1, 1.0, NULL), BP_ERR_INVALID);
    free(weights);
}

static void test_linear_sampling_falls_back_where_the_scale_would_overflow(void)
{
    /* Bytes at -200 and "abbbbbbbbb" at +200: from position 0 the long piece
     * leaves a partial Z of 2^288 ten bytes ahead while Z falls by 2^-288 a
     * byte, so rescaling to keep Z[s] near 1 would overflow that partial:
     * the chunk must be sampled in log space, with the same result. */
    const test_piece extra[] = {PIECE("abbbbbbbbb", 200.0), PIECE("bb", -150.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -200.0, extra, 2, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(&v);
        return;
    }
    const uint8_t *texts[] = {(const uint8_t *)"abbbbbbbbbbbbbbbbbbb", (const uint8_t *)"abbbbbbbbbb\nabbbbbbbbb"};
    const size_t lengths[] = {20, 21};
    uint64_t keys[] = {1, 2};
    for (uint64_t k = 0; k < 50; k++) {
        keys[0] = bp_stream_key(k, 0);
        keys[1] = bp_stream_key(k, 1);
        CHECK(linear_equals_log(trie, 1.0, texts, lengths, 2, keys));
    }
    bp_trie_free(trie);
    test_vocab_free(&v);
}

/* Regression: an alpha whose product with a score overflows made the perfect
 * sampler's weights NaN and its backtrack read unset memory. */
static void test_samplers_refuse_alpha_above_the_maximum(void)
{
    const char text[] = "abcabcabcabcabcabcabcabcabcab";
    const double alphas[] = {BP_MAX_ALPHA * 2, 1e306, DBL_MAX};
    for (int m = 1; m <= 2; m++) {
        for (int a = 0; a < 3; a++) {
            int32_t *ids;
            size_t num;
            CHECK_EQ(encode(t1, text, sizeof text - 1, (bp_mode)m, alphas[a], 5, &ids, &num), BP_ERR_INVALID);
            free(ids);
        }
        int32_t *ids;
        size_t num;
        CHECK_EQ(encode(t1, text, sizeof text - 1, (bp_mode)m, BP_MAX_ALPHA, 5, &ids, &num), BP_OK);
        CHECK(test_ids_spell(&v1, ids, num, (const uint8_t *)text, sizeof text - 1));
        free(ids);
    }
}

static void test_samplers_keep_to_chunks(void)
{
    /* With alpha 0 every segmentation is possible: "\nx" must still never appear. */
    int crossed = 0, spelled = 1;
    for (int m = 1; m <= 2; m++) {
        for (uint64_t k = 0; k < 200; k++) {
            int32_t *ids;
            size_t num;
            CHECK_EQ(encode(t1, "x\nxab\nx", 8, (bp_mode)m, 0.0, bp_stream_key(3, k), &ids, &num), BP_OK);
            for (size_t i = 0; i < num; i++)
                crossed += ids[i] == EXTRA_ID(6);
            spelled &= test_ids_spell(&v1, ids, num, (const uint8_t *)"x\nxab\nx", 8);
            free(ids);
        }
    }
    CHECK_EQ(crossed, 0);
    CHECK(spelled);
}

static void test_encode_errors(void)
{
    int32_t ids[4];
    size_t num;
    const uint8_t *text = (const uint8_t *)"abcd";
    CHECK_EQ(bp_encode(NULL, text, 4, BP_MODE_BEST, 0.0, 0, ids, &num), BP_ERR_INVALID);
    CHECK_EQ(bp_encode(t1, NULL, 4, BP_MODE_BEST, 0.0, 0, ids, &num), BP_ERR_INVALID);
    CHECK_EQ(bp_encode(t1, text, 4, BP_MODE_BEST, 0.0, 0, NULL, &num), BP_ERR_INVALID);
    CHECK_EQ(bp_encode(t1, text, 4, BP_MODE_BEST, 0.0, 0, ids, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_encode(t1, text, 4, (bp_mode)3, 0.0, 0, ids, &num), BP_ERR_INVALID);
    CHECK_EQ(bp_encode(t1, text, 4, (bp_mode)-1, 0.0, 0, ids, &num), BP_ERR_INVALID);
    const double bad_alphas[] = {-1.0, -1e-300, NAN, INFINITY, -INFINITY};
    for (int m = 1; m <= 2; m++)
        for (int a = 0; a < 5; a++)
            CHECK_EQ(bp_encode(t1, text, 4, (bp_mode)m, bad_alphas[a], 0, ids, &num), BP_ERR_INVALID);
    /* BEST ignores alpha, whatever it is. */
    for (int a = 0; a < 5; a++)
        CHECK_EQ(bp_encode(t1, text, 4, BP_MODE_BEST, bad_alphas[a], 0, ids, &num), BP_OK);
    CHECK_EQ(bp_encode(t1, text, 4, BP_MODE_SAMPLE_PERFECT, 0.0, 0, ids, &num), BP_OK);
    CHECK_EQ(bp_encode(t1, text, 4, BP_MODE_SAMPLE_VITERBI, 0.0, 0, ids, &num), BP_OK);
}

/* Calls bp_encode_batch with exact-size outputs. */
static int batch(bp_mode mode, double alpha, const char *const *texts, size_t n, const uint64_t *keys, int bos, int eos,
                 int32_t **ids, int64_t **offsets)
{
    size_t *lengths = malloc((n ? n : 1) * sizeof *lengths), total = 0;
    for (size_t k = 0; k < n; k++)
        total += lengths[k] = strlen(texts[k]);
    *ids = malloc((total + 2 * n + 1) * sizeof **ids);
    *offsets = malloc((n + 1) * sizeof **offsets);
    int rc = bp_encode_batch(t1, (const uint8_t *const *)texts, lengths, n, mode, alpha, NULL, keys, bos, eos, *ids,
                             *offsets);
    free(lengths);
    return rc;
}

static void test_batch_adds_bos_and_eos(void)
{
    const char *texts[] = {"abcd", "", "ab\nab"};
    int32_t *ids;
    int64_t *off;
    CHECK_EQ(batch(BP_MODE_BEST, -1.0, texts, 3, NULL, 1, 1, &ids, &off), BP_OK);
    const int32_t want[] = {BP_BOS_ID, EXTRA_ID(0), EXTRA_ID(3), BP_EOS_ID, BP_BOS_ID, BP_EOS_ID,
                            BP_BOS_ID, BYTE_ID('a'), EXTRA_ID(5), EXTRA_ID(0), BP_EOS_ID};
    const int64_t want_off[] = {0, 4, 6, 11};
    CHECK(memcmp(off, want_off, sizeof want_off) == 0);
    CHECK(memcmp(ids, want, sizeof want) == 0);
    free(ids);
    free(off);

    CHECK_EQ(batch(BP_MODE_BEST, -1.0, texts, 3, NULL, 0, 0, &ids, &off), BP_OK);
    const int32_t plain[] = {EXTRA_ID(0), EXTRA_ID(3), BYTE_ID('a'), EXTRA_ID(5), EXTRA_ID(0)};
    const int64_t plain_off[] = {0, 2, 2, 5};
    CHECK(memcmp(off, plain_off, sizeof plain_off) == 0);
    CHECK(memcmp(ids, plain, sizeof plain) == 0);
    free(ids);
    free(off);

    CHECK_EQ(batch(BP_MODE_BEST, -1.0, texts, 3, NULL, 1, 0, &ids, &off), BP_OK);
    CHECK(off[3] == 8 && ids[0] == BP_BOS_ID && ids[3] == BP_BOS_ID && ids[4] == BP_BOS_ID && ids[7] == EXTRA_ID(0));
    free(ids);
    free(off);

    CHECK_EQ(batch(BP_MODE_BEST, -1.0, texts, 3, NULL, 0, 1, &ids, &off), BP_OK);
    CHECK(off[3] == 8 && ids[2] == BP_EOS_ID && ids[3] == BP_EOS_ID && ids[7] == BP_EOS_ID);
    free(ids);
    free(off);

    /* An empty batch writes out_offsets[0] = 0 and nothing else. */
    int64_t one_offset = -5;
    CHECK_EQ(bp_encode_batch(t1, NULL, NULL, 0, BP_MODE_SAMPLE_PERFECT, 1.0, NULL, NULL, 1, 1, NULL, &one_offset), BP_OK);
    CHECK_EQ(one_offset, 0);
}

static void test_batch_equals_encode_text_by_text(void)
{
    const char *texts[] = {"abcabcd\ncd", "xyxyxy", "a", "bcbcab\n\nab"};
    const uint64_t keys[] = {bp_stream_key(5, 0), bp_stream_key(5, 1), bp_stream_key(5, 2), bp_stream_key(5, 3)};
    for (int m = 0; m <= 2; m++) {
        int32_t *ids;
        int64_t *off;
        CHECK_EQ(batch((bp_mode)m, 0.3, texts, 4, m ? keys : NULL, 0, 0, &ids, &off), BP_OK);
        int same = 1;
        for (int k = 0; k < 4; k++) {
            int32_t *one;
            size_t num;
            CHECK_EQ(encode(t1, texts[k], strlen(texts[k]), (bp_mode)m, 0.3, m ? keys[k] : 0, &one, &num), BP_OK);
            same &= off[k + 1] - off[k] == (int64_t)num && memcmp(ids + off[k], one, num * sizeof *one) == 0;
            free(one);
        }
        CHECK(same);
        free(ids);
        free(off);
    }
}

static void test_batch_errors(void)
{
    const char *texts[] = {"ab", "cd"};
    const uint8_t *const *raw = (const uint8_t *const *)texts;
    size_t lengths[] = {2, 2};
    uint64_t keys[] = {1, 2};
    int32_t ids[8];
    int64_t off[3];
    /* NULL keys for a sampler. */
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_SAMPLE_PERFECT, 1.0, NULL, NULL, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_SAMPLE_VITERBI, 1.0, NULL, NULL, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_BEST, 1.0, NULL, NULL, 0, 0, ids, off), BP_OK);
    /* Bad mode and alpha. */
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, (bp_mode)7, 1.0, NULL, keys, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_SAMPLE_PERFECT, -0.5, NULL, keys, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_SAMPLE_VITERBI, NAN, NULL, keys, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_SAMPLE_PERFECT, INFINITY, NULL, keys, 0, 0, ids, off),
             BP_ERR_INVALID);
    /* NULL arguments. */
    CHECK_EQ(bp_encode_batch(NULL, raw, lengths, 2, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, NULL, lengths, 2, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, NULL, 2, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, ids, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, NULL, off), BP_ERR_INVALID);
    CHECK_EQ(bp_encode_batch(t1, raw, lengths, 2, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, ids, NULL), BP_ERR_INVALID);
    const uint8_t *with_null[] = {(const uint8_t *)"ab", NULL};
    CHECK_EQ(bp_encode_batch(t1, with_null, lengths, 2, BP_MODE_BEST, 0.0, NULL, NULL, 0, 0, ids, off), BP_ERR_INVALID);
    size_t zero_second[] = {2, 0}; /* a NULL text of length 0 is an empty text */
    CHECK_EQ(bp_encode_batch(t1, with_null, zero_second, 2, BP_MODE_BEST, 0.0, NULL, NULL, 1, 1, ids, off), BP_OK);
    CHECK(off[0] == 0 && off[1] == 3 && off[2] == 5);
}

/*
 * Regression: finite but extreme scores overflowed the sums, and the
 * dynamic programme then read back-pointers it never set (all 256 bytes at
 * -1e308 crashed BP_MODE_BEST; one piece at +1e308 crashed perfect
 * sampling). bp_trie_build now refuses such scores; here they are written
 * into the trie afterwards, as hostile memory would hold them, and every
 * mode of bp_encode and bp_encode_batch must still return a segmentation of
 * its text (the trainer's functions: test_retokenize.c).
 */
static void test_every_mode_segments_whatever_the_scores(void)
{
    uint8_t *texts[TEST_HOSTILE_TEXTS];
    size_t lengths[TEST_HOSTILE_TEXTS], total = 0;
    test_hostile_texts(texts, lengths, &rng);
    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++)
        total += lengths[k];
    uint64_t keys[TEST_HOSTILE_TEXTS], state = 0x853c49e6748fea9bULL;
    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++)
        keys[k] = bp_stream_key(11, k);
    const double alphas[] = {0.0, 1.0, 1e-3, BP_MAX_ALPHA};
    int32_t *ids = malloc((total + 2 * TEST_HOSTILE_TEXTS) * sizeof *ids);
    int64_t offsets[TEST_HOSTILE_TEXTS + 1];

    for (int pattern = 0; pattern < TEST_NUM_HOSTILE; pattern++) {
        test_vocab v;
        bp_trie *trie = test_hostile_trie(&v, TEST_VH, TEST_NVH, pattern, &state);
        if (!trie)
            continue;
        int failed_calls = 0, not_spelled = 0, linear_runs = 0;

        /* bp_encode, text by text, every mode. */
        for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++) {
            for (int m = 0; m <= 2; m++) {
                for (int a = 0; a < (m ? 4 : 1); a++) {
                    for (uint64_t key = 0; key < (m ? 3u : 1u); key++) {
                        size_t num = (size_t)-1;
                        failed_calls += bp_encode(trie, texts[k], lengths[k], (bp_mode)m, alphas[a],
                                                  bp_stream_key(key, k), ids, &num) != BP_OK;
                        not_spelled += num > lengths[k] || !test_ids_spell(&v, ids, num, texts[k], lengths[k]);
                    }
                }
            }
        }
        /* bp_encode_batch, every mode, the perfect sampler in log space and,
         * where bp_sampling_weights allows it (alpha 0 with finite scores),
         * in linear space. */
        double *weights = malloc(trie->num_units * sizeof *weights);
        for (int m = 0; m <= 2; m++) {
            for (int a = 0; a < 4; a++) {
                for (int linear = 0; linear <= (m == BP_MODE_SAMPLE_PERFECT); linear++) {
                    if (linear && bp_sampling_weights(trie, alphas[a], weights) != BP_OK)
                        continue;
                    linear_runs += linear;
                    failed_calls += bp_encode_batch(trie, (const uint8_t *const *)texts, lengths, TEST_HOSTILE_TEXTS,
                                                    (bp_mode)m, alphas[a], linear ? weights : NULL, keys, 1, 1,
                                                    ids, offsets) != BP_OK;
                    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++) {
                        const int64_t n = offsets[k + 1] - offsets[k];
                        not_spelled += n < 2 || ids[offsets[k]] != BP_BOS_ID || ids[offsets[k + 1] - 1] != BP_EOS_ID ||
                                       !test_ids_spell(&v, ids + offsets[k] + 1, (size_t)n - 2, texts[k], lengths[k]);
                    }
                }
            }
        }
        free(weights);
        if (failed_calls || not_spelled)
            fprintf(stderr, "  scores \"%s\": %d failed calls, %d not spelled\n", test_hostile_name(pattern),
                    failed_calls, not_spelled);
        CHECK_EQ(failed_calls, 0);
        CHECK_EQ(not_spelled, 0);
        /* alpha 0 with finite scores has weights 1: the linear form ran. */
        if (pattern == TEST_BYTES_MINUS_1E308 || pattern == TEST_ONE_PLUS_1E308 || pattern == TEST_ALL_PLUS_1E308)
            CHECK(linear_runs > 0);
        bp_trie_free(trie);
        test_vocab_free(&v);
    }
    free(ids);
    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++)
        free(texts[k]);
}

/* Scores at the builder's bounds: accepted, and exact. With every byte at
 * -BP_MAX_ABS_SCORE a long chunk sums to about -1e13, and the samplers at
 * BP_MAX_ALPHA reach about 1e113: finite, so BEST is still the maximum and
 * a sampler at BP_MAX_ALPHA the plain Viterbi. */
static void test_scores_at_the_bounds_stay_exact(void)
{
    const test_piece extra[] = {PIECE("ab", -BP_MAX_ABS_SCORE), PIECE("bc", BP_MAX_ABS_SCORE),
                                PIECE("abc", -BP_MAX_ABS_SCORE / 2), PIECE("cd", 0.5)};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -BP_MAX_ABS_SCORE, extra, 4, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(&v);
        return;
    }
    double all[4096];
    int bad_best = 0, bad_sample = 0;
    for (int trial = 0; trial < 200; trial++) {
        char text[9];
        size_t len = 1 + bp_test_random(&rng) % 8, total = 0;
        for (size_t i = 0; i < len; i++)
            text[i] = "abcd\n"[bp_test_random(&rng) % 5];
        int32_t *ids;
        size_t num;
        CHECK_EQ(encode(trie, text, len, BP_MODE_BEST, 0.0, 0, &ids, &num), BP_OK);
        test_enumerate(&v, (const uint8_t *)text, len, 0, 0.0, all, &total, 4096);
        double best = -INFINITY;
        for (size_t i = 0; i < total && i < 4096; i++)
            best = all[i] > best ? all[i] : best;
        bad_best += !test_ids_spell(&v, ids, num, (const uint8_t *)text, len) || test_ids_score(&v, ids, num) != best;
        for (int m = 1; m <= 2; m++) {
            int32_t *sampled;
            size_t ns;
            CHECK_EQ(encode(trie, text, len, (bp_mode)m, BP_MAX_ALPHA, bp_stream_key(9, (uint64_t)trial), &sampled, &ns),
                     BP_OK);
            bad_sample += !test_ids_spell(&v, sampled, ns, (const uint8_t *)text, len) ||
                          test_ids_score(&v, sampled, ns) != best;
            free(sampled);
        }
        free(ids);
    }
    CHECK_EQ(bad_best, 0);
    CHECK_EQ(bad_sample, 0);
    /* 100000 bytes in one chunk: the path score is -1e14, still exact. */
    enum { LONG = 100000 };
    char *text = malloc(LONG);
    memset(text, 'q', LONG);
    int32_t *ids;
    size_t num;
    CHECK_EQ(encode(trie, text, LONG, BP_MODE_BEST, 0.0, 0, &ids, &num), BP_OK);
    CHECK_EQ(num, LONG);
    CHECK(test_ids_spell(&v, ids, num, (const uint8_t *)text, LONG));
    free(ids);
    free(text);
    bp_trie_free(trie);
    test_vocab_free(&v);
}

int main(void)
{
    if (test_vocab_build(&v1, -10.0, TEST_V1, TEST_NV1, &t1) != BP_OK) {
        fprintf(stderr, "cannot build the test vocabulary\n");
        test_vocab_free(&v1);
        return 1;
    }
    RUN(test_best_hand_worked_examples);
    RUN(test_best_on_empty_and_long_text);
    RUN(test_best_is_the_brute_force_maximum);
    RUN(test_samplers_are_deterministic_per_key_and_vary_across_keys);
    RUN(test_perfect_sampling_frequencies);
    RUN(test_perfect_sampling_with_huge_alpha_is_best);
    RUN(test_samplers_keep_to_chunks);
    RUN(test_encode_errors);
    RUN(test_batch_adds_bos_and_eos);
    RUN(test_batch_equals_encode_text_by_text);
    RUN(test_batch_errors);
    RUN(test_samplers_refuse_alpha_above_the_maximum);
    RUN(test_linear_sampling_draws_what_log_space_draws);
    RUN(test_sampling_weights);
    RUN(test_linear_sampling_falls_back_where_the_scale_would_overflow);
    RUN(test_every_mode_segments_whatever_the_scores);
    RUN(test_scores_at_the_bounds_stay_exact);
    bp_trie_free(t1);
    test_vocab_free(&v1);
    return bp_test_report("segmenter");
}
