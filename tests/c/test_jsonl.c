/* Unit tests of bp_jsonl.h: one string field of each JSON line, and every
 * line it leaves to the exact path. (tests/test_pipeline.py checks it
 * against json.loads on random lines.) */
#include "bp_jsonl.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

/* The outcome of scanning one block for key "text". */
typedef struct {
    size_t entries;
    uint8_t status[16];
    int64_t line_index[16];
    int64_t line_start[16];
    char value[16][64];
    size_t value_len[16];
} scan;

/* Scans `block` (len bytes, copied to an exact-size heap buffer so that
 * ASan catches any read past it) with exactly the documented room. */
static int scan_block(const char *block, size_t len, int check_nfc, size_t max_line, scan *out)
{
    size_t lines = 0, docs = 0;
    uint8_t *copy = malloc(len + 1), *values = malloc(len + 1);
    memcpy(copy, block, len);
    int rc = bp_jsonl_count_lines(copy, len, &lines, &docs);
    int64_t *ends = malloc((lines + 1) * sizeof(int64_t)), *index = malloc((lines + 1) * sizeof(int64_t));
    int64_t *start = malloc((lines + 1) * sizeof(int64_t));
    uint8_t *status = malloc(lines + 1);
    if (rc == BP_OK)
        rc = bp_jsonl_extract(copy, len, (const uint8_t *)"text", 4, check_nfc, max_line, values, ends, status,
                              index, start, &out->entries);
    for (size_t e = 0; rc == BP_OK && e < out->entries && e < 16; e++) {
        const int64_t from = e ? ends[e - 1] : 0;
        out->status[e] = status[e];
        out->line_index[e] = index[e];
        out->line_start[e] = start[e];
        out->value_len[e] = (size_t)(ends[e] - from);
        memcpy(out->value[e], values + from, out->value_len[e] < 64 ? out->value_len[e] : 64);
    }
    free(copy);
    free(values);
    free(ends);
    free(index);
    free(start);
    free(status);
    return rc;
}

#define LINE(s) s, sizeof(s) - 1

/* The status of the one line `line`, and its value when it has one. */
static int status_of(const char *line, size_t len, int check_nfc, const char *want, size_t want_len)
{
    scan s;
    if (scan_block(line, len, check_nfc, SIZE_MAX, &s) != BP_OK || s.entries != 1)
        return -1;
    if (s.status[0] <= BP_JSONL_NEEDS_NFC && want != NULL &&
        (s.value_len[0] != want_len || memcmp(s.value[0], want, want_len) != 0))
        return -2;
    return s.status[0];
}

static void test_counts_lines_and_documents(void)
{
    size_t lines = 9, docs = 9;
    CHECK_EQ(bp_jsonl_count_lines(NULL, 0, &lines, &docs), BP_OK);
    CHECK_EQ(lines, 0);
    CHECK_EQ(docs, 0);
    const char block[] = "{}\n \t\v\f\r\n\nx";
    CHECK_EQ(bp_jsonl_count_lines((const uint8_t *)block, sizeof(block) - 1, &lines, &docs), BP_OK);
    CHECK_EQ(lines, 4);
    CHECK_EQ(docs, 2);
    CHECK_EQ(bp_jsonl_count_lines((const uint8_t *)block, 3, &lines, &docs), BP_OK);
    CHECK_EQ(lines, 1);
    CHECK_EQ(bp_jsonl_count_lines((const uint8_t *)block, 3, NULL, &docs), BP_ERR_INVALID);
    CHECK_EQ(bp_jsonl_count_lines(NULL, 1, &lines, &docs), BP_ERR_INVALID);
}

static void test_values_and_their_places(void)
{
    const char block[] = "{\"text\": \"ab\"}\n\n  \n{\"id\": 1, \"text\": \"c\"}\n{\"text\": 2}\n{\"text\": \"\"}";
    scan s;
    CHECK_EQ(scan_block(LINE(block), 1, SIZE_MAX, &s), BP_OK);
    CHECK_EQ(s.entries, 4);
    CHECK_EQ(s.status[0], BP_JSONL_VALUE);
    CHECK(s.value_len[0] == 2 && memcmp(s.value[0], "ab", 2) == 0);
    CHECK_EQ(s.line_index[1], 3);
    CHECK_EQ(s.line_start[1], 19);
    CHECK(s.status[1] == BP_JSONL_VALUE && s.value_len[1] == 1 && s.value[1][0] == 'c');
    CHECK_EQ(s.status[2], BP_JSONL_UNSURE);
    CHECK_EQ(s.value_len[2], 0);
    CHECK_EQ(s.line_index[3], 5);
    CHECK(s.status[3] == BP_JSONL_VALUE && s.value_len[3] == 0);
}

static void test_escapes_decode_to_utf8(void)
{
    CHECK_EQ(status_of(LINE("{\"text\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"), 1, LINE("a\"\\/\b\f\n\r\t")),
             BP_JSONL_VALUE);
    CHECK_EQ(status_of(LINE("{\"text\": \"\\u00e9\\u4E2D\\u0000\"}"), 1, "\xC3\xA9\xE4\xB8\xAD\0", 6),
             BP_JSONL_VALUE);
    /* A surrogate pair is one character (U+1F600, not NFC-inert: bp_utf8.h). */
    CHECK_EQ(status_of(LINE("{\"text\": \"\\ud83d\\ude00\"}"), 1, LINE("\xF0\x9F\x98\x80")), BP_JSONL_NEEDS_NFC);
    CHECK_EQ(status_of(LINE("{\"text\": \"\\ud83d\\ude00\"}"), 0, LINE("\xF0\x9F\x98\x80")), BP_JSONL_VALUE);
    /* A raw UTF-8 character, as written. */
    CHECK_EQ(status_of(LINE("{\"text\": \"\xE4\xB8\xAD\xC3\xA9\"}"), 1, LINE("\xE4\xB8\xAD\xC3\xA9")),
             BP_JSONL_VALUE);
    /* Raw characters of every length next to each other: a four-byte one
     * after a run of three-byte ones, full-width forms (lead EF). */
    CHECK_EQ(status_of(LINE("{\"text\": \"\xE4\xB8\xAD\xE6\x96\x87\xF0\x9F\x98\x80\xEF\xBC\x81\"}"), 0,
                       LINE("\xE4\xB8\xAD\xE6\x96\x87\xF0\x9F\x98\x80\xEF\xBC\x81")), BP_JSONL_VALUE);
    CHECK_EQ(status_of(LINE("{\"text\": \"\xEF\xBC\x81\xE4\xB8\xAD\"}"), 1, LINE("\xEF\xBC\x81\xE4\xB8\xAD")),
             BP_JSONL_VALUE);
    /* A combining mark, raw or escaped, is NFC's to handle. */
    CHECK_EQ(status_of(LINE("{\"text\": \"e\xCC\x81\"}"), 1, LINE("e\xCC\x81")), BP_JSONL_NEEDS_NFC);
    CHECK_EQ(status_of(LINE("{\"text\": \"e\\u0301\"}"), 1, LINE("e\xCC\x81")), BP_JSONL_NEEDS_NFC);
    /* Long plain runs (the 8-byte path) around escapes. */
    CHECK_EQ(status_of(LINE("{\"text\": \"abcdefghijklmnop\\nqrstuvwxyz0123456789\"}"), 1,
                       LINE("abcdefghijklmnop\nqrstuvwxyz0123456789")), BP_JSONL_VALUE);
}

static void test_uncertain_lines_go_to_the_exact_path(void)
{
    static const char *const lines[] = {
        "{\"text\": \"\\ud800\"}",             /* lone high surrogate */
        "{\"text\": \"\\udc00x\"}",            /* lone low surrogate */
        "{\"text\": \"\\ud800\\u0041\"}",      /* high surrogate, then no low one */
        "{\"text\": \"a\", \"text\": \"b\"}",  /* twice: the last counts */
        "{\"te\\u0078t\": \"a\"}",             /* an escaped key */
        "{\"text\": 1}",                       /* not a string */
        "{\"text\": null}",
        "{\"a\": NaN, \"text\": \"x\"}",
        "{\"a\": -Infinity, \"text\": \"x\"}",
        "{\"a\": 01, \"text\": \"x\"}",
        "{\"a\": 1., \"text\": \"x\"}",
        "{\"a\": [1,], \"text\": \"x\"}",
        "{\"text\": \"x\",}",
        "{\"text\": \"x\"} {}",
        "[\"text\"]",
        "{}",
        "{\"other\": \"x\"}",
        "{\"text\": \"a\tb\"}",                /* a raw control character */
        "{\"text\": \"\\x\"}",
        "{\"text\": \"\\u12\"}",
        "{\"text\": \"unterminated}",
        "{\"text\" \"x\"}",
        "{\"a\": tru, \"text\": \"x\"}",
        "\xEF\xBB\xBF{\"text\": \"x\"}",       /* a BOM */
        "{\"text\": \"\xFF\"}",                /* invalid UTF-8 */
        "{\"text\": \"\xC0\xAF\"}",            /* overlong */
        "{\"text\": \"\xED\xA0\x80\"}",        /* an encoded surrogate */
        "{\"text\": \"\xF4\x90\x80\x80\"}",    /* past U+10FFFF */
        "{\"text\": \"\xE4\xB8\"}",            /* cut short */
        "{\"text\": \"\xE4\xB8\xAD\xF8\x80\x80\"}",  /* no lead byte F8 (after a three-byte run) */
        "{\"text\": \"\xF5\x80\x80\x80\"}",    /* nor F5 */
        "{\"text\": \"\xE4\xB8\xAD\xE0\x80\x80\"}",  /* overlong, after a three-byte run */
        "{\"a\": \"\xFF\", \"text\": \"x\"}",  /* invalid UTF-8 elsewhere on the line */
        "{\"a\": {\"b\": }, \"text\": \"x\"}",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const int got = status_of(lines[i], strlen(lines[i]), 1, NULL, 0);
        if (got != BP_JSONL_UNSURE)
            BP_TEST_FAIL("line %zu (%s): status %d", i, lines[i], got);
        bp_test_checks++;
    }
}

static void test_other_values_are_validated_and_skipped(void)
{
    CHECK_EQ(status_of(LINE(" {\"a\": [1, -2.5e+3, 0, 1E9, true, false, null, {\"b\": [[], {}]}, \"\\u00e9\"],"
                            " \"text\": \"q\", \"z\": {}} \r"), 1, LINE("q")), BP_JSONL_VALUE);
    /* Nesting up to the limit is read; deeper is left to the exact path. */
    char deep[2 * BP_JSONL_MAX_DEPTH + 64];
    for (int depth = BP_JSONL_MAX_DEPTH; depth <= BP_JSONL_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        n += (size_t)sprintf(deep, "{\"a\": ");
        for (int i = 0; i < depth; i++)
            deep[n++] = '[';
        for (int i = 0; i < depth; i++)
            deep[n++] = ']';
        n += (size_t)sprintf(deep + n, ", \"text\": \"x\"}");
        CHECK_EQ(status_of(deep, n, 1, "x", 1), depth <= BP_JSONL_MAX_DEPTH ? BP_JSONL_VALUE : BP_JSONL_UNSURE);
    }
    /* A number of 999 digits is read; of 1000 it is left to the exact path. */
    char number[1100];
    for (int digits = 999; digits <= 1000; digits++) {
        size_t n = (size_t)sprintf(number, "{\"a\": ");
        memset(number + n, '7', (size_t)digits);
        n += (size_t)digits;
        n += (size_t)sprintf(number + n, ", \"text\": \"x\"}");
        CHECK_EQ(status_of(number, n, 1, "x", 1), digits < 1000 ? BP_JSONL_VALUE : BP_JSONL_UNSURE);
    }
}

/* The status of one line scanned for the field `key`, and its value. */
static int status_for(const char *line, const char *key, const char *want)
{
    const size_t len = strlen(line);
    uint8_t *copy = malloc(len + 1), *values = malloc(len + 1), status = 0xFF;
    int64_t end = -1, index, start;
    size_t entries = 0;
    memcpy(copy, line, len);
    int rc = bp_jsonl_extract(copy, len, (const uint8_t *)key, strlen(key), 1, SIZE_MAX, values, &end, &status,
                              &index, &start, &entries);
    int result = rc == BP_OK && entries == 1 ? status : -1;
    if (result == BP_JSONL_VALUE && want != NULL && (end != (int64_t)strlen(want) || memcmp(values, want, (size_t)end)))
        result = -2;
    free(copy);
    free(values);
    return result;
}

static void test_dotted_names_follow_the_path_unless_the_name_is_there(void)
{
    CHECK_EQ(status_for("{\"meta\": {\"id\": 1, \"text\": \"in\"}}", "meta.text", "in"), BP_JSONL_VALUE);
    CHECK_EQ(status_for("{\"a\": {\"b\": {\"c\": \"deep\"}}, \"z\": 0}", "a.b.c", "deep"), BP_JSONL_VALUE);
    /* The whole name at the top level wins, before or after the path. */
    CHECK_EQ(status_for("{\"meta\": {\"text\": \"in\"}, \"meta.text\": \"top\"}", "meta.text", "top"), BP_JSONL_VALUE);
    CHECK_EQ(status_for("{\"meta.text\": \"top\", \"meta\": {\"text\": \"in\"}}", "meta.text", "top"), BP_JSONL_VALUE);
    CHECK_EQ(status_for("{\"meta.text\": \"top\", \"meta\": 5}", "meta.text", "top"), BP_JSONL_VALUE);
    /* Anything uncertain on the path, with no whole name: the exact path. */
    static const char *const unsure[] = {
        "{\"meta\": {\"text\": 1}}", "{\"meta\": [\"text\"]}", "{\"meta\": {}}", "{\"other\": {\"text\": \"x\"}}",
        "{\"meta\": {\"text\": \"a\", \"text\": \"b\"}}", "{\"meta\": {\"text\": \"a\"}, \"meta\": {\"text\": \"b\"}}",
        "{\"meta\": {\"te\\u0078t\": \"x\", \"text\": \"a\"}}", "{\"meta\": {\"text\": \"a\"}} x",
        "{\"meta.text\": 1, \"meta\": {\"text\": \"a\"}}",
    };
    for (size_t i = 0; i < sizeof(unsure) / sizeof(unsure[0]); i++) {
        const int got = status_for(unsure[i], "meta.text", NULL);
        if (got != BP_JSONL_UNSURE)
            BP_TEST_FAIL("line %zu (%s): status %d", i, unsure[i], got);
        bp_test_checks++;
    }
}

static void test_a_line_too_long_ends_the_scan(void)
{
    const char block[] = "{\"text\": \"a\"}\n      \n{\"text\": \"b\"}";
    scan s;
    CHECK_EQ(scan_block(LINE(block), 1, 5, &s), BP_OK);
    CHECK_EQ(s.entries, 1);
    CHECK_EQ(s.status[0], BP_JSONL_TOO_LONG);
    CHECK_EQ(s.line_index[0], 0);
    CHECK_EQ(scan_block(LINE(block), 1, 13, &s), BP_OK);
    CHECK_EQ(s.entries, 2);
    CHECK(s.status[0] == BP_JSONL_VALUE && s.status[1] == BP_JSONL_VALUE);
    /* A blank line too long is refused as well (as the corpus reader does). */
    CHECK_EQ(scan_block(LINE("{}\n        \n{}"), 1, 3, &s), BP_OK);
    CHECK_EQ(s.entries, 2);
    CHECK(s.status[0] == BP_JSONL_UNSURE && s.status[1] == BP_JSONL_TOO_LONG && s.line_index[1] == 1);
}

static void test_random_blocks_stay_within_their_room(void)
{
    /* Random bytes from a JSON-ish alphabet: whatever the scan decides, ASan
     * checks that it reads and writes only the documented room. */
    static const char alphabet[] = "{}[]\":,\\u0dDe9 \n\ttext\xE4\xB8\xAD\xFF";
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    char block[200];
    for (int round = 0; round < 20000; round++) {
        const size_t n = bp_test_random(&state) % sizeof(block);
        for (size_t i = 0; i < n; i++)
            block[i] = alphabet[bp_test_random(&state) % (sizeof(alphabet) - 1)];
        if (n > 12 && round % 2)
            memcpy(block, "{\"text\": \"", 10);
        scan s;
        CHECK_EQ(scan_block(block, n, (int)(round % 3 != 0), SIZE_MAX, &s), BP_OK);
    }
}

int main(void)
{
    RUN(test_counts_lines_and_documents);
    RUN(test_values_and_their_places);
    RUN(test_escapes_decode_to_utf8);
    RUN(test_uncertain_lines_go_to_the_exact_path);
    RUN(test_other_values_are_validated_and_skipped);
    RUN(test_dotted_names_follow_the_path_unless_the_name_is_there);
    RUN(test_a_line_too_long_ends_the_scan);
    RUN(test_random_blocks_stay_within_their_room);
    return bp_test_report("jsonl");
}
