/*
 * bp_model_json.h: the fast path of reading a model file (docs/spec/model.md).
 *
 * A model file is a JSON object {base64 piece: [id, text, count], ...}. The
 * general reader (bytepiece/formats/native.py: json, then a check per entry in
 * Python) takes seconds for a million pieces; this scanner reads the plain
 * form, which is what every trained model is, in one pass. It accepts a
 * strict subset of what the general reader accepts and returns the same
 * pieces, ids and counts; anything else (more than one four-item entry,
 * escapes in a key, numbers that are not small non-negative integers,
 * malformed JSON or UTF-8, ...) makes it decline, and the caller runs the
 * general reader, which names the problem. It does not check what the
 * caller checks on the arrays (id ranges, distinct pieces, lengths).
 */
#ifndef BP_MODEL_JSON_H
#define BP_MODEL_JSON_H

#include "bp_common.h"

/* Pieces, ids and counts of a model file, in file order. Caller frees with
 * bp_model_entries_free. Piece k is bytes[offsets[k] .. offsets[k + 1]). */
typedef struct {
    uint8_t *bytes;
    int64_t *offsets; /* num_pieces + 1 entries */
    int64_t *ids;
    int64_t *counts;
    size_t num_pieces;
    /* The one four-item entry's options object, if the file has one: entry
     * options_entry (-1: none) has json[options_start .. options_end). */
    int64_t options_entry;
    size_t options_start, options_end;
} bp_model_entries;

/*
 * Scans json[0 .. len) (the file's bytes, UTF-8). Accepts exactly: JSON
 * whitespace, '{', then one or more members `"KEY": [ID, "TEXT", COUNT]`
 * separated by ',', then '}' and whitespace to the end, of which one
 * member may instead be `"KEY": [ID, "TEXT", {OPTIONS}, COUNT]` (the
 * provenance the trainer writes, docs/spec/model.md §10), where KEY is
 * padded standard base64 (length a multiple of 4, no escapes), ID and COUNT
 * are decimal integers of 1 to 18 digits without sign or leading zero, and
 * TEXT is any valid JSON string of valid UTF-8. OPTIONS is only skipped
 * (strings and brackets balanced, at most 64 deep); the caller parses its
 * span, which may still be invalid JSON. On BP_OK *out holds the
 * decoded keys, ids and counts (the caller frees it); on any other return
 * *out is empty. Returns BP_ERR_INVALID when the text is not of that form
 * (not an error of the file: the general reader decides), BP_ERR_NOMEM.
 * O(len) time; memory about the decoded pieces plus 24 bytes per entry.
 */
int bp_model_json_scan(const uint8_t *json, size_t len, bp_model_entries *out);

/* Frees what bp_model_json_scan filled in and empties *entries; safe on an
 * empty or already freed struct. */
void bp_model_entries_free(bp_model_entries *entries);

#endif
