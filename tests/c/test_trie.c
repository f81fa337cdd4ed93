/* Unit tests of bp_trie.h: building the double-array trie, walking it, and
 * every error of bp_trie_build. */
#include "bp_test.h"
#include "bp_test_vocab.h"
#include "bp_trie.h"

#include <float.h>

/* A non-NULL pointer that must be overwritten with NULL on error. */
#define SENTINEL ((bp_trie *)(uintptr_t)0x1)

/* Walks the trie along piece[0 .. len); the unit reached, or NULL. */
static const bp_unit *walk(const bp_trie *trie, const char *piece, size_t len, int32_t *node)
{
    bp_trie_cursor cursor = bp_trie_root(trie);
    const bp_unit *u = NULL;
    for (size_t i = 0; i < len; i++)
        if (!(u = bp_trie_step(trie, &cursor, (uint8_t)piece[i])))
            return NULL;
    *node = cursor.node;
    return u;
}

static void test_every_piece_is_found_with_its_score_and_id(void)
{
    /* Given out of order, with NUL and 0xFF bytes; "xyz" leaves "xy" a
     * non-terminal inner node. */
    const test_piece extra[] = {PIECE("abc", -3.5), PIECE("ab", -2.25), PIECE("\0\0", -1.0),
                                PIECE("\xff\x00\xff", -4.0), PIECE("xyz", -7.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    int rc = test_vocab_build(&v, -10.0, extra, 5, &trie);
    CHECK_EQ(rc, BP_OK);
    if (rc != BP_OK) {
        test_vocab_free(&v);
        return;
    }
    CHECK_EQ(trie->num_pieces, 261);
    CHECK_EQ(trie->max_piece_len, 3);
    for (size_t i = 0; i < v.n; i++) {
        int32_t node = -1;
        size_t len = (size_t)(v.offsets[i + 1] - v.offsets[i]);
        const bp_unit *u = walk(trie, (const char *)v.bytes + v.offsets[i], len, &node);
        CHECK(u != NULL);
        if (!u)
            continue;
        CHECK(bp_trie_is_piece(trie, node));
        CHECK(trie->info[node].score == v.scores[i]);
        CHECK_EQ(trie->info[node].id, v.ids[i]);
        CHECK_EQ(trie->info[node].length, len);
        CHECK(&trie->units[node] == u);
    }
    int32_t node = -1;
    const bp_unit *xy = walk(trie, "xy", 2, &node);
    CHECK(xy != NULL && !bp_trie_is_piece(trie, node)); /* a prefix, not a piece */
    CHECK(walk(trie, "abd", 3, &node) == NULL);
    CHECK(walk(trie, "abcd", 4, &node) == NULL);
    CHECK(walk(trie, "\0\0\0", 3, &node) == NULL);
    test_vocab_free(&v);
    bp_trie_free(trie);
}

static void test_step_and_child_agree_and_a_miss_leaves_the_cursor(void)
{
    const test_piece extra[] = {PIECE("ab", -1.0), PIECE("abc", -2.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -5.0, extra, 2, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(&v);
        return;
    }
    int32_t a = bp_trie_child(trie, 0, 'a');
    int32_t ab = a >= 0 ? bp_trie_child(trie, a, 'b') : -1;
    CHECK(a > 0 && ab > 0 && a != ab);
    bp_trie_cursor cursor = bp_trie_root(trie);
    CHECK_EQ(cursor.node, 0);
    CHECK(bp_trie_step(trie, &cursor, 'a') != NULL);
    CHECK_EQ(cursor.node, a);
    CHECK(bp_trie_step(trie, &cursor, 'b') != NULL);
    CHECK_EQ(cursor.node, ab);
    bp_trie_cursor before = cursor;
    CHECK(bp_trie_step(trie, &cursor, 'z') == NULL); /* no "abz" */
    CHECK_EQ(cursor.node, before.node);
    CHECK_EQ(cursor.base, before.base);
    CHECK_EQ(bp_trie_child(trie, ab, 'z'), -1);
    CHECK_EQ(bp_trie_child(trie, a, 'a'), -1);
    int32_t abc = bp_trie_child(trie, ab, 'c');
    CHECK(abc > 0);
    CHECK_EQ(bp_trie_child(trie, abc, 'c'), -1); /* a leaf has no children */
    test_vocab_free(&v);
    bp_trie_free(trie);
}

static void test_any_byte_from_any_node_stays_in_bounds(void)
{
    /* The padding guarantee: base(n) + 255 is always a unit, so probing
     * every byte from every node is a valid read (ASan checks it). */
    const test_piece extra[] = {PIECE("\xff\xff", -1.0), PIECE("\xff\xfe\xfd", -1.0), PIECE("hello", -1.0),
                                PIECE("help", -1.0), PIECE("\x01\x02", -1.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -5.0, extra, 5, &trie), BP_OK);
    if (!trie) {
        test_vocab_free(&v);
        return;
    }
    size_t nodes = 0, children = 0;
    for (size_t n = 0; n < trie->num_units; n++) {
        if (n != 0 && trie->units[n].check < 0)
            continue; /* a free unit */
        nodes++;
        for (int c = 0; c < 256; c++)
            children += bp_trie_child(trie, (int32_t)n, (uint8_t)c) >= 0;
    }
    /* Every node but the root is somebody's child, exactly once. */
    CHECK_EQ(children + 1, nodes);
    /* root + 256 bytes + "\xff\xff" + "\xff\xfe","\xff\xfe\xfd" + "he","hel","hell","hello","help" + "\x01\x02" */
    CHECK_EQ(nodes, 1 + 256 + 1 + 2 + 5 + 1);
    test_vocab_free(&v);
    bp_trie_free(trie);
}

static void test_many_pieces(void)
{
    enum { N = 3000 };
    test_piece *extra = malloc(N * sizeof *extra);
    char *storage = malloc(N * 8);
    uint64_t x = 88172645463325252ULL;
    size_t made = 0;
    for (size_t i = 0; i < N; i++) {
        char *p = storage + 8 * i;
        size_t len = 2 + i % 6;
        for (size_t t = 0; t < len; t++)
            p[t] = (char)(bp_test_random(&x) % 7 + 'a'); /* a small alphabet: deep, shared prefixes */
        int dup = 0;
        for (size_t j = 0; j < made && !dup; j++)
            dup = extra[j].len == len && memcmp(extra[j].bytes, p, len) == 0;
        if (!dup)
            extra[made++] = (test_piece){p, len, -(double)i};
    }
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -100.0, extra, made, &trie), BP_OK);
    if (trie) {
        CHECK_EQ(trie->num_pieces, 256 + made);
        CHECK_EQ(trie->max_piece_len, 7);
        size_t wrong = 0;
        for (size_t i = 0; i < v.n; i++) {
            int32_t node = -1;
            size_t len = (size_t)(v.offsets[i + 1] - v.offsets[i]);
            const bp_unit *u = walk(trie, (const char *)v.bytes + v.offsets[i], len, &node);
            wrong += !u || !bp_trie_is_piece(trie, node) || trie->info[node].score != v.scores[i] || trie->info[node].id != v.ids[i] ||
                     trie->info[node].length != (int32_t)len;
        }
        CHECK_EQ(wrong, 0);
    }
    test_vocab_free(&v);
    bp_trie_free(trie);
    free(extra);
    free(storage);
}

static void test_longest_piece_is_accepted(void)
{
    static char big[BP_MAX_PIECE_LEN + 1];
    memset(big, 'q', sizeof big);
    test_piece extra[] = {{big, BP_MAX_PIECE_LEN, -1.0}};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -1.0, extra, 1, &trie), BP_OK);
    CHECK(trie != NULL && trie->max_piece_len == BP_MAX_PIECE_LEN);
    test_vocab_free(&v);
    bp_trie_free(trie);
}

/* bp_trie_build on a vocabulary it must refuse: the code, and *out reset to NULL. */
static int build_refused(const test_piece *extra, size_t num_extra, int drop_byte_zero)
{
    test_vocab v;
    bp_trie *trie = NULL;
    (void)test_vocab_build(&v, -1.0, extra, num_extra, &trie); /* fills v; the trie itself is not wanted */
    bp_trie_free(trie);
    /* Rebuild from the same arrays, maybe without the first piece (the byte 0). */
    size_t skip = drop_byte_zero ? 1 : 0;
    int64_t *offsets = v.offsets + skip;
    trie = SENTINEL;
    int rc = bp_trie_build(v.bytes, offsets, v.n - skip, v.scores + skip, v.ids + skip, &trie);
    CHECK(trie == NULL);
    if (rc == BP_OK && trie != SENTINEL)
        bp_trie_free(trie);
    test_vocab_free(&v);
    return rc;
}

static void test_errors(void)
{
    const test_piece ok[] = {PIECE("ab", -1.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    CHECK_EQ(test_vocab_build(&v, -1.0, ok, 1, &trie), BP_OK);
    bp_trie_free(trie);

    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, v.n, v.scores, v.ids, NULL), BP_ERR_INVALID);
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(NULL, v.offsets, v.n, v.scores, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, NULL, v.n, v.scores, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, v.n, NULL, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, v.n, v.scores, NULL, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, 0, v.scores, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);

    /* A negative id. */
    v.ids[256] = -1;
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, v.n, v.scores, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    v.ids[256] = EXTRA_ID(0);
    /* An empty piece: "ab" cut to nothing (the offsets stay non-decreasing). */
    int64_t saved = v.offsets[v.n];
    v.offsets[v.n] = v.offsets[v.n - 1];
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, v.n, v.scores, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    /* Decreasing offsets. */
    v.offsets[v.n] = v.offsets[v.n - 1] - 1;
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, v.offsets, v.n, v.scores, v.ids, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    v.offsets[v.n] = saved;
    /* A negative offset. */
    int64_t neg[2] = {-1, 0};
    double one_score = 0.0;
    int32_t one_id = 3;
    trie = SENTINEL;
    CHECK_EQ(bp_trie_build(v.bytes, neg, 1, &one_score, &one_id, &trie), BP_ERR_INVALID);
    CHECK(trie == NULL);
    test_vocab_free(&v);

    /* A missing single byte (byte 0; every other one is there). */
    CHECK_EQ(build_refused(ok, 1, 1), BP_ERR_INVALID);
    /* No single bytes at all. */
    {
        const uint8_t bytes[] = "ab";
        int64_t offsets[] = {0, 2};
        trie = SENTINEL;
        CHECK_EQ(bp_trie_build(bytes, offsets, 1, &one_score, &one_id, &trie), BP_ERR_INVALID);
        CHECK(trie == NULL);
    }

    /* Duplicates: a piece twice, and a single byte twice. */
    const test_piece twice[] = {PIECE("ab", -1.0), PIECE("cd", -1.0), PIECE("ab", -2.0)};
    CHECK_EQ(build_refused(twice, 3, 0), BP_ERR_DUPLICATE);
    const test_piece byte_twice[] = {PIECE("a", -1.0)};
    CHECK_EQ(build_refused(byte_twice, 1, 0), BP_ERR_DUPLICATE);

    /* A piece one byte longer than BP_MAX_PIECE_LEN. */
    static char big[BP_MAX_PIECE_LEN + 1];
    memset(big, 'q', sizeof big);
    const test_piece too_long[] = {{big, BP_MAX_PIECE_LEN + 1, -1.0}};
    test_vocab w;
    trie = SENTINEL;
    CHECK_EQ(test_vocab_build(&w, -1.0, too_long, 1, &trie), BP_ERR_TOO_LARGE);
    CHECK(trie == NULL);
    test_vocab_free(&w);

    bp_trie_free(NULL); /* a no-op */
}

/* bp_trie_build with one score replaced: the code (the trie is freed). */
static int build_with_score(size_t index, double score)
{
    const test_piece extra[] = {PIECE("ab", -1.0), PIECE("abc", -2.0)};
    test_vocab v;
    bp_trie *trie = NULL;
    (void)test_vocab_build(&v, -3.0, extra, 2, &trie); /* fills v */
    bp_trie_free(trie);
    v.scores[index] = score;
    trie = SENTINEL;
    int rc = bp_trie_build(v.bytes, v.offsets, v.n, v.scores, v.ids, &trie);
    if (rc == BP_OK && trie != SENTINEL) {
        int32_t node = 0;
        for (size_t i = (size_t)v.offsets[index]; i < (size_t)v.offsets[index + 1] && node >= 0; i++)
            node = bp_trie_child(trie, node, v.bytes[i]);
        CHECK(node > 0 && trie->info[node].score == score); /* kept as given */
        bp_trie_free(trie);
    } else {
        CHECK(trie == NULL);
    }
    test_vocab_free(&v);
    return rc;
}

/* Scores must be finite with |score| <= BP_MAX_ABS_SCORE, so that no sum
 * of them along a text overflows (bp_common.h). */
static void test_scores_out_of_range_are_refused(void)
{
    const double refused[] = {NAN, -NAN, INFINITY, -INFINITY, 1e308, -1e308, DBL_MAX, -DBL_MAX,
                              nextafter(BP_MAX_ABS_SCORE, INFINITY), -nextafter(BP_MAX_ABS_SCORE, INFINITY),
                              2 * BP_MAX_ABS_SCORE, -1e10};
    const double accepted[] = {BP_MAX_ABS_SCORE, -BP_MAX_ABS_SCORE, 0.0, -0.0, DBL_MIN, -DBL_TRUE_MIN, -1e-300,
                               nextafter(BP_MAX_ABS_SCORE, 0.0), -745.0};
    /* A single byte (index 0, byte 0), the last single byte, and a longer piece. */
    const size_t where[] = {0, 255, 257};
    for (size_t w = 0; w < 3; w++) {
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            int rc = build_with_score(where[w], refused[i]);
            if (rc != BP_ERR_INVALID)
                fprintf(stderr, "  score %g at %zu: rc %d\n", refused[i], where[w], rc);
            CHECK_EQ(rc, BP_ERR_INVALID);
        }
        for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
            int rc = build_with_score(where[w], accepted[i]);
            if (rc != BP_OK)
                fprintf(stderr, "  score %g at %zu: rc %d\n", accepted[i], where[w], rc);
            CHECK_EQ(rc, BP_OK);
        }
    }
    CHECK(BP_MAX_ABS_SCORE == 1e9);
}

int main(void)
{
    RUN(test_every_piece_is_found_with_its_score_and_id);
    RUN(test_step_and_child_agree_and_a_miss_leaves_the_cursor);
    RUN(test_any_byte_from_any_node_stays_in_bounds);
    RUN(test_many_pieces);
    RUN(test_longest_piece_is_accepted);
    RUN(test_errors);
    RUN(test_scores_out_of_range_are_refused);
    return bp_test_report("trie");
}
