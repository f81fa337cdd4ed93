/* bp_model_json.c: the plain-model-file scanner (see bp_model_json.h). */
#include "bp_model_json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Consumes `ch` after optional whitespace; 0 if the next byte is another. */
static int expect(cursor *c, uint8_t ch)
{
    skip_space(c);
    if (c->p == c->end || *c->p != ch)
        return 0;
    c->p++;
    return 1;
}

/* A decimal integer of 1..18 digits, no sign, no leading zero (then the
 * general reader's int() and this agree, and it fits int64). */
static int read_integer(cursor *c, int64_t *value)
{
    skip_space(c);
    const uint8_t *start = c->p;
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - start < 18)
        v = v * 10 + (*c->p++ - '0');
    size_t digits = (size_t)(c->p - start);
    if (digits == 0 || (digits > 1 && *start == '0'))
        return 0;
    /* A fraction, an exponent or a 19th digit would make it another number. */
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E' || (*c->p >= '0' && *c->p <= '9')))
        return 0;
    *value = v;
    return 1;
}

/* Length of the valid UTF-8 sequence (2..4 bytes) at p, or 0: no overlong
 * forms, no surrogates, nothing above U+10FFFF (what Python's decoder accepts). */
static size_t utf8_sequence(const uint8_t *p, const uint8_t *end)
{
    const uint8_t b = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (!bp_is_utf8_continuation(p[i]))
            return 0;
    return n;
}

static int is_hex(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* Skips a JSON string (the opening quote included) that the general
 * reader accepts: no control characters, known escapes, valid UTF-8. */
static int skip_string(cursor *c)
{
    if (!expect(c, '"'))
        return 0;
    while (c->p < c->end) {
        /* The common run: printable ASCII other than '"' and '\\'. */
        while (c->p < c->end && *c->p >= 0x20 && *c->p < 0x80 && *c->p != '"' && *c->p != '\\')
            c->p++;
        if (c->p == c->end)
            return 0;
        const uint8_t b = *c->p;
        if (b == '"') {
            c->p++;
            return 1;
        }
        if (b < 0x20)
            return 0;
        if (b == '\\') {
            if (c->end - c->p < 2)
                return 0;
            const uint8_t e = c->p[1];
            if (e == 'u') {
                if (c->end - c->p < 6 || !is_hex(c->p[2]) || !is_hex(c->p[3]) || !is_hex(c->p[4]) || !is_hex(c->p[5]))
                    return 0;
                c->p += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                c->p += 2;
            } else
                return 0;
        } else if (b < 0x80) {
            c->p++;
        } else {
            size_t n = utf8_sequence(c->p, c->end);
            if (!n)
                return 0;
            c->p += n;
        }
    }
    return 0;
}

/* Skips a JSON object whose strings are valid (skip_string) and whose
 * brackets nest at most 64 deep; other bytes must be those of JSON numbers,
 * literals, whitespace and separators. Lenient about the grammar between
 * them: the caller parses the span it covers. */
static int skip_object(cursor *c)
{
    int depth = 0;
    if (c->p == c->end || *c->p != '{')
        return 0;
    while (c->p < c->end) {
        const uint8_t b = *c->p;
        if (b == '"') {
            if (!skip_string(c))
                return 0;
            continue;
        }
        if (b == '{' || b == '[') {
            if (++depth > 64)
                return 0;
        } else if (b == '}' || b == ']') {
            if (--depth == 0) {
                c->p++;
                return 1;
            }
        } else if (!strchr(" \t\r\n,:-+.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", b) || !b)
            return 0;
        c->p++;
    }
    return 0;
}

/* 1 + the 6-bit value of each base64 character ('A' 1 .. '/' 64), 0 for
 * the other bytes. */
static const uint8_t BASE64_VALUE[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 63,  0,  0,  0, 64,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62,  0,  0,  0,  0,  0,  0,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,  0,  0,  0,  0,  0,
     0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
    42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

/* The 6-bit value of a base64 character, or -1. */
static inline int base64_value(uint8_t b) { return (int)BASE64_VALUE[b] - 1; }

/* Decodes the key string at the cursor (quotes included) into out (room for
 * its length * 3 / 4 bytes); returns the decoded length, or -1 when the key
 * is not plain padded base64. Leftover bits of the last character are
 * ignored, as Python's base64.b64decode does. */
static long decode_key(cursor *c, uint8_t *out)
{
    if (!expect(c, '"'))
        return -1;
    const uint8_t *start = c->p;
    while (c->p < c->end && *c->p != '"')
        c->p++;
    if (c->p == c->end)
        return -1;
    size_t n = (size_t)(c->p - start);
    c->p++;
    if (n == 0 || n % 4)
        return -1;
    size_t pad = start[n - 1] == '=' ? (start[n - 2] == '=' ? 2 : 1) : 0;
    size_t data = n - pad, written = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < data; i++) {
        int v = base64_value(start[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        if (i % 4 == 3) {
            out[written++] = (uint8_t)(acc >> 16);
            out[written++] = (uint8_t)(acc >> 8);
            out[written++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (pad == 1) { /* 3 characters: 18 bits, 2 bytes */
        out[written++] = (uint8_t)(acc >> 10);
        out[written++] = (uint8_t)(acc >> 2);
    } else if (pad == 2) { /* 2 characters: 12 bits, 1 byte */
        out[written++] = (uint8_t)(acc >> 4);
    }
    return (long)written;
}

/* Capacities of the arrays of a bp_model_entries being filled. */
typedef struct {
    size_t offsets, ids, counts, bytes;
} capacities;

/* Makes room for one more entry (and the closing offset) and `piece_bytes`
 * more bytes after the `used` ones. */
static int make_room(bp_model_entries *e, capacities *cap, size_t used, size_t piece_bytes)
{
    const size_t entries = e->num_pieces + 2;
    int rc = bp_reserve((void **)&e->offsets, &cap->offsets, entries, sizeof *e->offsets, 1024);
    if (rc == BP_OK)
        rc = bp_reserve((void **)&e->ids, &cap->ids, entries, sizeof *e->ids, 1024);
    if (rc == BP_OK)
        rc = bp_reserve((void **)&e->counts, &cap->counts, entries, sizeof *e->counts, 1024);
    if (rc == BP_OK)
        rc = bp_reserve((void **)&e->bytes, &cap->bytes, used + piece_bytes, 1, 1 << 16);
    return rc;
}

int bp_model_json_scan(const uint8_t *json, size_t len, bp_model_entries *out)
{
    if (!out)
        return BP_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->options_entry = -1;
    if (!json)
        return BP_ERR_INVALID;
    cursor c = {json, json + len};
    capacities cap = {0, 0, 0, 0};
    size_t used = 0;
    int rc = BP_ERR_INVALID;
    if (!expect(&c, '{'))
        goto done;
    for (;;) {
        /* The key's decoded length is at most 3/4 of the raw bytes up to the
         * closing quote; reserve by what is left of the file, capped. */
        skip_space(&c);
        const uint8_t *quote = c.p < c.end ? memchr(c.p + 1, '"', (size_t)(c.end - c.p - 1)) : NULL;
        if (!quote || *c.p != '"')
            goto done;
        size_t key_room = (size_t)(quote - c.p) * 3 / 4 + 3;
        if ((rc = make_room(out, &cap, used, key_room)) != BP_OK)
            goto done;
        rc = BP_ERR_INVALID;
        out->offsets[out->num_pieces] = (int64_t)used;
        long n = decode_key(&c, out->bytes + used);
        int64_t id, count;
        if (n < 0 || !expect(&c, ':') || !expect(&c, '[') || !read_integer(&c, &id) || !expect(&c, ',') ||
            !skip_string(&c) || !expect(&c, ','))
            goto done;
        skip_space(&c);
        if (c.p < c.end && *c.p == '{') { /* the one four-item entry */
            if (out->options_entry >= 0)
                goto done;
            out->options_entry = (int64_t)out->num_pieces;
            out->options_start = (size_t)(c.p - json);
            if (!skip_object(&c))
                goto done;
            out->options_end = (size_t)(c.p - json);
            if (!expect(&c, ','))
                goto done;
        }
        if (!read_integer(&c, &count) || !expect(&c, ']'))
            goto done;
        used += (size_t)n;
        out->ids[out->num_pieces] = id;
        out->counts[out->num_pieces] = count;
        out->num_pieces++;
        skip_space(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (!expect(&c, '}'))
            goto done;
        break;
    }
    skip_space(&c);
    if (c.p != c.end)
        goto done;
    out->offsets[out->num_pieces] = (int64_t)used;
    return BP_OK;
done:
    bp_model_entries_free(out);
    return rc;
}

void bp_model_entries_free(bp_model_entries *entries)
{
    if (!entries)
        return;
    free(entries->bytes);
    free(entries->offsets);
    free(entries->ids);
    free(entries->counts);
    memset(entries, 0, sizeof *entries);
    entries->options_entry = -1;
}
