/*
 * fuzz_model_json.c: a fuzz target for the fast model-file reader
 * (bp_model_json_scan, bp_model_json.h), the C code that reads untrusted
 * files first (no Python involved).
 *
 * One input is the bytes of a model file. The scanner must either decline
 * (BP_ERR_INVALID, or BP_ERR_NOMEM) and leave its output empty, or accept
 * and return entries that keep its contract: at least one piece, each of
 * at least one byte, no more decoded bytes than the file has, ids and
 * counts of at most 18 digits. Accepted entries are then written back as a
 * plain model file, which must scan to the very same entries, and built
 * into a trie (scores log(count / total), as the Python layer derives
 * them) that must segment the file's own bytes into its pieces. Any crash,
 * leak, out-of-bounds access, undefined behaviour or broken property is a
 * bug.
 *
 * libFuzzer (deep, coverage-guided; clang):
 *   clang -g -O1 -DBP_LIBFUZZER -fsanitize=fuzzer,address,undefined -Icsrc csrc/bp_*.c fuzz/fuzz_model_json.c -lm -o fuzz_model_json
 *   ./fuzz_model_json -max_total_time=600 -max_len=65536
 * Without libFuzzer (any C compiler; what CI runs, bounded):
 *   gcc -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Icsrc csrc/bp_*.c fuzz/fuzz_model_json.c -lm -o fuzz_model_json
 *   ./fuzz_model_json [--seconds S] [--iterations N] [FILE...]
 * The driver (fuzz_driver.h) then feeds, from a fixed seed, valid model files (every
 * whitespace, escape and UTF-8 form the scanner accepts), the same files
 * mutated (bytes flipped, inserted, deleted, duplicated; truncation) and
 * random bytes; or replays FILEs. Inputs that once broke it go to
 * fuzz/regressions/fuzz_model_json/, which the suite replays first.
 */
#include "bp_model_json.h"
#include "bp_segmenter.h"
#include "bp_trie.h"
#include "fuzz_driver.h"

#include <math.h>

/* Largest value of 18 decimal digits. */
#define MAX_18_DIGITS 999999999999999999LL

static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes bytes[0 .. n) as padded standard base64 to out; returns its length. */
static size_t base64_encode(const uint8_t *bytes, size_t n, char *out)
{
    size_t w = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        const uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
        out[w++] = BASE64[v >> 18];
        out[w++] = BASE64[(v >> 12) & 63];
        out[w++] = BASE64[(v >> 6) & 63];
        out[w++] = BASE64[v & 63];
    }
    if (n - i == 1) {
        const uint32_t v = (uint32_t)bytes[i] << 16;
        out[w++] = BASE64[v >> 18];
        out[w++] = BASE64[(v >> 12) & 63];
        out[w++] = '=';
        out[w++] = '=';
    } else if (n - i == 2) {
        const uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8;
        out[w++] = BASE64[v >> 18];
        out[w++] = BASE64[(v >> 12) & 63];
        out[w++] = BASE64[(v >> 6) & 63];
        out[w++] = '=';
    }
    return w;
}

/* The plain model file of the entries (caller frees); *len its length. */
static char *write_plain(const bp_model_entries *e, size_t *len)
{
    size_t cap = 8;
    for (size_t k = 0; k < e->num_pieces; k++)
        cap += (size_t)(e->offsets[k + 1] - e->offsets[k]) * 4 / 3 + 4 + 64; /* key, two numbers, punctuation */
    char *json = malloc(cap);
    CHECK(json);
    size_t w = 0;
    json[w++] = '{';
    for (size_t k = 0; k < e->num_pieces; k++) {
        if (k)
            json[w++] = ',';
        json[w++] = '"';
        w += base64_encode(e->bytes + e->offsets[k], (size_t)(e->offsets[k + 1] - e->offsets[k]), json + w);
        w += (size_t)snprintf(json + w, cap - w, "\": [%lld, \"\", %lld]", (long long)e->ids[k], (long long)e->counts[k]);
    }
    json[w++] = '}';
    CHECK(w <= cap);
    *len = w;
    return json;
}

static int same_entries(const bp_model_entries *a, const bp_model_entries *b)
{
    const size_t n = a->num_pieces;
    return n == b->num_pieces && memcmp(a->offsets, b->offsets, (n + 1) * sizeof *a->offsets) == 0 &&
           memcmp(a->ids, b->ids, n * sizeof *a->ids) == 0 && memcmp(a->counts, b->counts, n * sizeof *a->counts) == 0 &&
           memcmp(a->bytes, b->bytes, (size_t)a->offsets[n]) == 0;
}

static long scans_accepted; /* how many inputs the scanner accepted (the driver reports it) */
static long tries_built;    /* how many inputs reached the segmenter (the driver reports it) */

/* Builds a trie of the entries (ids 3 + k, scores from the counts) and, when
 * bp_trie_build accepts it, checks that BEST segments text into pieces. */
static void build_and_segment(const bp_model_entries *e, const uint8_t *text, size_t len)
{
    const size_t n = e->num_pieces;
    double *scores = malloc(n * sizeof *scores);
    int32_t *ids = malloc(n * sizeof *ids);
    CHECK(scores && ids);
    double total = 0.0;
    for (size_t k = 0; k < n; k++)
        total += (double)e->counts[k];
    for (size_t k = 0; k < n; k++) {
        /* A count of 0 gives -inf, which the builder must refuse. */
        scores[k] = log((double)e->counts[k]) - log(total);
        ids[k] = (int32_t)(3 + k);
    }
    bp_trie *trie = NULL;
    const int rc = bp_trie_build(e->bytes, e->offsets, n, scores, ids, &trie);
    if (rc == BP_OK) {
        for (size_t k = 0; k < n; k++)
            CHECK(e->counts[k] > 0); /* a finite score */
        int32_t *out = malloc((len ? len : 1) * sizeof *out);
        CHECK(out);
        size_t count = 0;
        CHECK(bp_encode(trie, text, len, BP_MODE_BEST, 0.0, 0, out, &count) == BP_OK);
        size_t at = 0;
        for (size_t i = 0; i < count; i++) {
            CHECK(out[i] >= 3 && (size_t)out[i] - 3 < n);
            const size_t k = (size_t)out[i] - 3, piece_len = (size_t)(e->offsets[k + 1] - e->offsets[k]);
            CHECK(piece_len <= len - at && memcmp(e->bytes + e->offsets[k], text + at, piece_len) == 0);
            at += piece_len;
        }
        CHECK(at == len);
        tries_built++;
        free(out);
        bp_trie_free(trie);
    } else {
        CHECK(trie == NULL);
        CHECK(rc == BP_ERR_INVALID || rc == BP_ERR_DUPLICATE || rc == BP_ERR_TOO_LARGE);
    }
    free(scores);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bp_model_entries e;
    memset(&e, 0x5a, sizeof e); /* the scanner must set every field */
    const int rc = bp_model_json_scan(data, size, &e);
    if (rc != BP_OK) {
        CHECK(rc == BP_ERR_INVALID || rc == BP_ERR_NOMEM);
        CHECK(!e.bytes && !e.offsets && !e.ids && !e.counts && e.num_pieces == 0);
        bp_model_entries_free(&e);
        return 0;
    }
    scans_accepted++; /* how much the inputs reach past the grammar */
    const size_t n = e.num_pieces;
    CHECK(n >= 1 && e.offsets && e.ids && e.counts);
    CHECK(e.offsets[0] == 0);
    for (size_t k = 0; k < n; k++) {
        CHECK(e.offsets[k + 1] > e.offsets[k]); /* no empty key is accepted */
        CHECK(e.ids[k] >= 0 && e.ids[k] <= MAX_18_DIGITS);
        CHECK(e.counts[k] >= 0 && e.counts[k] <= MAX_18_DIGITS);
    }
    /* Base64 decodes 4 characters into at most 3 bytes, and each entry
     * takes more than its key's characters. */
    CHECK((size_t)e.offsets[n] * 4 / 3 < size);
    CHECK(e.bytes || e.offsets[n] == 0);

    /* Written back as a plain file, it reads the same. */
    size_t plain_len;
    char *plain = write_plain(&e, &plain_len);
    bp_model_entries again;
    CHECK(bp_model_json_scan((const uint8_t *)plain, plain_len, &again) == BP_OK);
    CHECK(same_entries(&e, &again));
    bp_model_entries_free(&again);
    free(plain);

    build_and_segment(&e, data, size);

    bp_model_entries_free(&e);
    CHECK(!e.bytes && e.num_pieces == 0);
    bp_model_entries_free(&e); /* twice is harmless */
    return 0;
}

#ifndef BP_LIBFUZZER
typedef struct {
    uint8_t *p;
    size_t len, cap;
} buffer;

static void put(buffer *b, const void *bytes, size_t n)
{
    if (b->len + n > b->cap)
        n = b->cap - b->len; /* a full buffer truncates the file: another input */
    memcpy(b->p + b->len, bytes, n);
    b->len += n;
}

static void put_str(buffer *b, const char *s) { put(b, s, strlen(s)); }

/* JSON whitespace, often none. */
static void put_space(buffer *b)
{
    static const char *const spaces[] = {"", "", "", " ", "\n    ", "\t", "\r\n", "  \n\t "};
    put_str(b, spaces[fuzz_random() % 8]);
}

/* A decimal number of 1 to 18 digits (mostly small; 0 now and then). */
static void put_number(buffer *b)
{
    char digits[24];
    const uint64_t r = fuzz_random();
    const long long v = r % 4 == 0 ? (long long)(fuzz_random() % (uint64_t)(MAX_18_DIGITS + 1))
                                   : (long long)(fuzz_random() % (r % 4 == 1 ? 50 : 100000));
    put(b, digits, (size_t)snprintf(digits, sizeof digits, "%lld", v));
}

/* A JSON string the scanner accepts: ASCII, escapes, valid UTF-8. */
static void put_text(buffer *b)
{
    static const char *const parts[] = {"a",        "Z",         " ",       "\\\"",     "\\\\",     "\\/",
                                        "\\b",      "\\f",       "\\n",     "\\r",      "\\t",      "\\u0000",
                                        "\\uD800",  "\\u00ff",   "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
                                        "\xe4\xb8\xad", "\xed\x9f\xbf", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
                                        "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "~", "{", "}", "[", ",", ":"};
    put_str(b, "\"");
    const size_t n = fuzz_random() % 6;
    for (size_t i = 0; i < n; i++)
        put_str(b, parts[fuzz_random() % (sizeof parts / sizeof parts[0])]);
    put_str(b, "\"");
}

/* A plain model file: `pieces` random pieces, with all 256 single bytes
 * first when `bytes` is set (a vocabulary that bp_trie_build accepts). */
static void put_model(buffer *b, size_t pieces, int bytes)
{
    put_space(b);
    put_str(b, "{");
    const size_t total = pieces + (bytes ? 256 : 0);
    for (size_t k = 0; k < total; k++) {
        uint8_t piece[16];
        size_t len;
        if (bytes && k < 256) {
            piece[0] = (uint8_t)k;
            len = 1;
        } else {
            len = (bytes ? 2 : 1) + fuzz_random() % 12; /* with the bytes: no duplicate single byte */
            const int small = fuzz_random() % 2;
            for (size_t i = 0; i < len; i++)
                piece[i] = small ? (uint8_t)"ab\n\xe4"[fuzz_random() % 4] : (uint8_t)fuzz_random();
        }
        char key[24];
        if (k)
            put_str(b, ",");
        put_space(b);
        put_str(b, "\"");
        put(b, key, base64_encode(piece, len, key));
        put_str(b, "\"");
        put_space(b);
        put_str(b, ":");
        put_space(b);
        put_str(b, "[");
        put_space(b);
        if (fuzz_random() % 4) { /* the id of canonical numbering, else any */
            char id[24];
            put(b, id, (size_t)snprintf(id, sizeof id, "%zu", 3 + k));
        } else {
            put_number(b);
        }
        put_space(b);
        put_str(b, ",");
        put_space(b);
        put_text(b);
        put_space(b);
        put_str(b, ",");
        put_space(b);
        put_number(b);
        put_space(b);
        put_str(b, "]");
    }
    put_space(b);
    put_str(b, "}");
    put_space(b);
}

/* A few random edits: the file's structure broken at one place or another. */
static void mutate(buffer *b)
{
    static const char interesting[] = "\"\\{}[],:0123456789=+/-.eE unAQ\n\t\x00\x7f\x80\xbf\xc0\xe0\xed\xf4\xff";
    const size_t edits = 1 + fuzz_random() % 4;
    for (size_t m = 0; m < edits && b->len > 0; m++) {
        const size_t at = fuzz_random() % b->len;
        switch (fuzz_random() % 7) {
        case 0: /* flip a bit */
            b->p[at] ^= (uint8_t)(1u << (fuzz_random() % 8));
            break;
        case 1: /* overwrite with a byte that matters to the grammar */
            b->p[at] = (uint8_t)interesting[fuzz_random() % (sizeof interesting - 1)];
            break;
        case 2: /* insert one */
            if (b->len < b->cap) {
                memmove(b->p + at + 1, b->p + at, b->len - at);
                b->p[at] = (uint8_t)interesting[fuzz_random() % (sizeof interesting - 1)];
                b->len++;
            }
            break;
        case 3: { /* delete a span */
            size_t n = 1 + fuzz_random() % 8;
            if (n > b->len - at)
                n = b->len - at;
            memmove(b->p + at, b->p + at + n, b->len - at - n);
            b->len -= n;
            break;
        }
        case 4: { /* duplicate a span */
            size_t n = 1 + fuzz_random() % 32;
            if (n > b->len - at)
                n = b->len - at;
            if (b->len + n <= b->cap) {
                memmove(b->p + at + n, b->p + at, b->len - at);
                b->len += n;
            }
            break;
        }
        case 5: /* truncate */
            b->len = at;
            break;
        default: /* swap two bytes */
        {
            const size_t other = fuzz_random() % b->len;
            const uint8_t t = b->p[at];
            b->p[at] = b->p[other];
            b->p[other] = t;
        }
        }
    }
}

/* One input: a valid model file (small, or with the 256 single bytes),
 * that file mutated, or random bytes. */
static size_t random_input(uint8_t *p, size_t cap)
{
    buffer b = {p, 0, cap};
    const uint64_t kind = fuzz_random() % 10;
    if (kind == 9) {
        b.len = fuzz_random() % 256;
        for (size_t i = 0; i < b.len; i++)
            b.p[i] = (uint8_t)fuzz_random();
        return b.len;
    }
    const int bytes = fuzz_random() % 4 == 0;
    put_model(&b, (size_t)(fuzz_random() % (bytes ? 40 : 12)), bytes);
    if (kind >= 4)
        mutate(&b);
    return b.len;
}

int main(int argc, char **argv)
{
    static uint8_t buf[1 << 16];
    const long done = fuzz_drive(argc, argv, 0x2545f4914f6cdd1dULL, buf, sizeof buf, random_input);
    if (done >= 0)
        printf("fuzzed %ld inputs (%ld accepted by the scanner, %ld built into a trie) without a failure\n", done,
               scans_accepted, tries_built);
    return 0;
}
#endif
