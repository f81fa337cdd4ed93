/* Unit tests of bp_pieces.h: the piece counter (add, merge, export, sizes,
 * packed adds and partitions of the distributed form). */
#include "bp_pieces.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

#define SENTINEL ((bp_piece_counts *)(uintptr_t)0x1)
#define U8(lit) ((const uint8_t *)(lit))
#define ADD(c, lit, n) bp_piece_counts_add(c, (const uint8_t *)(lit), sizeof(lit) - 1, n)

typedef struct {
    uint8_t *data;
    int64_t *offsets;
    uint64_t *counts;
    size_t size;
} exported;

/* Exports into exact-size buffers (at least one byte each, so malloc gives a pointer). */
static exported export_all(const bp_piece_counts *c)
{
    exported e;
    e.size = bp_piece_counts_size(c);
    size_t bytes = bp_piece_counts_total_bytes(c);
    e.data = malloc(bytes ? bytes : 1);
    e.offsets = malloc((e.size + 1) * sizeof *e.offsets);
    e.counts = malloc((e.size ? e.size : 1) * sizeof *e.counts);
    bp_piece_counts_export(c, e.data, e.offsets, e.counts);
    return e;
}

static void exported_free(exported *e)
{
    free(e->data);
    free(e->offsets);
    free(e->counts);
}

/* 1 iff exported piece k is lit with count n. */
static int piece_is(const exported *e, size_t k, const char *lit, size_t len, uint64_t n)
{
    return k < e->size && e->offsets[k + 1] - e->offsets[k] == (int64_t)len &&
           memcmp(e->data + e->offsets[k], lit, len) == 0 && e->counts[k] == n;
}
#define PIECE_IS(e, k, lit, n) piece_is(e, k, lit, sizeof(lit) - 1, n)

static void test_add_counts_in_insertion_order(void)
{
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    if (!c)
        return;
    CHECK_EQ(bp_piece_counts_size(c), 0);
    CHECK_EQ(bp_piece_counts_total_bytes(c), 0);
    CHECK(bp_piece_counts_memory(c) > 0);
    CHECK_EQ(ADD(c, "ab", 3), BP_OK);
    CHECK_EQ(ADD(c, "c", 1), BP_OK);
    CHECK_EQ(ADD(c, "ab", 2), BP_OK);
    CHECK_EQ(ADD(c, "a", 4), BP_OK);       /* a prefix is another piece */
    CHECK_EQ(ADD(c, "a\0", 1), BP_OK);     /* so is a NUL-extended one */
    CHECK_EQ(ADD(c, "a\0b", 1), BP_OK);
    CHECK_EQ(ADD(c, "a\0c", 1), BP_OK);
    CHECK_EQ(ADD(c, "c", 0), BP_OK);       /* a zero count still adds nothing new */
    CHECK_EQ(bp_piece_counts_size(c), 6);
    CHECK_EQ(bp_piece_counts_total_bytes(c), 2 + 1 + 1 + 2 + 3 + 3);
    exported e = export_all(c);
    CHECK_EQ(e.offsets[0], 0);
    CHECK(PIECE_IS(&e, 0, "ab", 5));
    CHECK(PIECE_IS(&e, 1, "c", 1));
    CHECK(PIECE_IS(&e, 2, "a", 4));
    CHECK(PIECE_IS(&e, 3, "a\0", 1));
    CHECK(PIECE_IS(&e, 4, "a\0b", 1));
    CHECK(PIECE_IS(&e, 5, "a\0c", 1));
    CHECK_EQ(e.offsets[6], 12);
    exported_free(&e);
    bp_piece_counts_free(c);
}

static void test_merge_adds_counts_and_leaves_the_source(void)
{
    bp_piece_counts *a = NULL, *b = NULL, *empty = NULL;
    CHECK_EQ(bp_piece_counts_new(&a), BP_OK);
    CHECK_EQ(bp_piece_counts_new(&b), BP_OK);
    CHECK_EQ(bp_piece_counts_new(&empty), BP_OK);
    if (a && b && empty) {
        CHECK_EQ(ADD(a, "ab", 2), BP_OK);
        CHECK_EQ(ADD(a, "x", 1), BP_OK);
        CHECK_EQ(ADD(b, "x", 4), BP_OK);
        CHECK_EQ(ADD(b, "yz", 3), BP_OK);
        CHECK_EQ(bp_piece_counts_merge(a, b), BP_OK);
        exported e = export_all(a);
        CHECK_EQ(e.size, 3);
        CHECK(PIECE_IS(&e, 0, "ab", 2));
        CHECK(PIECE_IS(&e, 1, "x", 5));
        CHECK(PIECE_IS(&e, 2, "yz", 3)); /* new pieces after the old ones */
        exported_free(&e);
        e = export_all(b); /* the source is unchanged */
        CHECK_EQ(e.size, 2);
        CHECK(PIECE_IS(&e, 0, "x", 4));
        CHECK(PIECE_IS(&e, 1, "yz", 3));
        exported_free(&e);
        CHECK_EQ(bp_piece_counts_merge(a, empty), BP_OK);
        CHECK_EQ(bp_piece_counts_size(a), 3);
        CHECK_EQ(bp_piece_counts_merge(empty, a), BP_OK); /* into an empty counter: a copy */
        e = export_all(empty);
        CHECK(e.size == 3 && PIECE_IS(&e, 0, "ab", 2) && PIECE_IS(&e, 1, "x", 5) && PIECE_IS(&e, 2, "yz", 3));
        exported_free(&e);
        /* Errors. */
        CHECK_EQ(bp_piece_counts_merge(a, a), BP_ERR_INVALID);
        CHECK_EQ(bp_piece_counts_merge(NULL, b), BP_ERR_INVALID);
        CHECK_EQ(bp_piece_counts_merge(a, NULL), BP_ERR_INVALID);
        CHECK_EQ(bp_piece_counts_size(a), 3);
    }
    bp_piece_counts_free(a);
    bp_piece_counts_free(b);
    bp_piece_counts_free(empty);
}

static void test_many_pieces_export_tiles(void)
{
    /* Enough pieces to grow the index, entries and arena many times. */
    enum { N = 20000 };
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    if (!c)
        return;
    char buf[32];
    size_t bytes = 0;
    int failed = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            int len = snprintf(buf, sizeof buf, "p%d", i * 7919);
            failed += bp_piece_counts_add(c, (const uint8_t *)buf, (size_t)len, (uint64_t)i) != BP_OK;
            if (round == 0)
                bytes += (size_t)len;
        }
    }
    CHECK_EQ(failed, 0);
    CHECK_EQ(bp_piece_counts_size(c), N);
    CHECK_EQ(bp_piece_counts_total_bytes(c), bytes);
    CHECK(bp_piece_counts_memory(c) >= bytes);
    exported e = export_all(c);
    int wrong = 0;
    CHECK_EQ(e.offsets[0], 0);
    CHECK_EQ(e.offsets[N], bytes);
    for (int i = 0; i < N; i++) {
        int len = snprintf(buf, sizeof buf, "p%d", i * 7919);
        wrong += !piece_is(&e, (size_t)i, buf, (size_t)len, 2 * (uint64_t)i);
        wrong += e.offsets[i + 1] <= e.offsets[i]; /* contiguous, non-empty */
    }
    CHECK_EQ(wrong, 0);
    exported_free(&e);
    bp_piece_counts_free(c);
}

static void test_empty_export(void)
{
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    if (!c)
        return;
    uint8_t data[1] = {0x5a};
    int64_t offsets[1] = {-1};
    uint64_t counts[1] = {7};
    bp_piece_counts_export(c, data, offsets, counts);
    CHECK_EQ(offsets[0], 0);
    CHECK(data[0] == 0x5a && counts[0] == 7);
    bp_piece_counts_free(c);
}

static void test_errors(void)
{
    bp_piece_counts *c = SENTINEL;
    CHECK_EQ(bp_piece_counts_new(NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    CHECK(c != NULL && c != SENTINEL);
    if (!c || c == SENTINEL)
        return;
    CHECK_EQ(bp_piece_counts_add(c, (const uint8_t *)"a", 0, 1), BP_ERR_INVALID); /* length >= 1 */
    CHECK_EQ(bp_piece_counts_add(c, NULL, 1, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add(NULL, (const uint8_t *)"a", 1, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_size(c), 0);
    bp_piece_counts_free(c);
    bp_piece_counts_free(NULL); /* a no-op */
}

static void test_add_substrings_on_character_boundaries(void)
{
    /* "aaa" + U+4E2D (3 bytes), lengths 1..4, weight 2: substrings that start
     * or end inside the character are skipped; the whole text (6 bytes > 4)
     * counts once; "aa" occurs at two positions and counts twice. */
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    if (!c)
        return;
    const uint8_t data[] = "aaa\xe4\xb8\xad" "ab";
    const int64_t offsets[] = {0, 6, 8};
    const uint64_t weights[] = {2, 5};
    CHECK_EQ(bp_piece_counts_add_substrings(c, data, offsets, weights, 1, 1, 4, 1, 0), BP_OK);
    exported e = export_all(c);
    CHECK_EQ(e.size, 6);
    CHECK(PIECE_IS(&e, 0, "a", 6));
    CHECK(PIECE_IS(&e, 1, "aa", 4));
    CHECK(PIECE_IS(&e, 2, "aaa", 2));
    CHECK(PIECE_IS(&e, 3, "a\xe4\xb8\xad", 2));
    CHECK(PIECE_IS(&e, 4, "\xe4\xb8\xad", 2));
    CHECK(PIECE_IS(&e, 5, "aaa\xe4\xb8\xad", 2));
    exported_free(&e);

    /* The second text, lengths 2..2: only "ab"; a text of max_length bytes is not added twice. */
    CHECK_EQ(bp_piece_counts_add_substrings(c, data, offsets + 1, weights + 1, 1, 2, 2, 1, 0), BP_OK);
    e = export_all(c);
    CHECK_EQ(e.size, 7);
    CHECK(PIECE_IS(&e, 6, "ab", 5));
    exported_free(&e);

    /* Errors: lengths, NULL arguments, broken offsets. */
    CHECK_EQ(bp_piece_counts_add_substrings(c, data, offsets, weights, 2, 0, 4, 1, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_substrings(c, data, offsets, weights, 2, 3, 2, 1, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_substrings(NULL, data, offsets, weights, 2, 1, 4, 1, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_substrings(c, NULL, offsets, weights, 2, 1, 4, 1, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_substrings(c, data, offsets, NULL, 2, 1, 4, 1, 0), BP_ERR_INVALID);
    const int64_t decreasing[] = {0, 6, 5};
    CHECK_EQ(bp_piece_counts_add_substrings(c, data, decreasing, weights, 2, 1, 4, 1, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_substrings(c, NULL, offsets, NULL, 0, 1, 4, 1, 0), BP_OK); /* nothing to add */
    bp_piece_counts_free(c);
}

static void test_add_each_counts_texts_and_skips_empty_ones(void)
{
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    if (!c)
        return;
    /* "ab", "", "c", "ab", "abc": the empty text is skipped, not refused. */
    const int64_t off[] = {0, 2, 2, 3, 5, 8};
    CHECK_EQ(bp_piece_counts_add_each(c, U8("abcababc"), off, 5), BP_OK);
    exported e = export_all(c);
    CHECK_EQ(e.size, 3);
    CHECK(PIECE_IS(&e, 0, "ab", 2) && PIECE_IS(&e, 1, "c", 1) && PIECE_IS(&e, 2, "abc", 1));
    exported_free(&e);
    CHECK_EQ(bp_piece_counts_add_each(c, NULL, NULL, 0), BP_OK);
    CHECK_EQ(bp_piece_counts_add_each(NULL, U8("ab"), off, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_each(c, NULL, off, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_each(c, U8("ab"), NULL, 1), BP_ERR_INVALID);
    const int64_t decreasing[] = {2, 1}, negative[] = {-1, 1};
    CHECK_EQ(bp_piece_counts_add_each(c, U8("ab"), decreasing, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_each(c, U8("ab"), negative, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_size(c), 3);
    bp_piece_counts_free(c);
}

static void test_add_substrings_by_partition(void)
{
    /* Counting each partition into its own counter gives the substrings of
     * counting them all, each in the partition bp_piece_counts_partitions names. */
    const uint8_t *data = U8("the cat sat on the mat, then the hat");
    const int64_t offsets[] = {0, 15, 36};
    const uint64_t weights[] = {2, 3};
    enum { PARTS = 3 };
    bp_piece_counts *all = NULL, *part[PARTS] = {NULL};
    CHECK_EQ(bp_piece_counts_new(&all), BP_OK);
    for (int q = 0; q < PARTS; q++)
        CHECK_EQ(bp_piece_counts_new(&part[q]), BP_OK);
    if (all && part[0] && part[1] && part[2]) {
        CHECK_EQ(bp_piece_counts_add_substrings(all, data, offsets, weights, 2, 1, 4, 1, 0), BP_OK);
        size_t total = 0;
        uint64_t weight = 0;
        for (uint32_t q = 0; q < PARTS; q++) {
            CHECK_EQ(bp_piece_counts_add_substrings(part[q], data, offsets, weights, 2, 1, 4, PARTS, q), BP_OK);
            total += bp_piece_counts_size(part[q]);
            exported e = export_all(part[q]);
            uint32_t *which = malloc((e.size ? e.size : 1) * sizeof *which);
            CHECK_EQ(bp_piece_counts_partitions(part[q], PARTS, which), BP_OK);
            for (size_t k = 0; k < e.size; k++) {
                CHECK_EQ(which[k], q);
                weight += e.counts[k];
                /* The same count as when all partitions are counted together. */
                bp_piece_counts *probe = NULL;
                CHECK_EQ(bp_piece_counts_new(&probe), BP_OK);
                CHECK_EQ(bp_piece_counts_merge(probe, all), BP_OK);
                size_t before = bp_piece_counts_size(probe);
                CHECK_EQ(bp_piece_counts_add(probe, e.data + e.offsets[k], (size_t)(e.offsets[k + 1] - e.offsets[k]), 1),
                         BP_OK);
                CHECK_EQ(bp_piece_counts_size(probe), before); /* it was among all's */
                bp_piece_counts_free(probe);
            }
            free(which);
            exported_free(&e);
        }
        CHECK_EQ(total, bp_piece_counts_size(all));
        exported whole = export_all(all);
        uint64_t whole_weight = 0;
        for (size_t k = 0; k < whole.size; k++)
            whole_weight += whole.counts[k];
        CHECK_EQ(weight, whole_weight);
        exported_free(&whole);
        CHECK_EQ(bp_piece_counts_add_substrings(all, data, offsets, weights, 2, 1, 4, 0, 0), BP_ERR_INVALID);
        CHECK_EQ(bp_piece_counts_add_substrings(all, data, offsets, weights, 2, 1, 4, PARTS, PARTS), BP_ERR_INVALID);
    }
    bp_piece_counts_free(all);
    for (int q = 0; q < PARTS; q++)
        bp_piece_counts_free(part[q]);
}

static void test_piece_counts_packed_and_partitions(void)
{
    bp_piece_counts *a = NULL, *b = NULL;
    CHECK_EQ(bp_piece_counts_new(&a), BP_OK);
    CHECK_EQ(bp_piece_counts_new(&b), BP_OK);
    if (!a || !b) {
        bp_piece_counts_free(a);
        bp_piece_counts_free(b);
        return;
    }
    const int64_t off[] = {0, 2, 3, 5};
    const uint64_t cnt[] = {1, 2, 3};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), off, cnt, 3), BP_OK);
    CHECK_EQ(bp_piece_counts_size(a), 2);
    uint8_t data[3];
    int64_t eo[3];
    uint64_t ec[2];
    bp_piece_counts_export(a, data, eo, ec);
    CHECK(memcmp(data, "abc", 3) == 0 && eo[1] == 2 && ec[0] == 4 && ec[1] == 2);
    CHECK_EQ(bp_piece_counts_add_packed(a, NULL, NULL, NULL, 0), BP_OK);
    CHECK_EQ(bp_piece_counts_add_packed(NULL, U8("abcab"), off, cnt, 3), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_packed(a, NULL, off, cnt, 3), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), NULL, cnt, 3), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), off, NULL, 3), BP_ERR_INVALID);
    const int64_t decreasing[] = {2, 1};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), decreasing, cnt, 1), BP_ERR_INVALID);
    const int64_t empty[] = {1, 1};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), empty, cnt, 1), BP_ERR_INVALID);
    const uint64_t zero[] = {0};
    CHECK_EQ(bp_piece_counts_add_packed(a, U8("abcab"), off, zero, 1), BP_ERR_INVALID);

    /* Partitions: a function of the bytes, whatever the counter or insertion order. */
    const char *pieces[] = {"the", "cat", "sat", "\xe4\xb8\xad", "a", "mat", "on", "\0x"};
    const size_t lengths[] = {3, 3, 3, 3, 1, 3, 2, 2};
    for (int i = 0; i < 8; i++)
        bp_piece_counts_add(b, U8(pieces[7 - i]), lengths[7 - i], 1);
    bp_piece_counts *c = NULL;
    CHECK_EQ(bp_piece_counts_new(&c), BP_OK);
    for (int i = 0; c && i < 8; i++)
        bp_piece_counts_add(c, U8(pieces[i]), lengths[i], 7);
    uint32_t pb[8], pc[8];
    CHECK_EQ(bp_piece_counts_partitions(b, 5, pb), BP_OK);
    CHECK_EQ(bp_piece_counts_partitions(c, 5, pc), BP_OK);
    int wrong = 0;
    for (int i = 0; i < 8; i++)
        wrong += pb[7 - i] != pc[i] || pc[i] >= 5;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bp_piece_counts_partitions(c, 1, pc), BP_OK);
    wrong = 0;
    for (int i = 0; i < 8; i++)
        wrong += pc[i] != 0;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(bp_piece_counts_partitions(c, 0, pc), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_partitions(c, 3, NULL), BP_ERR_INVALID);
    CHECK_EQ(bp_piece_counts_partitions(NULL, 3, pc), BP_ERR_INVALID);
    bp_piece_counts_free(a);
    bp_piece_counts_free(b);
    bp_piece_counts_free(c);
}

int main(void)
{
    RUN(test_add_counts_in_insertion_order);
    RUN(test_merge_adds_counts_and_leaves_the_source);
    RUN(test_many_pieces_export_tiles);
    RUN(test_empty_export);
    RUN(test_errors);
    RUN(test_add_substrings_on_character_boundaries);
    RUN(test_add_substrings_by_partition);
    RUN(test_piece_counts_packed_and_partitions);
    RUN(test_add_each_counts_texts_and_skips_empty_ones);
    return bp_test_report("pieces");
}
