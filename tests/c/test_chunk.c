/* Unit tests of bp_chunk.h: a chunk ends after the first maximal run of
 * '\n' at or after its start ('\r' is an ordinary byte), or at the end. */
#include "bp_chunk.h"
#include "bp_test.h"

#include <stdlib.h>

/* bp_chunk_end on an exact-size heap copy, so that ASan sees any read past len. */
static size_t chunk_end(const char *text, size_t len, size_t start)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, text, len);
    size_t end = bp_chunk_end(copy, len, start);
    free(copy);
    return end;
}

#define END(lit, start) chunk_end(lit, sizeof(lit) - 1, start)

static void test_cut_after_a_run_of_newlines(void)
{
    CHECK_EQ(END("ab\ncd", 0), 3);
    CHECK_EQ(END("ab\ncd", 3), 5);
    CHECK_EQ(END("ab\n\n\ncd", 0), 5); /* the whole run stays with its chunk */
    CHECK_EQ(END("ab\n\n\ncd", 5), 7);
    CHECK_EQ(END("a\nb\nc", 2), 4);
}

static void test_no_newline_runs_to_the_end(void)
{
    CHECK_EQ(END("abc", 0), 3);
    CHECK_EQ(END("abc", 1), 3);
    CHECK_EQ(END("x", 0), 1);
    CHECK_EQ(END("ab\n\n", 0), 4); /* trailing run ends at len, nothing read past it */
    CHECK_EQ(END("\n", 0), 1);
}

static void test_newlines_at_the_start_and_inside_a_run(void)
{
    CHECK_EQ(END("\n\nab", 0), 2); /* a chunk of newlines only */
    CHECK_EQ(END("\n\nab", 2), 4);
    CHECK_EQ(END("ab\n\n\ncd", 3), 5); /* starting inside a run: the rest of it */
    CHECK_EQ(END("ab\n\n\ncd", 4), 5);
}

static void test_carriage_return_is_an_ordinary_byte(void)
{
    CHECK_EQ(END("a\rb", 0), 3);
    CHECK_EQ(END("a\r\nb", 0), 3);
    CHECK_EQ(END("a\n\r\nb", 0), 2); /* '\r' breaks the run of '\n' */
    CHECK_EQ(END("a\n\r\nb", 2), 4);
}

static void test_len_bounds_the_search(void)
{
    /* Bytes past len do not count, newlines included. */
    CHECK_EQ(chunk_end("ab\ncd", 2, 0), 2);
    CHECK_EQ(chunk_end("ab\n\ncd", 3, 0), 3);
    CHECK_EQ(chunk_end("a\0\nb", 4, 0), 3); /* NUL is an ordinary byte */
}

static void test_chunks_tile_the_text(void)
{
    const char text[] = "first\n\nsecond\r\nthird\n\n\nx\n";
    const size_t len = sizeof text - 1;
    size_t start = 0, chunks = 0;
    int well_formed = 1;
    while (start < len) {
        size_t end = chunk_end(text, len, start);
        well_formed &= end > start && end <= len;
        /* Inside a chunk, a '\n' is only ever followed by '\n'. */
        for (size_t i = start; i + 1 < end; i++)
            well_formed &= !(text[i] == '\n' && text[i + 1] != '\n');
        /* It ends at len or after a '\n' that a non-'\n' follows. */
        well_formed &= end == len || (text[end - 1] == '\n' && text[end] != '\n');
        start = end;
        chunks++;
    }
    CHECK(well_formed);
    CHECK_EQ(start, len);
    CHECK_EQ(chunks, 4);
}

/* bp_training_chunk_end on an exact-size heap copy. */
static size_t training_end(const char *text, size_t len, size_t start, size_t max_units, size_t max_newlines,
                           int count_characters)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, text, len);
    size_t end = bp_training_chunk_end(copy, len, start, max_units, max_newlines, count_characters);
    free(copy);
    return end;
}
#define TEND(lit, start, units, newlines, chars) training_end(lit, sizeof(lit) - 1, start, units, newlines, chars)

static void test_training_chunks_are_capped(void)
{
    /* A line within the cap keeps its newlines, up to max_newlines of them. */
    CHECK_EQ(TEND("abc\n\nd", 0, 5, 100, 1), 5);
    CHECK_EQ(TEND("abc\n\n\n\nd", 0, 5, 2, 1), 5);
    CHECK_EQ(TEND("abc\n\n\n\nd", 5, 5, 2, 1), 7); /* the rest of the run: no characters, newlines */
    /* A line longer than the cap: exactly max_units units, newlines left for the next chunk. */
    CHECK_EQ(TEND("abcdefg\n", 0, 3, 100, 1), 3);
    CHECK_EQ(TEND("abc\n", 0, 3, 100, 1), 4); /* exactly the cap, then a newline: one chunk */
    CHECK_EQ(TEND("abcdefg", 6, 3, 100, 1), 7);
    /* Characters, not bytes, when counting characters: U+4E2D is 3 bytes. */
    CHECK_EQ(TEND("\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad", 0, 2, 100, 1), 6);
    CHECK_EQ(TEND("\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad", 0, 2, 100, 0), 2);
    CHECK_EQ(TEND("\xe4\xb8\xad\n", 0, 1, 100, 1), 4);
    CHECK_EQ(TEND("\r\r\n", 0, 5, 100, 1), 3); /* '\r' is an ordinary character */
}

int main(void)
{
    RUN(test_cut_after_a_run_of_newlines);
    RUN(test_no_newline_runs_to_the_end);
    RUN(test_newlines_at_the_start_and_inside_a_run);
    RUN(test_carriage_return_is_an_ordinary_byte);
    RUN(test_len_bounds_the_search);
    RUN(test_chunks_tile_the_text);
    RUN(test_training_chunks_are_capped);
    return bp_test_report("chunk");
}
