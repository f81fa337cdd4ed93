/*
 * bp_test_ngram.h: helpers of the n-gram tests (test_ngram.c,
 * test_ngram_shards.c, test_ngram_view.c): counters made from literals, and
 * the random corpus that the distributed form counts in shards.
 */
#ifndef BP_TEST_NGRAM_H
#define BP_TEST_NGRAM_H

#include "bp_ngram.h"
#include "bp_ngram_shards.h"
#include "bp_ngram_view.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

#define SENTINEL ((bp_ngrams *)(uintptr_t)0x1)
#define U8(lit) ((const uint8_t *)(lit))
#define COUNT(g, lit) bp_ngrams_get_count(g, U8(lit), (int)(sizeof(lit) - 1))
#define LP(g, lit) bp_ngrams_logprob(g, U8(lit), (int)(sizeof(lit) - 1))

/* A new counter of `order` over one partition, with data[0 .. len) as one chunk counted. */
static inline bp_ngrams *test_counted(int order, const char *data, size_t len)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(order, 1, &g), BP_OK);
    const int64_t offsets[] = {0, (int64_t)len};
    if (g)
        CHECK_EQ(bp_ngrams_count(g, 0, U8(data), offsets, 1), BP_OK);
    return g;
}

/* The corpus: CORPUS_LEN random bytes of CORPUS_ALPHABET but 'z', cut into
 * chunks after every '\n', counted at CORPUS_ORDER in CORPUS_PARTS partitions. */
enum { CORPUS_ORDER = 3, CORPUS_PARTS = 3, CORPUS_LEN = 900 };
static const char CORPUS_ALPHABET[] = "abcdef\nz"; /* 'z' never occurs in the corpus */

typedef struct {
    char text[CORPUS_LEN];
    int64_t offsets[CORPUS_LEN + 2];
    size_t num_chunks;
} test_corpus;

/* The same corpus in every test file (its own random stream). */
static inline void test_corpus_make(test_corpus *c)
{
    uint64_t state = 0x853C49E6748FEA9BULL;
    for (int i = 0; i < CORPUS_LEN; i++)
        c->text[i] = CORPUS_ALPHABET[bp_test_random(&state) % 7];
    c->offsets[0] = 0;
    c->num_chunks = 0;
    for (int i = 0; i < CORPUS_LEN; i++)
        if (c->text[i] == '\n')
            c->offsets[++c->num_chunks] = i + 1;
    if (c->offsets[c->num_chunks] != CORPUS_LEN)
        c->offsets[++c->num_chunks] = CORPUS_LEN;
}

/* A counter of chunks [first, last) of the corpus, every partition counted. */
static inline bp_ngrams *test_corpus_count(const test_corpus *c, size_t first, size_t last)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(CORPUS_ORDER, CORPUS_PARTS, &g), BP_OK);
    for (int p = 0; g && p < CORPUS_PARTS; p++)
        CHECK_EQ(bp_ngrams_count(g, p, U8(c->text), c->offsets + first, last - first), BP_OK);
    return g;
}

/* Number of n-grams over CORPUS_ALPHABET (lengths 1..CORPUS_ORDER) whose lp
 * differ in the finished models a and b, and of emissions of a text. */
static inline int test_logprobs_differ(const bp_ngrams *a, const bp_ngrams *b)
{
    int differ = 0;
    for (int len = 1; len <= CORPUS_ORDER; len++) {
        int total = 1;
        for (int t = 0; t < len; t++)
            total *= 8;
        for (int code = 0; code < total; code++) {
            uint8_t k[CORPUS_ORDER];
            for (int t = 0, c = code; t < len; t++, c /= 8)
                k[t] = (uint8_t)CORPUS_ALPHABET[c % 8];
            differ += bp_ngrams_logprob(a, k, len) != bp_ngrams_logprob(b, k, len);
        }
    }
    /* And the emissions of a text (bytes never seen included). */
    const char text[] = "abzcab\nfedcbaa";
    const size_t n = sizeof text - 1;
    double ea[(sizeof text - 1) * CORPUS_ORDER], eb[(sizeof text - 1) * CORPUS_ORDER];
    differ += bp_ngrams_emissions(a, U8(text), n, ea) != BP_OK;
    differ += bp_ngrams_emissions(b, U8(text), n, eb) != BP_OK;
    for (size_t i = 0; i < n * CORPUS_ORDER; i++)
        differ += ea[i] != eb[i];
    return differ;
}

#endif
