/* Unit tests of bp_bnlm.h: the trainer's n-gram Viterbi segmentation and
 * piece counting, with hand-worked models. */
#include "bp_bnlm.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

#define U8(lit) ((const uint8_t *)(lit))

/* A finished model of `order` over the chunks data[offsets[k] .. offsets[k+1]). */
static bp_ngrams *model(int order, const uint8_t *data, const int64_t *offsets, size_t chunks, uint64_t min_count)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(order, 1, &g), BP_OK);
    if (!g)
        return NULL;
    CHECK_EQ(bp_ngrams_count(g, 0, data, offsets, chunks), BP_OK);
    CHECK_EQ(bp_ngrams_finish(g, min_count), BP_OK);
    return g;
}

static bp_ngrams *model_of(int order, const char *text)
{
    const int64_t offsets[] = {0, (int64_t)strlen(text)};
    return model(order, U8(text), offsets, 1, 1);
}

/* bp_bnlm_segment with an exact-size starts buffer; 1 iff the starts are `want`. */
static int starts_are(const bp_ngrams *lm, int ensure_unicode, const char *text, size_t n, const size_t *want,
                      size_t num_want)
{
    bp_bnlm_workspace ws = {0};
    size_t *starts = malloc(n * sizeof *starts), num = 0;
    uint8_t *copy = malloc(n);
    memcpy(copy, text, n);
    int rc = bp_bnlm_segment(lm, ensure_unicode, copy, n, &ws, starts, &num);
    int same = rc == BP_OK && num == num_want && memcmp(starts, want, num * sizeof *starts) == 0;
    if (!same) {
        fprintf(stderr, "  rc %d, starts", rc);
        for (size_t i = 0; rc == BP_OK && i < num; i++)
            fprintf(stderr, " %zu", starts[i]);
        fputc('\n', stderr);
    }
    free(copy);
    free(starts);
    bp_bnlm_workspace_free(&ws);
    return same;
}
#define STARTS_ARE(lm, eu, lit, ...) \
    starts_are(lm, eu, lit, sizeof(lit) - 1, (const size_t[]){__VA_ARGS__}, \
               sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t))

static void test_order_one_makes_every_byte_a_piece(void)
{
    bp_ngrams *lm = model_of(1, "hello world");
    if (!lm)
        return;
    CHECK(STARTS_ARE(lm, 0, "hello", 0, 1, 2, 3, 4));
    CHECK(STARTS_ARE(lm, 1, "xyz", 0, 1, 2));
    CHECK(STARTS_ARE(lm, 0, "q", 0));
    bp_ngrams_free(lm);
}

static void test_order_two_by_hand(void)
{
    /* Corpus "ababab": c(a) = c(b) = 3, c(ab) = 3, c(ba) = 2, c(empty) = 6 + 254.
     * With 2 states a byte continues a piece iff lp(xy) > lp(y):
     *   lp(b) = lp(a) = log 3/260 ~ -4.46, lp(ab) = 0, lp(ba) = log 2/3 ~ -0.41,
     *   lp(z) = log 1/260, lp(bz) = lp(za) = -inf.
     * "abab" is one piece; "abzab" is "ab" | "z" | "ab". */
    bp_ngrams *lm = model_of(2, "ababab");
    if (!lm)
        return;
    CHECK(STARTS_ARE(lm, 0, "abab", 0));
    CHECK(STARTS_ARE(lm, 0, "abzab", 0, 2, 3));
    CHECK(STARTS_ARE(lm, 0, "zz", 0, 1));
    bp_ngrams_free(lm);
}

/* A model in which U+00E9 ("\xC3\xA9") is rare but a lone 0xA9 is common,
 * so that without ensure_unicode a piece starts on the continuation byte:
 * 100 chunks "\xC3", one "\xC3\xA9", 1000 chunks "\xA9". */
static bp_ngrams *model_splitting_e_acute(void)
{
    enum { LEAD = 100, CONT = 1000, CHUNKS = LEAD + 1 + CONT };
    uint8_t *data = malloc(CHUNKS + 1);
    int64_t *offsets = malloc((CHUNKS + 1) * sizeof *offsets);
    size_t at = 0, k = 0;
    for (int i = 0; i < LEAD; i++) {
        offsets[k++] = (int64_t)at;
        data[at++] = 0xC3;
    }
    offsets[k++] = (int64_t)at;
    data[at++] = 0xC3;
    data[at++] = 0xA9;
    for (int i = 0; i < CONT; i++) {
        offsets[k++] = (int64_t)at;
        data[at++] = 0xA9;
    }
    offsets[k] = (int64_t)at;
    bp_ngrams *lm = model(2, data, offsets, CHUNKS, 1);
    free(data);
    free(offsets);
    return lm;
}

static void test_ensure_unicode_by_hand(void)
{
    /* lp(A9) = log 1001/1356 ~ -0.30 beats lp(C3 A9) = log 1/101 ~ -4.6. */
    bp_ngrams *lm = model_splitting_e_acute();
    if (!lm)
        return;
    CHECK(STARTS_ARE(lm, 0, "\xC3\xA9", 0, 1)); /* a piece starts inside the character */
    CHECK(STARTS_ARE(lm, 1, "\xC3\xA9", 0));    /* not with ensure_unicode */
    CHECK(STARTS_ARE(lm, 1, "\xC3\xA9\xC3\xA9", 0, 2));
    bp_ngrams_free(lm);
}

/*
 * The "known 0.6.3 quirk" of docs/spec/training.md §3, with its example:
 * order 6, min_count 2, five lines "hello world\n" and one "café hello
 * world\n". The 2-gram of "é" is pruned, so with ensure_unicode every state
 * is -inf from its continuation byte on and the rest of the line falls apart
 * into single bytes, "\xa9" included. (bp_bnlm.h states "with ensure_unicode
 * no piece starts on a UTF-8 continuation byte" without this exception.)
 */
static void test_all_minus_infinity_fallback_of_the_spec(void)
{
    const char line[] = "caf\xc3\xa9 hello world\n";
    const size_t n = sizeof line - 1;
    uint8_t data[5 * 12 + sizeof line];
    int64_t offsets[7];
    size_t at = 0;
    for (int k = 0; k < 5; k++) {
        offsets[k] = (int64_t)at;
        memcpy(data + at, "hello world\n", 12);
        at += 12;
    }
    offsets[5] = (int64_t)at;
    memcpy(data + at, line, n);
    offsets[6] = (int64_t)(at + n);
    bp_ngrams *lm = model(6, data, offsets, 6, 2);
    if (!lm)
        return;
    size_t every_byte[sizeof line - 1];
    for (size_t i = 0; i < n; i++)
        every_byte[i] = i;
    CHECK(starts_are(lm, 1, line, n, every_byte, n));
    /* Without ensure_unicode "hello world\n" (bytes 6 .. 17) stays one piece. */
    bp_bnlm_workspace ws = {0};
    size_t starts[sizeof line - 1], num = 0;
    CHECK_EQ(bp_bnlm_segment(lm, 0, U8(line), n, &ws, starts, &num), BP_OK);
    CHECK(num >= 2 && starts[num - 1] == 6);
    bp_bnlm_workspace_free(&ws);
    bp_ngrams_free(lm);
}

/* This file's random stream (bp_test_random). */
static uint64_t rng = 0xA0761D6478BD642FULL;

/* Random valid UTF-8 of 1- to 4-byte characters, lines cut by '\n'; returns its length. */
static size_t random_utf8(char *out, size_t chars)
{
    static const char *const alphabet[] = {"a", "b", " ", "\xC3\xA9", "\xC3\xB6", "\xE2\x82\xAC", "\xE4\xB8\xAD",
                                           "\xF0\x9D\x84\x9E", "\n"};
    size_t at = 0;
    for (size_t i = 0; i < chars; i++) {
        const char *c = alphabet[bp_test_random(&rng) % 9];
        memcpy(out + at, c, strlen(c));
        at += strlen(c);
    }
    return at;
}

/* Chunks of text[0 .. n) cut after each '\n'; returns how many. */
static size_t cut_lines(const char *text, size_t n, int64_t *offsets)
{
    size_t k = 0;
    offsets[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\n')
            offsets[++k] = (int64_t)i + 1;
    if (offsets[k] != (int64_t)n)
        offsets[++k] = (int64_t)n;
    return k;
}

static void test_pieces_tile_and_respect_utf8(void)
{
    enum { CHARS = 3000 };
    char *text = malloc(4 * CHARS);
    size_t n = random_utf8(text, CHARS);
    int64_t *offsets = malloc((CHARS + 2) * sizeof *offsets);
    size_t chunks = cut_lines(text, n, offsets);
    /* The model is trained on the text itself: it has all the text's n-grams. */
    bp_ngrams *lm = model(4, U8(text), offsets, chunks, 1);
    if (!lm) {
        free(text);
        free(offsets);
        return;
    }
    bp_bnlm_workspace ws = {0};
    size_t *starts = malloc(n * sizeof *starts);
    int bad_rc = 0, not_tiled = 0, inside_char = 0, multi_byte_pieces = 0;
    for (size_t k = 0; k < chunks; k++) {
        const uint8_t *chunk = U8(text) + offsets[k];
        size_t len = (size_t)(offsets[k + 1] - offsets[k]), num = 0;
        if (bp_bnlm_segment(lm, 1, chunk, len, &ws, starts, &num) != BP_OK) {
            bad_rc++;
            continue;
        }
        not_tiled += num == 0 || num > len || starts[0] != 0;
        for (size_t s = 0; s < num; s++) {
            not_tiled += s > 0 && starts[s] <= starts[s - 1];
            not_tiled += starts[s] >= len;
            inside_char += (chunk[starts[s]] & 0xC0) == 0x80;
            multi_byte_pieces += (s + 1 < num ? starts[s + 1] : len) - starts[s] > 1;
        }
    }
    CHECK_EQ(bad_rc, 0);
    CHECK_EQ(not_tiled, 0);
    CHECK_EQ(inside_char, 0);
    CHECK(multi_byte_pieces > 0); /* not trivially one byte per piece */
    free(starts);
    bp_bnlm_workspace_free(&ws);
    bp_ngrams_free(lm);
    free(text);
    free(offsets);
}

static void test_count_pieces_matches_segment(void)
{
    enum { CHARS = 800 };
    char *text = malloc(4 * CHARS);
    size_t n = random_utf8(text, CHARS);
    int64_t *offsets = malloc((CHARS + 3) * sizeof *offsets);
    size_t chunks = cut_lines(text, n, offsets);
    offsets[chunks + 1] = offsets[chunks]; /* and an empty chunk at the end */
    chunks++;
    bp_ngrams *lm = model(3, U8(text), offsets, chunks, 2);
    bp_piece_counts *counted = NULL, *by_hand = NULL;
    CHECK_EQ(bp_piece_counts_new(&counted), BP_OK);
    CHECK_EQ(bp_piece_counts_new(&by_hand), BP_OK);
    if (lm && counted && by_hand) {
        CHECK_EQ(bp_bnlm_count_pieces(lm, 1, U8(text), offsets, NULL, chunks, counted), BP_OK);
        bp_bnlm_workspace ws = {0};
        size_t *starts = malloc(n * sizeof *starts);
        for (size_t k = 0; k < chunks; k++) {
            size_t len = (size_t)(offsets[k + 1] - offsets[k]), num = 0;
            if (len == 0)
                continue;
            const uint8_t *chunk = U8(text) + offsets[k];
            CHECK_EQ(bp_bnlm_segment(lm, 1, chunk, len, &ws, starts, &num), BP_OK);
            for (size_t s = 0; s < num; s++)
                bp_piece_counts_add(by_hand, chunk + starts[s], (s + 1 < num ? starts[s + 1] : len) - starts[s], 1);
        }
        free(starts);
        bp_bnlm_workspace_free(&ws);
        size_t size = bp_piece_counts_size(counted), bytes = bp_piece_counts_total_bytes(counted);
        CHECK_EQ(size, bp_piece_counts_size(by_hand));
        CHECK_EQ(bytes, bp_piece_counts_total_bytes(by_hand));
        uint8_t *d1 = malloc(bytes), *d2 = malloc(bytes);
        int64_t *o1 = malloc((size + 1) * sizeof *o1), *o2 = malloc((size + 1) * sizeof *o2);
        uint64_t *c1 = malloc(size * sizeof *c1), *c2 = malloc(size * sizeof *c2);
        bp_piece_counts_export(counted, d1, o1, c1);
        bp_piece_counts_export(by_hand, d2, o2, c2);
        CHECK(memcmp(d1, d2, bytes) == 0 && memcmp(o1, o2, (size + 1) * sizeof *o1) == 0 &&
              memcmp(c1, c2, size * sizeof *c1) == 0);
        /* The pieces tile the chunks: their bytes, with multiplicity, are the text's. */
        uint64_t covered = 0;
        for (size_t k = 0; k < size; k++)
            covered += c1[k] * (uint64_t)(o1[k + 1] - o1[k]);
        CHECK_EQ(covered, n);
        free(d1);
        free(d2);
        free(o1);
        free(o2);
        free(c1);
        free(c2);
    }
    bp_piece_counts_free(counted);
    bp_piece_counts_free(by_hand);
    bp_ngrams_free(lm);
    free(text);
    free(offsets);
}

static void test_count_pieces_of_order_one_counts_bytes(void)
{
    bp_ngrams *lm = model_of(1, "abracadabra");
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    const int64_t offsets[] = {0, 5, 11};
    if (lm && c) {
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, U8("abracadabra"), offsets, NULL, 2, c), BP_OK);
        CHECK_EQ(bp_piece_counts_size(c), 5); /* a b r c d, in order of first sight */
        uint8_t data[5];
        int64_t off[6];
        uint64_t counts[5];
        bp_piece_counts_export(c, data, off, counts);
        CHECK(memcmp(data, "abrcd", 5) == 0);
        CHECK(counts[0] == 5 && counts[1] == 2 && counts[2] == 2 && counts[3] == 1 && counts[4] == 1);
    }
    bp_piece_counts_free(c);
    bp_ngrams_free(lm);
}

static void test_count_pieces_weights_are_repeats(void)
{
    /* Each chunk with weight w counts as w copies of it: "ab" twice and
     * "cab" three times, against the chunks written out that often. */
    bp_ngrams *lm = model_of(2, "abcabcab ab cab");
    bp_piece_counts *weighted = NULL, *repeated = NULL;
    CHECK_EQ(bp_piece_counts_new(&weighted), BP_OK);
    CHECK_EQ(bp_piece_counts_new(&repeated), BP_OK);
    if (lm && weighted && repeated) {
        const int64_t offsets[] = {0, 2, 5};
        const uint64_t weights[] = {2, 3};
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, U8("abcab"), offsets, weights, 2, weighted), BP_OK);
        const int64_t each[] = {0, 2, 4, 7, 10, 13};
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, U8("ababcabcabcab"), each, NULL, 5, repeated), BP_OK);
        size_t size = bp_piece_counts_size(weighted), bytes = bp_piece_counts_total_bytes(weighted);
        CHECK_EQ(size, bp_piece_counts_size(repeated));
        CHECK_EQ(bytes, bp_piece_counts_total_bytes(repeated));
        if (size == bp_piece_counts_size(repeated) && bytes == bp_piece_counts_total_bytes(repeated) && size <= 8) {
            uint8_t d1[16], d2[16];
            int64_t o1[9], o2[9];
            uint64_t c1[8], c2[8];
            bp_piece_counts_export(weighted, d1, o1, c1);
            bp_piece_counts_export(repeated, d2, o2, c2);
            CHECK(memcmp(d1, d2, bytes) == 0 && memcmp(o1, o2, (size + 1) * sizeof *o1) == 0 &&
                  memcmp(c1, c2, size * sizeof *c1) == 0);
        }
        const uint64_t zero[] = {1, 0};
        bp_piece_counts *refused = NULL;
        CHECK_EQ(bp_piece_counts_new(&refused), BP_OK);
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, U8("abcab"), offsets, zero, 2, refused), BP_ERR_INVALID);
        bp_piece_counts_free(refused);
    }
    bp_piece_counts_free(weighted);
    bp_piece_counts_free(repeated);
    bp_ngrams_free(lm);
}

static void test_workspace_is_reusable(void)
{
    bp_ngrams *lm = model_of(3, "the cat sat on the mat, the cat ate the rat");
    if (!lm)
        return;
    const char *texts[] = {"the cat sat on the mat, the cat ate the rat", "at", "the rat sat on the cat"};
    bp_bnlm_workspace shared = {0};
    bp_bnlm_workspace_free(&shared); /* zero-initialized: freeing is fine, and twice too */
    int differ = 0;
    for (int round = 0; round < 2; round++) {
        for (int t = 0; t < 3; t++) {
            size_t n = strlen(texts[t]), a[64], b[64], na = 0, nb = 0;
            bp_bnlm_workspace fresh = {0};
            CHECK_EQ(bp_bnlm_segment(lm, 1, U8(texts[t]), n, &shared, a, &na), BP_OK);
            CHECK_EQ(bp_bnlm_segment(lm, 1, U8(texts[t]), n, &fresh, b, &nb), BP_OK);
            differ += na != nb || memcmp(a, b, na * sizeof *a) != 0;
            bp_bnlm_workspace_free(&fresh);
        }
    }
    CHECK_EQ(differ, 0);
    bp_bnlm_workspace_free(&shared);
    bp_bnlm_workspace_free(&shared);
    bp_bnlm_workspace_free(NULL);
    bp_ngrams_free(lm);
}

static void test_errors(void)
{
    bp_ngrams *lm = model_of(2, "abab");
    bp_ngrams *unfinished = NULL;
    CHECK_EQ(bp_ngrams_new(2, 1, &unfinished), BP_OK);
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    if (lm && unfinished && c) {
        bp_bnlm_workspace ws = {0};
        size_t starts[4], num = 0;
        const uint8_t *t = U8("abab");
        CHECK_EQ(bp_bnlm_segment(NULL, 0, t, 4, &ws, starts, &num), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_segment(lm, 0, NULL, 4, &ws, starts, &num), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_segment(lm, 0, t, 0, &ws, starts, &num), BP_ERR_INVALID); /* n >= 1 */
        CHECK_EQ(bp_bnlm_segment(lm, 0, t, 4, NULL, starts, &num), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_segment(lm, 0, t, 4, &ws, NULL, &num), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_segment(lm, 0, t, 4, &ws, starts, NULL), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_segment(unfinished, 0, t, 4, &ws, starts, &num), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_segment(lm, 0, t, 4, &ws, starts, &num), BP_OK);
        bp_bnlm_workspace_free(&ws);

        const int64_t offsets[] = {0, 2, 4};
        CHECK_EQ(bp_bnlm_count_pieces(NULL, 0, t, offsets, NULL, 2, c), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, NULL, offsets, NULL, 2, c), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, t, NULL, NULL, 2, c), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, t, offsets, NULL, 2, NULL), BP_ERR_INVALID);
        CHECK_EQ(bp_bnlm_count_pieces(unfinished, 0, t, offsets, NULL, 2, c), BP_ERR_INVALID);
        const int64_t decreasing[] = {2, 1};
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, t, decreasing, NULL, 1, c), BP_ERR_INVALID);
        const int64_t negative[] = {-1, 1};
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, t, negative, NULL, 1, c), BP_ERR_INVALID);
        CHECK_EQ(bp_piece_counts_size(c), 0); /* every refusal came before any piece */
        CHECK_EQ(bp_bnlm_count_pieces(lm, 0, NULL, offsets, NULL, 0, c), BP_OK); /* no chunks */
    }
    bp_piece_counts_free(c);
    bp_ngrams_free(unfinished);
    bp_ngrams_free(lm);
}

int main(void)
{
    RUN(test_order_one_makes_every_byte_a_piece);
    RUN(test_order_two_by_hand);
    RUN(test_ensure_unicode_by_hand);
    RUN(test_all_minus_infinity_fallback_of_the_spec);
    RUN(test_pieces_tile_and_respect_utf8);
    RUN(test_count_pieces_matches_segment);
    RUN(test_count_pieces_of_order_one_counts_bytes);
    RUN(test_count_pieces_weights_are_repeats);
    RUN(test_workspace_is_reusable);
    RUN(test_errors);
    return bp_test_report("bnlm");
}
