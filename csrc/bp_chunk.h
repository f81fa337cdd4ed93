/*
 * bp_chunk.h: where a tokenizing chunk ends (docs/spec/text.md §2).
 *
 * A chunk is everything up to and including the next maximal run of '\n'
 * bytes ('\r' is an ordinary byte): BytePiece's regex `.*\n+|.+`. Pieces
 * never cross a chunk, so the segmenters work chunk by chunk. This is the
 * only place in C that knows the rule; bytepiece/text.py cuts the
 * training chunks, whose caps count characters.
 */
#ifndef BP_CHUNK_H
#define BP_CHUNK_H

#include <stddef.h>
#include <stdint.h>
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

#endif
