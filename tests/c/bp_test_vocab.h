/*
 * bp_test_vocab.h: small hand-made vocabularies for the trie, segmenter,
 * n-best and retokenizing tests, a brute-force enumerator of segmentations
 * to check the dynamic programmes against, and hostile scores and texts.
 *
 * A vocabulary is the 256 single bytes (id BP_NUM_SPECIAL + byte, one score
 * for all) plus extra pieces (id BP_NUM_SPECIAL + 256 + i), so the piece of
 * id t is entry t - BP_NUM_SPECIAL.
 */
#ifndef BP_TEST_VOCAB_H
#define BP_TEST_VOCAB_H

#include "bp_test.h"
#include "bp_trie.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *bytes;
    size_t len;
    double score;
} test_piece;
/* A piece from a string literal (may hold NUL bytes). */
#define PIECE(lit, score) {lit, sizeof(lit) - 1, score}

typedef struct {
    size_t n;
    uint8_t *bytes;
    int64_t *offsets;
    double *scores;
    int32_t *ids;
} test_vocab;

#define BYTE_ID(c) ((int32_t)(BP_NUM_SPECIAL + (uint8_t)(c)))
#define EXTRA_ID(i) ((int32_t)(BP_NUM_SPECIAL + 256 + (i)))

/*
 * TEST_V1, built with the 256 bytes at -10:
 *   259 "ab" -12   260 "bc" -11.5   261 "abc" -25   262 "cd" -15
 *   263 "xy" -20 (ties with "x"+"y")   264 "b\n" -1   265 "\nx" -1
 * Worked out by hand (BP_MODE_BEST):
 *   "abc":  a+bc -21.5 > ab+c -22 > abc -25 > a+b+c -30      -> [100, 260]
 *   "abcd": ab+cd -27 > a+bc+d -31.5 > abc+d, a+b+cd -35     -> [259, 262]
 *   "xy":   xy -20 == x+y -20: the longest piece wins        -> [263]
 *   "x\nx": "\nx" would cross the chunk "x\n" | "x"         -> [123, 13, 123]
 *   "ab\nab": "ab\n" -> a+"b\n" -11; "ab" -> ab              -> [100, 264, 259]
 *   "ab\n\nab": a+"b\n"+"\n" -21 > ab+"\n"+"\n" -32; then ab  -> [100, 264, 13, 259]
 */
static const test_piece TEST_V1[] = {PIECE("ab", -12.0), PIECE("bc", -11.5), PIECE("abc", -25.0),
                                     PIECE("cd", -15.0), PIECE("xy", -20.0),  PIECE("b\n", -1.0),
                                     PIECE("\nx", -1.0)};
#define TEST_NV1 (sizeof TEST_V1 / sizeof TEST_V1[0])

/* TEST_VH: TEST_V1 and runs of 'a', so that chunks have many segmentations
 * and long pieces (a ring of 8 slots wraps within a few bytes). */
static const test_piece TEST_VH[] = {PIECE("ab", -12.0),  PIECE("bc", -11.5),   PIECE("abc", -25.0),
                                     PIECE("cd", -15.0),  PIECE("xy", -20.0),   PIECE("b\n", -1.0),
                                     PIECE("\nx", -1.0),  PIECE("aa", -2.5),    PIECE("aaa", -3.0),
                                     PIECE("aaaa", -3.5), PIECE("aaaaaaa", -4.0)};
#define TEST_NVH (sizeof TEST_VH / sizeof TEST_VH[0])

/* Fills v (caller frees with test_vocab_free) and builds its trie. */
static inline int test_vocab_build(test_vocab *v, double byte_score, const test_piece *extra, size_t num_extra,
                                   bp_trie **out)
{
    size_t total = 256;
    for (size_t i = 0; i < num_extra; i++)
        total += extra[i].len;
    v->n = 256 + num_extra;
    v->bytes = malloc(total);
    v->offsets = malloc((v->n + 1) * sizeof *v->offsets);
    v->scores = malloc(v->n * sizeof *v->scores);
    v->ids = malloc(v->n * sizeof *v->ids);
    int64_t at = 0;
    for (size_t i = 0; i < v->n; i++) {
        v->offsets[i] = at;
        if (i < 256) {
            v->bytes[at++] = (uint8_t)i;
            v->scores[i] = byte_score;
        } else {
            memcpy(v->bytes + at, extra[i - 256].bytes, extra[i - 256].len);
            at += (int64_t)extra[i - 256].len;
            v->scores[i] = extra[i - 256].score;
        }
        v->ids[i] = (int32_t)(BP_NUM_SPECIAL + i);
    }
    v->offsets[v->n] = at;
    return bp_trie_build(v->bytes, v->offsets, v->n, v->scores, v->ids, out);
}

static inline void test_vocab_free(test_vocab *v)
{
    free(v->bytes);
    free(v->offsets);
    free(v->scores);
    free(v->ids);
}

static inline size_t test_piece_len(const test_vocab *v, int32_t id)
{
    size_t i = (size_t)(id - BP_NUM_SPECIAL);
    return (size_t)(v->offsets[i + 1] - v->offsets[i]);
}

/* 1 iff the ids spell text[0 .. len) exactly. */
static inline int test_ids_spell(const test_vocab *v, const int32_t *ids, size_t num, const uint8_t *text, size_t len)
{
    size_t at = 0;
    for (size_t k = 0; k < num; k++) {
        if (ids[k] < BP_NUM_SPECIAL || (size_t)(ids[k] - BP_NUM_SPECIAL) >= v->n)
            return 0;
        size_t i = (size_t)(ids[k] - BP_NUM_SPECIAL), n = test_piece_len(v, ids[k]);
        if (at + n > len || memcmp(text + at, v->bytes + v->offsets[i], n) != 0)
            return 0;
        at += n;
    }
    return at == len;
}

/* Sum of the scores of the ids, left to right. */
static inline double test_ids_score(const test_vocab *v, const int32_t *ids, size_t num)
{
    double s = 0.0;
    for (size_t k = 0; k < num; k++)
        s += v->scores[ids[k] - BP_NUM_SPECIAL];
    return s;
}

/* 1 iff a chunk ends at position p of text[0 .. len): after a maximal run of
 * '\n' (written independently of bp_chunk.h on purpose). */
static inline int test_is_cut(const uint8_t *text, size_t len, size_t p)
{
    return p > 0 && p < len && text[p - 1] == '\n' && text[p] != '\n';
}

/* Brute force: the scores of every segmentation of text[0 .. len) whose
 * pieces stay inside chunks, appended to scores[*num ..] (at most cap). */
static inline void test_enumerate(const test_vocab *v, const uint8_t *text, size_t len, size_t at, double score,
                                  double *scores, size_t *num, size_t cap)
{
    if (at == len) {
        if (*num < cap)
            scores[*num] = score;
        ++*num;
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        size_t n = (size_t)(v->offsets[i + 1] - v->offsets[i]);
        if (at + n > len || memcmp(text + at, v->bytes + v->offsets[i], n) != 0)
            continue;
        int crosses = 0;
        for (size_t p = at + 1; p < at + n; p++)
            crosses |= test_is_cut(text, len, p);
        if (!crosses)
            test_enumerate(v, text, len, at + n, score + v->scores[i], scores, num, cap);
    }
}

/* Hostile score patterns, written into a built trie's info array after
 * bp_trie_build (which refuses such scores) to check that the segmenters
 * stay safe whatever the scores. */
enum {
    TEST_BYTES_MINUS_1E308,   /* the 256 single bytes at -1e308 (sums reach -inf) */
    TEST_ONE_PLUS_1E308,      /* one longer piece at +1e308, the rest as built */
    TEST_ALL_PLUS_1E308,      /* every piece at +1e308 (sums reach +inf, then NaN) */
    TEST_ALL_MINUS_INF,       /* every piece at -inf */
    TEST_ALL_PLUS_INF,        /* every piece at +inf */
    TEST_ALL_NAN,             /* every piece NaN */
    TEST_MIXED,               /* every piece one of the extremes, or an ordinary score, at random */
    TEST_EVERY_UNIT_MIXED,    /* as TEST_MIXED, on every unit: also where no piece ends */
    TEST_NUM_HOSTILE
};

static inline const char *test_hostile_name(int pattern)
{
    static const char *const names[] = {"bytes -1e308", "one piece +1e308", "all +1e308", "all -inf",
                                        "all +inf",     "all NaN",          "mixed",      "every unit mixed"};
    return pattern >= 0 && pattern < TEST_NUM_HOSTILE ? names[pattern] : "?";
}

/* Overwrites trie->info[].score by `pattern` (TEST_*); *state drives the
 * random patterns (bp_test_random). */
static inline void test_overwrite_scores(bp_trie *trie, int pattern, uint64_t *state)
{
    static const double extremes[] = {-1e308, 1e308, -INFINITY, INFINITY, NAN, -DBL_MAX, DBL_MAX,
                                      -1.0,   0.0,   -DBL_MIN,  1e9,      -1e9};
    int one_done = 0;
    for (size_t u = 0; u < trie->num_units; u++) {
        bp_piece_info *info = &trie->info[u];
        const int piece = info->length > 0;
        if (!piece && pattern != TEST_EVERY_UNIT_MIXED)
            continue;
        double *score = &info->score;
        switch (pattern) {
        case TEST_BYTES_MINUS_1E308:
            if (info->length == 1)
                *score = -1e308;
            break;
        case TEST_ONE_PLUS_1E308:
            if (info->length > 1 && !one_done) {
                *score = 1e308;
                one_done = 1;
            }
            break;
        case TEST_ALL_PLUS_1E308: *score = 1e308; break;
        case TEST_ALL_MINUS_INF: *score = -INFINITY; break;
        case TEST_ALL_PLUS_INF: *score = INFINITY; break;
        case TEST_ALL_NAN: *score = NAN; break;
        default: /* TEST_MIXED, TEST_EVERY_UNIT_MIXED */
            *score = extremes[bp_test_random(state) % (sizeof extremes / sizeof extremes[0])];
            break;
        }
    }
}

/* Fills v (caller frees with test_vocab_free) with the single bytes at -10
 * and `extra`, builds its trie and overwrites its scores by `pattern`
 * (test_overwrite_scores); NULL, with v freed, when the build fails (which
 * CHECK_EQ has counted). The hostile-score tests' common start. */
static inline bp_trie *test_hostile_trie(test_vocab *v, const test_piece *extra, size_t num_extra, int pattern,
                                         uint64_t *state)
{
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(v, -10.0, extra, num_extra, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(v);
        return NULL;
    }
    test_overwrite_scores(trie, pattern, state);
    return trie;
}

/* Random texts for the hostile-score tests: pieces' letters with '\n'
 * (chunks), other bytes, runs of 'a', one long text (the rings wrap), one
 * empty text. texts[k] has lengths[k] bytes; caller frees each. *state
 * drives them (bp_test_random). */
enum { TEST_HOSTILE_TEXTS = 24 };
static inline void test_hostile_texts(uint8_t **texts, size_t *lengths, uint64_t *state)
{
    for (size_t k = 0; k < TEST_HOSTILE_TEXTS; k++) {
        size_t len = k == 0 ? 0 : k == 1 ? 5000 : 1 + bp_test_random(state) % 40;
        texts[k] = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            const uint64_t r = bp_test_random(state);
            texts[k][i] = k % 3 == 0 ? (uint8_t)(r >> 8) : k % 3 == 1 ? (uint8_t)"aaaab\n"[r % 6]
                                                                       : (uint8_t)"abcdxy\n\n"[r % 8];
        }
        lengths[k] = len;
    }
}

static inline int test_compare_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

#endif
