/* Unit tests of bp_model_json.h: the plain model-file scanner accepts the
 * plain form with the right entries and declines everything else. */
#include "bp_model_json.h"
#include "bp_test.h"

#include <string.h>

static int scan(const char *json, bp_model_entries *out)
{
    return bp_model_json_scan((const uint8_t *)json, strlen(json), out);
}

/* 1 iff the text is declined and leaves *out empty. */
static int declines(const char *json)
{
    bp_model_entries e;
    int rc = scan(json, &e);
    int ok = rc == BP_ERR_INVALID && e.num_pieces == 0 && !e.bytes && !e.offsets && !e.ids && !e.counts;
    if (!ok)
        fprintf(stderr, "  not declined (rc %d): %s\n", rc, json);
    bp_model_entries_free(&e);
    return ok;
}

static void test_plain_entries_in_file_order(void)
{
    bp_model_entries e;
    CHECK_EQ(scan(" {\n    \"YWI=\": [\n        4,\n        \"ab\",\n        17\n    ],\n"
                  "\t\"YQ==\":[3,\"a\",999999999999999999] ,\r\"AP8A\": [5, \"\\u0000\\u00ff\", 1]}\n", &e), BP_OK);
    CHECK_EQ(e.num_pieces, 3);
    CHECK_EQ(e.offsets[0], 0);
    CHECK_EQ(e.offsets[1], 2);
    CHECK_EQ(e.offsets[2], 3);
    CHECK_EQ(e.offsets[3], 6);
    CHECK(memcmp(e.bytes, "ab" "a" "\x00\xff\x00", 6) == 0);
    CHECK_EQ(e.ids[0], 4);
    CHECK_EQ(e.ids[1], 3);
    CHECK_EQ(e.ids[2], 5);
    CHECK_EQ(e.counts[0], 17);
    CHECK_EQ(e.counts[1], 999999999999999999LL);
    CHECK_EQ(e.counts[2], 1);
    bp_model_entries_free(&e);
    CHECK(e.bytes == NULL && e.num_pieces == 0);
    bp_model_entries_free(&e); /* twice is harmless */
    bp_model_entries_free(NULL);
}

static void test_base64_padding_and_leftover_bits(void)
{
    bp_model_entries e;
    /* "YR==" has leftover bits set: decoded as "a", as Python's b64decode does. */
    CHECK_EQ(scan("{\"YR==\": [3, \"\", 1], \"YWJj\": [4, \"\", 2], \"+/8=\": [5, \"\", 3]}", &e), BP_OK);
    CHECK_EQ(e.num_pieces, 3);
    CHECK_EQ(e.offsets[3], 1 + 3 + 2);
    CHECK(memcmp(e.bytes, "a" "abc" "\xfb\xff", 6) == 0);
    bp_model_entries_free(&e);
}

static void test_text_strings_accepted(void)
{
    bp_model_entries e;
    CHECK_EQ(scan("{\"YQ==\": [3, \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uD800 \xe4\xb8\xad \xf0\x9f\x98\x80\", 1]}", &e), BP_OK);
    CHECK_EQ(e.num_pieces, 1);
    bp_model_entries_free(&e);
}

static void test_other_forms_are_declined(void)
{
    CHECK(declines(""));
    CHECK(declines("   "));
    CHECK(declines("{}"));
    CHECK(declines("[]"));
    CHECK(declines("\xef\xbb\xbf{\"YQ==\": [3, \"a\", 1]}"));   /* a BOM */
    CHECK(declines("{\"YQ==\": [3, \"a\", 1]} x"));            /* trailing text */
    CHECK(declines("{\"YQ==\": [3, \"a\", 1],}"));             /* trailing comma */
    CHECK(declines("{\"YQ==\": [3, \"a\", 1]"));               /* unterminated */
    /* Four items: only one entry, with a balanced object of JSON's bytes. */
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": 1}, 1], \"Yg==\": [4, \"b\", {\"x\": 1}, 1]}"));
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": [1}, 1]}"));        /* unbalanced: ']' missing */
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": \"\\q\"}, 1]}"));   /* a bad string inside */
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": 1} 1]}"));          /* no comma after it */
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": @}, 1]}"));         /* not a JSON byte */
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": 1}]}"));            /* no count after it */
    CHECK(declines("{\"YQ==\": [3, \"a\", {\"x\": 1, 1]}"));          /* unterminated */
    CHECK(declines("{\"YQ==\": [3, \"a\"]}"));
    CHECK(declines("{\"YQ==\": [3, 1, 1]}"));                  /* text not a string */
    /* Keys: escapes, bad padding, bad characters, empty. */
    CHECK(declines("{\"\\u0059Q==\": [3, \"a\", 1]}"));
    CHECK(declines("{\"YQ=\": [3, \"a\", 1]}"));
    CHECK(declines("{\"YQ\": [3, \"a\", 1]}"));
    CHECK(declines("{\"Y===\": [3, \"a\", 1]}"));
    CHECK(declines("{\"====\": [3, \"a\", 1]}"));
    CHECK(declines("{\"YQ=A\": [3, \"a\", 1]}"));
    CHECK(declines("{\"Y-Q=\": [3, \"a\", 1]}"));
    CHECK(declines("{\"\": [3, \"a\", 1]}"));
    /* Numbers other than plain non-negative integers of <= 18 digits. */
    CHECK(declines("{\"YQ==\": [-3, \"a\", 1]}"));
    CHECK(declines("{\"YQ==\": [03, \"a\", 1]}"));
    CHECK(declines("{\"YQ==\": [3.0, \"a\", 1]}"));
    CHECK(declines("{\"YQ==\": [3, \"a\", 1e3]}"));
    CHECK(declines("{\"YQ==\": [3, \"a\", 1E3]}"));
    CHECK(declines("{\"YQ==\": [3, \"a\", 1000000000000000000]}")); /* 19 digits */
    CHECK(declines("{\"YQ==\": [3, \"a\", true]}"));
    CHECK(declines("{\"YQ==\": [3, \"a\", NaN]}"));
    /* Text strings the general reader refuses. */
    CHECK(declines("{\"YQ==\": [3, \"a\tb\", 1]}"));          /* a raw control character */
    CHECK(declines("{\"YQ==\": [3, \"\\x\", 1]}"));            /* an unknown escape */
    CHECK(declines("{\"YQ==\": [3, \"\\u12G4\", 1]}"));
    CHECK(declines("{\"YQ==\": [3, \"\\u12\", 1]}"));
    CHECK(declines("{\"YQ==\": [3, \"\xff\", 1]}"));           /* not UTF-8 */
    CHECK(declines("{\"YQ==\": [3, \"\xc0\x80\", 1]}"));       /* overlong */
    CHECK(declines("{\"YQ==\": [3, \"\xed\xa0\x80\", 1]}"));   /* an encoded surrogate */
    CHECK(declines("{\"YQ==\": [3, \"\xf4\x90\x80\x80\", 1]}")); /* above U+10FFFF */
    CHECK(declines("{\"YQ==\": [3, \"\xe4\xb8\", 1]}"));       /* truncated */
    CHECK(declines("{\"YQ==\": [3, \"a"));
    CHECK_EQ(bp_model_json_scan(NULL, 0, &(bp_model_entries){0}), BP_ERR_INVALID);
    CHECK_EQ(bp_model_json_scan((const uint8_t *)"{}", 2, NULL), BP_ERR_INVALID);
}

static void test_one_four_item_entry_is_skipped_and_located(void)
{
    bp_model_entries e;
    const char *json = "{\"YQ==\": [3, \"a\", 5], \"Yg==\": [4, \"b\", "
                       "{\"provenance\": {\"s\": \"}]\\\"\", \"n\": [1, -2.5e3, true, null, {}]}}, 7]}";
    CHECK_EQ(scan(json, &e), BP_OK);
    CHECK_EQ(e.num_pieces, 2);
    CHECK_EQ(e.counts[1], 7);
    CHECK_EQ(e.options_entry, 1);
    const char *object = strstr(json, "{\"provenance\"");
    CHECK_EQ(e.options_start, (size_t)(object - json));
    CHECK_EQ(e.options_end, strlen(json) - strlen(", 7]}"));
    bp_model_entries_free(&e);
    CHECK_EQ(e.options_entry, -1);
    CHECK_EQ(scan("{\"YQ==\": [3, \"a\", 5]}", &e), BP_OK);
    CHECK_EQ(e.options_entry, -1); /* none */
    bp_model_entries_free(&e);
    /* Nesting: 64 deep is skipped, 65 declined. */
    char deep[512];
    for (int depth = 64; depth <= 65; depth++) {
        char *p = deep + sprintf(deep, "{\"YQ==\": [3, \"a\", {\"x\": "); /* depth 1 */
        for (int i = 1; i < depth; i++)
            *p++ = '[';
        for (int i = 1; i < depth; i++)
            *p++ = ']';
        sprintf(p, "}, 1]}");
        int rc = scan(deep, &e);
        CHECK_EQ(rc, depth == 64 ? BP_OK : BP_ERR_INVALID);
        bp_model_entries_free(&e);
    }
}

static void test_many_entries_grow_the_arrays(void)
{
    /* 5000 entries: past every initial capacity. */
    size_t n = 5000;
    char *json = malloc(n * 32 + 8), *p = json;
    p += sprintf(p, "{");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"QUJD\": [%zu, \"ABC\", %zu]", i ? "," : "", i + 3, i + 1);
    sprintf(p, "}");
    bp_model_entries e;
    CHECK_EQ(scan(json, &e), BP_OK);
    CHECK_EQ(e.num_pieces, n);
    CHECK_EQ(e.offsets[n], 3 * n);
    CHECK_EQ(e.ids[n - 1], n + 2);
    CHECK_EQ(e.counts[n - 1], n);
    CHECK(memcmp(e.bytes + 3 * (n - 1), "ABC", 3) == 0);
    bp_model_entries_free(&e);
    free(json);
}

int main(void)
{
    RUN(test_plain_entries_in_file_order);
    RUN(test_base64_padding_and_leftover_bits);
    RUN(test_text_strings_accepted);
    RUN(test_other_forms_are_declined);
    RUN(test_one_four_item_entry_is_skipped_and_located);
    RUN(test_many_entries_grow_the_arrays);
    return bp_test_report("model_json");
}
