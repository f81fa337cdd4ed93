/*
 * bp_chunk.h: where a tokenizing chunk ends (docs/spec/text.md §2).
 *
 * A chunk is everything up to and including the next maximal run of '\n'
 * bytes ('\r' is an ordinary byte): BytePiece's regex `.*\n+|.+`. Pieces
 * never cross a chunk, so the segmenters work chunk by chunk. This is the
 * only place in C that knows the rule. The trainer's chunks add caps
 * (bp_training_chunk_end); bytepiece/text.py holds the same rules as regular
 * expressions, and cuts what C does not (isolated digits).
 */
#ifndef BP_CHUNK_H
#define BP_CHUNK_H

#include "bp_common.h"

#include <string.h>

/* The end (exclusive) of the chunk of text[0 .. len) that starts at byte
 * `start` (< len): the position after the first run of '\n' at or after
 * start, or len. Bytes, no characters. O(chunk length). */
static inline size_t bp_chunk_end(const uint8_t *text, size_t len, size_t start)
{
    const uint8_t *nl = memchr(text + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - text) : len;
    while (end < len && text[end] == '\n')
        end++;
    return end;
}

/* 1 iff byte b starts a unit: a character of UTF-8 text when counting
 * characters, any byte when counting bytes. */
static inline int bp_starts_unit(uint8_t b, int count_characters)
{
    return !count_characters || !bp_is_utf8_continuation(b);
}

/* The end (exclusive) of the training chunk of text[0 .. len) that starts at
 * `start` (< len): BytePiece 0.6.3's `.{,max_units}\n{1,max_newlines}|.{1,max_units}`
 * (docs/spec/text.md §3): up to max_units units other than '\n' followed by
 * 1 to max_newlines '\n'; or, when no '\n' follows within max_units units,
 * max_units units (or what is left). Units are characters of UTF-8 text
 * when count_characters is set (text must then be valid UTF-8, as from
 * str.encode), else bytes. max_units >= 1, max_newlines >= 1.
 * O(chunk length). */
static inline size_t bp_training_chunk_end(const uint8_t *text, size_t len, size_t start, size_t max_units,
                                           size_t max_newlines, int count_characters)
{
    size_t i = start, units = 0;
    while (i < len && text[i] != '\n') {
        if (bp_starts_unit(text[i], count_characters)) {
            if (units == max_units)
                return i; /* the cap: the second alternative */
            units++;
        }
        i++;
    }
    size_t newlines = 0;
    while (i < len && text[i] == '\n' && newlines < max_newlines) {
        i++;
        newlines++;
    }
    return i;
}

#endif
