/* Unit tests of bp_format.h: ids as decimal text, no NUL, exact sizes. */
#include "bp_format.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

/* Formats into an exact-size heap buffer (the documented room) pre-filled
 * with '#'; 1 iff the text written is `want` and nothing else was touched. */
static int formats_as(const int32_t *ids, size_t n, char sep, const char *want)
{
    size_t room = n * (BP_FORMAT_ID_CHARS + 1);
    char *out = malloc(room + 1);
    memset(out, '#', room + 1);
    size_t written = bp_format_ids(ids, n, sep, out);
    int ok = written == strlen(want) && memcmp(out, want, written) == 0 && written <= room;
    for (size_t i = written; i <= room; i++)
        ok &= out[i] == '#'; /* no terminating NUL, no stray write */
    if (!ok)
        fprintf(stderr, "  wrote %zu bytes \"%.*s\", wanted \"%s\"\n", written, (int)written, out, want);
    free(out);
    return ok;
}
#define FORMATS_AS(sep, want, ...) \
    formats_as((const int32_t[]){__VA_ARGS__}, sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t), sep, want)

static void test_single_ids(void)
{
    CHECK(FORMATS_AS(' ', "0", 0));
    CHECK(FORMATS_AS(' ', "7", 7));
    CHECK(FORMATS_AS(' ', "10", 10));
    CHECK(FORMATS_AS(' ', "-1", -1));
    CHECK(FORMATS_AS(' ', "-10", -10));
    CHECK(FORMATS_AS(' ', "2147483647", INT32_MAX));
    CHECK(FORMATS_AS(' ', "-2147483648", INT32_MIN));
    CHECK(FORMATS_AS(' ', "-2147483647", INT32_MIN + 1));
    CHECK(FORMATS_AS(' ', "1000000000", 1000000000));
    CHECK_EQ(strlen("-2147483648"), BP_FORMAT_ID_CHARS);
}

static void test_separators(void)
{
    CHECK(FORMATS_AS(' ', "1 22 333", 1, 22, 333));
    CHECK(FORMATS_AS(',', "-5,0,100", -5, 0, 100));
    CHECK(FORMATS_AS('\t', "0\t0", 0, 0));
    /* A NUL separator (checked by hand: strlen would stop at it). */
    int32_t two[] = {3, 4};
    char out[2 * (BP_FORMAT_ID_CHARS + 1)];
    CHECK_EQ(bp_format_ids(two, 2, '\0', out), 3);
    CHECK(out[0] == '3' && out[1] == '\0' && out[2] == '4');
}

static void test_nothing_to_write(void)
{
    char out[4] = "###";
    const int32_t ids[] = {42};
    CHECK_EQ(bp_format_ids(ids, 0, ' ', out), 0);
    CHECK(strcmp(out, "###") == 0);
    CHECK_EQ(bp_format_spans(ids, (const int64_t[]){0}, 0, ' ', '\n', out), 0);
    CHECK(strcmp(out, "###") == 0);
}

static void test_worst_case_fits_the_documented_room(void)
{
    enum { N = 1000 };
    int32_t *ids = malloc(N * sizeof *ids);
    for (int i = 0; i < N; i++)
        ids[i] = INT32_MIN;
    char *out = malloc(N * (BP_FORMAT_ID_CHARS + 1)); /* exact: ASan checks the bound */
    size_t written = bp_format_ids(ids, N, ' ', out);
    CHECK_EQ(written, N * BP_FORMAT_ID_CHARS + (N - 1));
    CHECK(memcmp(out + written - 11, "-2147483648", 11) == 0);
    free(out);
    /* Spans: each id at full width, plus one terminator per span. */
    int64_t offsets[] = {0, 400, 400, 1000};
    size_t room = 1000 * (BP_FORMAT_ID_CHARS + 1) + 3;
    out = malloc(room);
    written = bp_format_spans(ids, offsets, 3, ' ', '\n', out);
    CHECK_EQ(written, 1000 * BP_FORMAT_ID_CHARS + 399 + 599 + 3);
    CHECK(written <= room);
    free(out);
    free(ids);
}

static void test_spans(void)
{
    const int32_t ids[] = {1, 2, 3, -4, 5};
    char out[64];
    memset(out, '#', sizeof out);
    size_t written = bp_format_spans(ids, (const int64_t[]){0, 2, 2, 5}, 3, ' ', '\n', out);
    CHECK_EQ(written, 12);
    CHECK(memcmp(out, "1 2\n\n3 -4 5\n", 12) == 0);
    CHECK(out[12] == '#');
    /* Offsets need not start at 0. */
    written = bp_format_spans(ids, (const int64_t[]){1, 3, 4}, 2, ',', ';', out);
    CHECK_EQ(written, 7);
    CHECK(memcmp(out, "2,3;-4;", 7) == 0);
    /* An empty span is just its terminator. */
    written = bp_format_spans(ids, (const int64_t[]){5, 5}, 1, ' ', '\n', out);
    CHECK_EQ(written, 1);
    CHECK(out[0] == '\n');
}

int main(void)
{
    RUN(test_single_ids);
    RUN(test_separators);
    RUN(test_nothing_to_write);
    RUN(test_worst_case_fits_the_documented_room);
    RUN(test_spans);
    return bp_test_report("format");
}
