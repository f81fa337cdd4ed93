/*
 * bp_format.h: token ids as decimal text, for the command line's outputs.
 *
 * Formatting millions of ids is the bottleneck of writing text outputs from
 * Python (str(int) and json.dumps per id), so it is done here, in bulk.
 */
#ifndef BP_FORMAT_H
#define BP_FORMAT_H

#include "bp_common.h"

/* Most characters one int32 id takes in decimal ("-2147483648"). */
#define BP_FORMAT_ID_CHARS 11

/*
 * Writes ids[0 .. n) in decimal, separated by the byte `separator`, to out
 * (ASCII, no terminating NUL) and returns the number of bytes written.
 * out needs room for n * (BP_FORMAT_ID_CHARS + 1) bytes. Never fails.
 * O(n).
 */
size_t bp_format_ids(const int32_t *ids, size_t n, char separator, char *out);

/*
 * Writes each span ids[offsets[k] .. offsets[k+1]) for k < num_spans with
 * bp_format_ids, each followed by the byte `terminator`, to out and returns
 * the bytes written. offsets must be non-decreasing and within ids (the
 * caller checks); out needs room for (offsets[num_spans] - offsets[0]) *
 * (BP_FORMAT_ID_CHARS + 1) + num_spans bytes. O(ids written).
 */
size_t bp_format_spans(const int32_t *ids, const int64_t *offsets, size_t num_spans, char separator,
                       char terminator, char *out);

#endif
