/* bp_jsonl.c: one string field of each JSON line (see bp_jsonl.h). */
#include "bp_jsonl.h"
#include "bp_utf8.h"

#include <string.h>

/* A number token this long or longer is left to the exact path (Python
 * refuses integers of more than 4300 digits with its own error). */
#define MAX_NUMBER_CHARS 1000

/* JSON's whitespace (json.loads: [ \t\n\r]). */
static inline int json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* bytes.strip()'s whitespace: a line of only these is blank. */
static inline int blank_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline const uint8_t *skip_space(const uint8_t *p, const uint8_t *end)
{
    while (p < end && json_space(*p))
        p++;
    return p;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* 1 iff none of the 8 bytes in v is >= 0x80, < 0x20, '"' or '\\': a run that
 * a string copies as it is. (x - ONES * n) & ~x & HIGHS is nonzero iff a
 * byte of x is below n (n <= 0x80); a byte equal to c is a zero of x ^ c. */
static inline int plain8(uint64_t v)
{
    const uint64_t quote = v ^ (ONES * '"'), backslash = v ^ (ONES * '\\');
    return ((v | ((v - ONES * 0x20) & ~v) | ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash)) & HIGHS)
           == 0;
}

static inline int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The 4 hex digits at p (p + 4 <= end checked by the caller), or -1. */
static inline int32_t hex4(const uint8_t *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        const int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* The length (2 to 4) of the well-formed UTF-8 sequence at p (lead byte
 * p[0] >= 0x80), with its code point in *cp; 0 when it is not well formed
 * (Unicode table 3-7: no overlong form, no surrogate, nothing past
 * U+10FFFF), exactly what Python's strict UTF-8 decoder refuses. */
static inline size_t utf8_sequence(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    const uint8_t c = p[0];
    const size_t left = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF) {
        if (left < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0;
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0;
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
              (p[3] & 0x3F);
        return 4;
    }
    return 0;
}

/* 1 iff p starts a three-byte UTF-8 sequence that is well formed whatever
 * its continuation bytes (lead E1..EC or EE..EF). */
static inline int simple3(const uint8_t *p, const uint8_t *end)
{
    return end - p >= 3 && p[0] >= 0xE1 && p[0] <= 0xEF && p[0] != 0xED && (p[1] & 0xC0) == 0x80 &&
           (p[2] & 0xC0) == 0x80;
}

/* What scan_string tells its caller besides the end. */
typedef struct {
    size_t length;   /* bytes written to out */
    int escaped;     /* the string held a backslash */
    int not_inert;   /* a character of it is not NFC-inert (only counted with out) */
} string_info;

/*
 * The string whose opening quote is at p[-1]: returns the position after its
 * closing quote, or NULL when the exact path must decide (not well formed, a
 * raw control character, a lone surrogate escape, the line ends first).
 * With out, its UTF-8 is written there and each character is checked with
 * bp_nfc_inert when check_nfc; without, it is only validated.
 */
static const uint8_t *scan_string(const uint8_t *p, const uint8_t *end, uint8_t *out, int check_nfc,
                                  string_info *info)
{
    size_t n = 0;
    info->escaped = 0;
    info->not_inert = 0;
    for (;;) {
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            if (!plain8(v))
                break;
            if (out)
                memcpy(out + n, p, 8);
            n += 8;
            p += 8;
        }
        if (p >= end)
            return NULL;
        const uint8_t c = *p;
        if (c == '"') {
            info->length = n;
            return p + 1;
        }
        if (c < 0x20)
            return NULL; /* json.loads (strict) refuses raw control characters */
        if (c < 0x80 && c != '\\') {
            if (out)
                out[n] = c;
            n++;
            p++;
            continue;
        }
        uint32_t cp;
        if (simple3(p, end)) {
            /* Three bytes that are always well formed (CJK, kana, Hangul...): the
             * common non-ASCII case, without utf8_sequence's cases, a run of them
             * at a time (the 8-byte test above would fail on each). */
            do {
                if (out) {
                    cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
                    out[n] = p[0];
                    out[n + 1] = p[1];
                    out[n + 2] = p[2];
                    if (check_nfc && !bp_nfc_inert(cp))
                        info->not_inert = 1;
                }
                n += 3;
                p += 3;
            } while (simple3(p, end));
            continue;
        }
        if (c >= 0x80) {
            const size_t len = utf8_sequence(p, end, &cp);
            if (len == 0)
                return NULL;
            if (out) {
                memcpy(out + n, p, len);
                if (check_nfc && !bp_nfc_inert(cp))
                    info->not_inert = 1;
            }
            n += len;
            p += len;
            continue;
        }
        /* A backslash. */
        info->escaped = 1;
        if (end - p < 2)
            return NULL;
        const uint8_t e = p[1];
        p += 2;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            if (end - p < 4)
                return NULL;
            const int32_t u = hex4(p);
            if (u < 0)
                return NULL;
            p += 4;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return NULL; /* a lone low surrogate: Python keeps it; no UTF-8 */
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return NULL;
                const int32_t low = hex4(p + 2);
                if (low < 0xDC00 || low > 0xDFFF)
                    return NULL;
                p += 6;
                cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
            } else {
                cp = (uint32_t)u;
            }
            break;
        }
        default:
            return NULL;
        }
        if (out) {
            n += bp_utf8_put(cp, out + n);
            if (check_nfc && !bp_nfc_inert(cp))
                info->not_inert = 1;
        } else {
            n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        }
    }
}

/* After a number's first character (at p): the position after it, or NULL
 * unless it is JSON's -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? (which
 * also leaves NaN, Infinity and -Infinity to the exact path). */
static const uint8_t *scan_number(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *start = p;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p - start >= MAX_NUMBER_CHARS ? NULL : p;
}

static const uint8_t *scan_literal(const uint8_t *p, const uint8_t *end, const char *word, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* One JSON value starting at p (after whitespace), validated and skipped,
 * nested containers included (without recursion: a bit per level says
 * object or array); the position after it, or NULL. */
static const uint8_t *skip_value(const uint8_t *p, const uint8_t *end)
{
    uint64_t objects = 0; /* bit d: level d + 1 is an object */
    int depth = 0;
    string_info info;
value:
    p = skip_space(p, end);
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        p = scan_string(p + 1, end, NULL, 0, &info);
        break;
    case '{':
    case '[': {
        if (depth == BP_JSONL_MAX_DEPTH)
            return NULL;
        const int object = *p == '{';
        objects = (objects << 1) | (uint64_t)object;
        depth++;
        p = skip_space(p + 1, end);
        if (p < end && *p == (object ? '}' : ']')) {
            p++;
            objects >>= 1;
            depth--;
            break;
        }
        if (object)
            goto key;
        goto value;
    }
    case 't':
        p = scan_literal(p, end, "true", 4);
        break;
    case 'f':
        p = scan_literal(p, end, "false", 5);
        break;
    case 'n':
        p = scan_literal(p, end, "null", 4);
        break;
    default:
        p = scan_number(p, end);
        break;
    }
after:
    if (p == NULL)
        return NULL;
    if (depth == 0)
        return p;
    p = skip_space(p, end);
    if (p >= end)
        return NULL;
    if (*p == ',') {
        p = skip_space(p + 1, end);
        if (objects & 1)
            goto key;
        goto value;
    }
    if (*p != ((objects & 1) ? '}' : ']'))
        return NULL;
    p++;
    objects >>= 1;
    depth--;
    goto after;
key:
    if (p >= end || *p != '"')
        return NULL;
    p = scan_string(p + 1, end, NULL, 0, &info);
    if (p == NULL)
        return NULL;
    p = skip_space(p, end);
    if (p >= end || *p != ':')
        return NULL;
    p++;
    goto value;
}

/* What the scan of one line has found of the field. */
typedef struct {
    const uint8_t *key;   /* the field's name as given */
    size_t key_len;
    int check_nfc;
    uint8_t *out;         /* where the value's UTF-8 goes */
    int found_key;        /* the top-level member named key[0 .. key_len): a string, once */
    int found_path;       /* the string at the dotted path (only looked for when the name has a '.') */
    int path_uncertain;   /* a step of the path missing, twice, escaped or not an object */
    size_t key_length, path_length;
    int key_not_inert, path_not_inert;
} field_scan;

static inline int same_name(const uint8_t *name, size_t len, const uint8_t *want, size_t want_len)
{
    return len == want_len && memcmp(name, want, len) == 0;
}

/*
 * The members of an object whose '{' is at p[-1], validated; `level` 0 is
 * the line's object. Looks there for the whole name (level 0 only) and for
 * the first step of `rest` (the dotted path still to follow; NULL for none),
 * descending into that step's object. Returns the position after the '}',
 * or NULL when the line must go to the exact path whatever the path finds
 * (invalid JSON, an escaped top-level name, the whole name twice or not a
 * string); what is uncertain only about the path sets path_uncertain.
 */
static const uint8_t *scan_object(const uint8_t *p, const uint8_t *end, field_scan *fs, const uint8_t *rest,
                                  size_t rest_len, int level)
{
    const uint8_t *step = rest, *next = NULL;
    size_t step_len = 0, next_len = 0;
    if (rest != NULL) {
        const uint8_t *dot = memchr(rest, '.', rest_len);
        step_len = dot ? (size_t)(dot - rest) : rest_len;
        if (dot) {
            next = dot + 1;
            next_len = rest_len - step_len - 1;
        }
    }
    int seen_key = 0, seen_step = 0;
    string_info info;
    p = skip_space(p, end);
    if (p < end && *p == '}') {
        if (step != NULL)
            fs->path_uncertain = 1; /* the step is missing */
        return p + 1;
    }
    for (;;) {
        if (p >= end || *p != '"')
            return NULL;
        const uint8_t *name = p + 1;
        p = scan_string(name, end, NULL, 0, &info);
        if (p == NULL)
            return NULL;
        const size_t name_len = (size_t)(p - 1 - name);
        if (info.escaped && level == 0)
            return NULL; /* it might be the name, written otherwise */
        if (info.escaped && step != NULL)
            fs->path_uncertain = 1;
        const int is_key = level == 0 && !info.escaped && same_name(name, name_len, fs->key, fs->key_len);
        const int is_step = step != NULL && !info.escaped && same_name(name, name_len, step, step_len);
        p = skip_space(p, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_space(p + 1, end);
        if (is_key) {
            if (seen_key || p >= end || *p != '"')
                return NULL; /* twice (the last one counts), or not a string */
            seen_key = 1;
            p = scan_string(p + 1, end, fs->out, fs->check_nfc, &info); /* the whole name wins over a path */
            fs->found_key = 1;
            fs->key_length = info.length;
            fs->key_not_inert = info.not_inert;
        } else if (is_step) {
            if (seen_step)
                fs->path_uncertain = 1; /* twice: the last one counts */
            seen_step = 1;
            if (next == NULL && p < end && *p == '"') {
                uint8_t *out = fs->found_key ? NULL : fs->out;
                p = scan_string(p + 1, end, out, fs->check_nfc, &info);
                fs->found_path = 1;
                fs->path_length = info.length;
                fs->path_not_inert = info.not_inert;
            } else if (next != NULL && p < end && *p == '{' && level + 1 < BP_JSONL_MAX_DEPTH) {
                p = scan_object(p + 1, end, fs, next, next_len, level + 1);
            } else {
                fs->path_uncertain = 1; /* not a string, or not an object to go on into */
                p = skip_value(p, end);
            }
        } else {
            p = skip_value(p, end);
        }
        if (p == NULL)
            return NULL;
        p = skip_space(p, end);
        if (p >= end)
            return NULL;
        if (*p == '}')
            break;
        if (*p != ',')
            return NULL;
        p = skip_space(p + 1, end);
    }
    if (step != NULL && !seen_step)
        fs->path_uncertain = 1;
    return p + 1;
}

/*
 * One non-blank line: the status, with the value's UTF-8 at out (*length
 * bytes) for BP_JSONL_VALUE and BP_JSONL_NEEDS_NFC. As corpus.field_value:
 * the top-level member named key, else (for a name with '.') the member at
 * the dotted path through nested objects.
 */
static int scan_line(const uint8_t *p, const uint8_t *end, const uint8_t *key, size_t key_len, int check_nfc,
                     uint8_t *out, size_t *length)
{
    field_scan fs = {key, key_len, check_nfc, out, 0, 0, 0, 0, 0, 0, 0};
    p = skip_space(p, end);
    if (p >= end || *p != '{')
        return BP_JSONL_UNSURE;
    const int dotted = key_len > 0 && memchr(key, '.', key_len) != NULL;
    p = scan_object(p + 1, end, &fs, dotted ? key : NULL, key_len, 0);
    if (p == NULL || skip_space(p, end) != end)
        return BP_JSONL_UNSURE;
    if (fs.found_key) {
        *length = fs.key_length;
        return fs.key_not_inert ? BP_JSONL_NEEDS_NFC : BP_JSONL_VALUE;
    }
    if (fs.found_path && !fs.path_uncertain) {
        *length = fs.path_length;
        return fs.path_not_inert ? BP_JSONL_NEEDS_NFC : BP_JSONL_VALUE;
    }
    return BP_JSONL_UNSURE;
}

static inline int is_blank(const uint8_t *p, const uint8_t *end)
{
    while (p < end && blank_space(*p))
        p++;
    return p == end;
}

int bp_jsonl_count_lines(const uint8_t *block, size_t len, size_t *lines, size_t *documents)
{
    if (lines == NULL || documents == NULL || (block == NULL && len > 0))
        return BP_ERR_INVALID;
    size_t n = 0, docs = 0;
    const uint8_t *p = block, *end = block + len;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl ? nl : end;
        n++;
        docs += !is_blank(p, stop);
        p = nl ? nl + 1 : end;
    }
    *lines = n;
    *documents = docs;
    return BP_OK;
}

int bp_jsonl_extract(const uint8_t *block, size_t len, const uint8_t *key, size_t key_len, int check_nfc,
                     size_t max_line, uint8_t *values, int64_t *ends, uint8_t *status, int64_t *line_index,
                     int64_t *line_start, size_t *num_entries)
{
    if (num_entries == NULL || ends == NULL || status == NULL || line_index == NULL || line_start == NULL ||
        (key == NULL && key_len > 0) || ((block == NULL || values == NULL) && len > 0))
        return BP_ERR_INVALID;
    size_t e = 0, written = 0, line = 0;
    const uint8_t *p = block, *end = block + len;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl ? nl : end;
        int s = -1;
        size_t length = 0;
        if ((size_t)(stop - p) > max_line)
            s = BP_JSONL_TOO_LONG;
        else if (!is_blank(p, stop))
            s = scan_line(p, stop, key, key_len, check_nfc, values + written, &length);
        if (s >= 0) {
            if (s == BP_JSONL_VALUE || s == BP_JSONL_NEEDS_NFC)
                written += length;
            status[e] = (uint8_t)s;
            ends[e] = (int64_t)written;
            line_index[e] = (int64_t)line;
            line_start[e] = (int64_t)(p - block);
            e++;
            if (s == BP_JSONL_TOO_LONG)
                break;
        }
        line++;
        p = nl ? nl + 1 : end;
    }
    *num_entries = e;
    return BP_OK;
}
