/*
 * bp_utf8.h: the UTF-8 of a Python str in one pass, when NFC would leave it
 * unchanged.
 *
 * Tokenizing a str is NFC, then UTF-8 (docs/spec/text.md). CPython does the
 * two in separate passes over the text, with a table lookup per character
 * for NFC's quick check, and a new bytes object in between: 10-15% of
 * encoding a document. Most text (Latin, Greek, Cyrillic, CJK, kana,
 * Hangul syllables, punctuation and symbols) is made of characters that NFC never
 * touches; for such text both steps are this one loop, and any other text
 * is left to the general path.
 */
#ifndef BP_UTF8_H
#define BP_UTF8_H

#include "bp_common.h"

/* What bp_utf8_encode_inert returns for text that it leaves to the general path. */
#define BP_UTF8_NOT_INERT SIZE_MAX

/*
 * 1 iff code point cp is NFC-inert: canonical combining class 0, NFC quick
 * check Yes, and the second character of no canonical composition (Hangul's
 * included). A text of such characters is its own NFC: nothing in it
 * reorders, decomposes or composes. The ranges are whole runs of such
 * characters in assigned blocks (a conservative subset);
 * tests/test_text.py checks every code point against the running Python's
 * unicodedata. Most frequent first.
 */
static inline int bp_nfc_inert(uint32_t cp)
{
    if (cp < 0x300)
        return 1; /* Latin: the combining marks start at U+0300 */
    if (cp >= 0x309B)
        return cp < 0xA66F                         /* kana (after the voicing marks), CJK, Yi */
               || (cp >= 0xABEE && cp < 0xD800)    /* Hangul syllables (not the jamo after them) */
               || (cp >= 0xFE30 && cp < 0x10000);  /* CJK compatibility, small and full-width forms */
    if (cp >= 0x2002)
        return cp < 0x20D0                         /* punctuation, super/subscripts, currency */
               || (cp >= 0x212C && cp < 0x2329)    /* arrows, mathematical operators, technical */
               || (cp >= 0x232B && cp < 0x2ADC)    /* box drawing, shapes, symbols, dingbats */
               || (cp >= 0x2E00 && cp < 0x302A);   /* CJK radicals, symbols and punctuation */
    return (cp >= 0x388 && cp < 0x483)             /* Greek and Cyrillic letters */
           || (cp >= 0x1E00 && cp < 0x1F71);       /* Latin Extended Additional (Vietnamese) */
}

/* Writes the UTF-8 of code point cp (<= 0x10FFFF, not a surrogate: the
 * caller checks) at out, which has room for 4 bytes; returns the bytes
 * written (1 to 4). O(1). */
static inline size_t bp_utf8_put(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Writes the UTF-8 of the n code points at `data` to out and returns the
 * number of bytes written, or BP_UTF8_NOT_INERT as soon as one is not
 * NFC-inert (bp_nfc_inert; surrogates never are): the caller then
 * normalizes and encodes the text the general way, and out holds garbage.
 * Each code point takes `kind` bytes (1, 2 or 4: CPython's compact str
 * storage; any other kind gives BP_UTF8_NOT_INERT). Inputs are borrowed;
 * out needs room for 3 * n bytes (no inert character takes more).
 * O(n), no allocation.
 */
size_t bp_utf8_encode_inert(const void *data, int kind, size_t n, uint8_t *out);

#endif
