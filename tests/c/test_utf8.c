/* Unit tests of bp_utf8.h: UTF-8 of NFC-inert text in one pass, and where it gives up. */
#include "bp_utf8.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

/* Encodes n code points of width `kind` into an exact-size heap buffer (3 * n
 * bytes, the documented room, so ASan catches any write past it); 1 iff the
 * result is `want` (want_len bytes), or BP_UTF8_NOT_INERT when want is NULL. */
static int encodes_as(const void *data, int kind, size_t n, const char *want, size_t want_len)
{
    uint8_t *out = malloc(3 * n + 1); /* + 1: malloc(0) may return NULL */
    size_t written = bp_utf8_encode_inert(data, kind, n, out);
    int ok = want ? written == want_len && memcmp(out, want, want_len) == 0 : written == BP_UTF8_NOT_INERT;
    if (!ok)
        fprintf(stderr, "  wrote %zu bytes\n", written);
    free(out);
    return ok;
}

static void test_each_width_encodes_the_same_text(void)
{
    /* "aé中→" (U+0061 U+00E9 U+4E2D U+2192) is inert; kind 1 holds only its first two. */
    const uint8_t narrow[] = {0x61, 0xE9};
    const uint16_t wide[] = {0x61, 0xE9, 0x4E2D, 0x2192};
    const uint32_t widest[] = {0x61, 0xE9, 0x4E2D, 0x2192};
    CHECK(encodes_as(narrow, 1, 2, "a\xC3\xA9", 3));
    CHECK(encodes_as(wide, 2, 4, "a\xC3\xA9\xE4\xB8\xAD\xE2\x86\x92", 9));
    CHECK(encodes_as(widest, 4, 4, "a\xC3\xA9\xE4\xB8\xAD\xE2\x86\x92", 9));
    CHECK(encodes_as(wide, 2, 0, "", 0));
}

static void test_every_latin1_byte_is_inert(void)
{
    uint8_t all[256];
    char want[512];
    size_t len = 0;
    for (int c = 0; c < 256; c++) {
        all[c] = (uint8_t)c;
        if (c < 0x80) {
            want[len++] = (char)c;
        } else {
            want[len++] = (char)(0xC0 | (c >> 6));
            want[len++] = (char)(0x80 | (c & 0x3F));
        }
    }
    CHECK(encodes_as(all, 1, 256, want, len));
}

static void test_gives_up_on_what_nfc_may_change(void)
{
    const uint16_t combining[] = {0x65, 0x301};     /* e + combining acute: NFC composes them */
    const uint16_t singleton[] = {0x41, 0x212B};    /* ANGSTROM SIGN: NFC maps it to U+00C5 */
    const uint16_t surrogate[] = {0x61, 0xD800};    /* no UTF-8 at all */
    const uint16_t hangul_t[] = {0xAC00, 0x11A8};   /* a syllable and a trailing jamo compose */
    const uint16_t voicing[] = {0x304B, 0x3099};    /* ka + combining voiced mark compose */
    const uint32_t astral[] = {0x61, 0x1F600};      /* beyond the BMP: left to the general path */
    CHECK(encodes_as(combining, 2, 2, NULL, 0));
    CHECK(encodes_as(singleton, 2, 2, NULL, 0));
    CHECK(encodes_as(surrogate, 2, 2, NULL, 0));
    CHECK(encodes_as(hangul_t, 2, 2, NULL, 0));
    CHECK(encodes_as(voicing, 2, 2, NULL, 0));
    CHECK(encodes_as(astral, 4, 2, NULL, 0));
    CHECK(encodes_as(combining, 3, 2, NULL, 0)); /* no such width */
}

static void test_ascii_runs_around_other_characters(void)
{
    /* Runs of ASCII go 8 at a time: every place of a non-ASCII character among
     * 20 ASCII ones must still be encoded (inert) or refused (not inert). */
    for (size_t at = 0; at < 20; at++) {
        uint16_t text[20];
        char want[24];
        size_t len = 0;
        for (size_t i = 0; i < 20; i++) {
            text[i] = i == at ? 0x4E2D : (uint16_t)('a' + i);
            if (i == at) {
                memcpy(want + len, "\xE4\xB8\xAD", 3);
                len += 3;
            } else {
                want[len++] = (char)('a' + i);
            }
        }
        CHECK(encodes_as(text, 2, 20, want, len));
        text[at] = 0x301; /* a combining mark */
        CHECK(encodes_as(text, 2, 20, NULL, 0));
    }
}

static void test_range_edges(void)
{
    CHECK(bp_nfc_inert(0x2FF) && !bp_nfc_inert(0x300));
    CHECK(!bp_nfc_inert(0x309A) && bp_nfc_inert(0x309B));
    CHECK(bp_nfc_inert(0xD7FF) && !bp_nfc_inert(0xD800));
    CHECK(bp_nfc_inert(0xFFFF) && !bp_nfc_inert(0x10000));
}

int main(void)
{
    RUN(test_each_width_encodes_the_same_text);
    RUN(test_every_latin1_byte_is_inert);
    RUN(test_gives_up_on_what_nfc_may_change);
    RUN(test_ascii_runs_around_other_characters);
    RUN(test_range_edges);
    return bp_test_report("utf8");
}
