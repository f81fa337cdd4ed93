/* bp_format.c: token ids as decimal text (see bp_format.h). */
#include "bp_format.h"

size_t bp_format_ids(const int32_t *ids, size_t n, char separator, char *out)
{
    size_t at = 0;
    char digits[BP_FORMAT_ID_CHARS];
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[at++] = separator;
        int64_t value = ids[i]; /* 64 bits: -INT32_MIN must not overflow */
        if (value < 0) {
            out[at++] = '-';
            value = -value;
        }
        int d = 0;
        do {
            digits[d++] = (char)('0' + value % 10);
            value /= 10;
        } while (value != 0);
        while (d > 0)
            out[at++] = digits[--d];
    }
    return at;
}

size_t bp_format_spans(const int32_t *ids, const int64_t *offsets, size_t num_spans, char separator,
                       char terminator, char *out)
{
    size_t at = 0;
    for (size_t k = 0; k < num_spans; k++) {
        at += bp_format_ids(ids + offsets[k], (size_t)(offsets[k + 1] - offsets[k]), separator, out + at);
        out[at++] = terminator;
    }
    return at;
}
