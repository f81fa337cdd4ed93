/*
 * bp_jsonl.h: one string field of each line of a block of JSON lines, in one
 * strict pass, decoded straight to UTF-8.
 *
 * `bytepiece encode --field F` reads JSON lines; parsing them with Python's
 * json module costs about as much CPU as segmenting them, and holds the GIL.
 * This scanner does the common case in C, without the GIL: a line that is one
 * JSON object whose member F appears once, holding a string; or, when F
 * holds a '.' and is not a top-level name, the string at F's dotted path
 * through nested objects ("meta.text": line["meta"]["text"]), as
 * bytepiece.corpus.field_value finds it. It is deliberately narrow: any line
 * it is not certain about -- invalid JSON or UTF-8, a top-level name with an
 * escape, the name (or a step of the path) twice, a value that is not a
 * string, a lone surrogate escape, NaN/Infinity, a number of 1000 characters
 * or more, nesting deeper than BP_JSONL_MAX_DEPTH, F missing -- is marked
 * BP_JSONL_UNSURE, and the caller reads that line with the exact (Python)
 * path, which gives the same value or the same error as before. For every
 * line marked BP_JSONL_VALUE or BP_JSONL_NEEDS_NFC, the value is exactly the
 * UTF-8 of ``field_value(json.loads(line.decode("utf-8")), F)``.
 *
 * Lines are split on '\n' only; a line whose bytes are all ASCII whitespace
 * (space, \t, \n, \v, \f, \r: Python's bytes.strip) is blank and skipped, as
 * the corpus reader skips it.
 */
#ifndef BP_JSONL_H
#define BP_JSONL_H

#include "bp_common.h"

/* What bp_jsonl_extract found on one non-blank line (one entry each). */
#define BP_JSONL_VALUE 0     /* the value's UTF-8 is in `values`; NFC leaves it unchanged (or was not asked) */
#define BP_JSONL_NEEDS_NFC 1 /* the value's UTF-8 is in `values`; a character NFC might change is in it */
#define BP_JSONL_UNSURE 2    /* nothing in `values`: the caller must read this line the exact way */
#define BP_JSONL_TOO_LONG 3  /* the line (blank or not) has more than max_line bytes; the scan stopped here */

/* Containers nested deeper than this make a line BP_JSONL_UNSURE. */
#define BP_JSONL_MAX_DEPTH 64

/*
 * Counts the lines of block[0 .. len): *lines (the '\n's, plus one for a last
 * line without '\n') and *documents (those that are not blank). O(len), no
 * allocation. BP_ERR_INVALID when an output pointer is NULL, or block is NULL
 * with len > 0.
 */
int bp_jsonl_count_lines(const uint8_t *block, size_t len, size_t *lines, size_t *documents);

/*
 * Scans the lines of block[0 .. len) for the string value of the field named
 * key[0 .. key_len) (UTF-8 bytes, compared with each name as written: a
 * top-level name holding a backslash makes its line BP_JSONL_UNSURE), at the
 * top level or, for a name with '.', at its dotted path (see above).
 *
 * For each non-blank line, in order, entry e gets status[e] (BP_JSONL_*),
 * line_index[e] (0-based line number within the block), line_start[e] (byte
 * offset of the line in block) and ends[e]: the end of its value in
 * `values`, which starts at ends[e - 1] (0 for e = 0); an entry without a
 * value has an empty one. A line longer than max_line bytes (without its
 * '\n'), blank or not, gets the entry BP_JSONL_TOO_LONG and ends the scan.
 * check_nfc: 1 to tell BP_JSONL_NEEDS_NFC from BP_JSONL_VALUE (bp_nfc_inert
 * on every character of the value), 0 to mark every value BP_JSONL_VALUE.
 *
 * Room: `values` len bytes (a value's UTF-8 is never longer than its line);
 * the four arrays one entry per line (bp_jsonl_count_lines). *num_entries
 * gets the number of entries. Inputs are borrowed; nothing is allocated;
 * O(len). BP_ERR_INVALID when a pointer is NULL (block and values may be
 * NULL when len is 0).
 */
int bp_jsonl_extract(const uint8_t *block, size_t len, const uint8_t *key, size_t key_len, int check_nfc,
                     size_t max_line, uint8_t *values, int64_t *ends, uint8_t *status, int64_t *line_index,
                     int64_t *line_start, size_t *num_entries);

#endif
