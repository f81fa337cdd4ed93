/* bp_utf8.c: UTF-8 of NFC-inert text (see bp_utf8.h). */
#include "bp_utf8.h"

/* 1 iff the 8 code points at in[0 .. 8) are all ASCII. */
#define ALL_ASCII_8(in) \
    ((((in)[0] | (in)[1] | (in)[2] | (in)[3] | (in)[4] | (in)[5] | (in)[6] | (in)[7]) & ~0x7Fu) == 0)

/* The loop for one storage width: `unit` is uint8_t, uint16_t or uint32_t.
 * Runs of ASCII (most of the text even in Chinese documents: markup, code,
 * numbers, spaces) go 8 code points at a time, with no test per character. */
#define ENCODE_INERT(unit)                                  \
    do {                                                    \
        const unit *in = (const unit *)data;                \
        size_t i = 0;                                       \
        while (i < n) {                                     \
            if (i + 8 <= n && ALL_ASCII_8(in + i)) {        \
                for (size_t j = 0; j < 8; j++)              \
                    out[written + j] = (uint8_t)in[i + j];  \
                written += 8;                               \
                i += 8;                                     \
                continue;                                   \
            }                                               \
            const uint32_t cp = in[i++];                    \
            if (!bp_nfc_inert(cp))                          \
                return BP_UTF8_NOT_INERT;                   \
            written += bp_utf8_put(cp, out + written);         \
        }                                                   \
    } while (0)

size_t bp_utf8_encode_inert(const void *data, int kind, size_t n, uint8_t *out)
{
    size_t written = 0;
    switch (kind) {
    case 1:
        ENCODE_INERT(uint8_t);
        break;
    case 2:
        ENCODE_INERT(uint16_t);
        break;
    case 4:
        ENCODE_INERT(uint32_t);
        break;
    default:
        return BP_UTF8_NOT_INERT;
    }
    return written;
}
