/*
 * bp_common.h: error codes, limits and special token ids shared by the whole
 * C core of bytepiece. The Python layer imports these constants from the
 * binding (bytepiece._core); they are defined nowhere else.
 *
 * Conventions of every csrc/ function:
 *   - Returns 0 (BP_OK) on success or a negative BP_ERR_* code; it never
 *     aborts, never prints and never touches global mutable state.
 *   - "bytes" means raw bytes of UTF-8 text; the C core knows nothing about
 *     characters except where a function says so.
 *   - Inputs are borrowed (the caller keeps ownership) unless a comment says
 *     "takes ownership" or "caller frees".
 */
#ifndef BP_COMMON_H
#define BP_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum {
    BP_OK = 0,
    BP_ERR_NOMEM = -1,       /* an allocation failed */
    BP_ERR_INVALID = -2,     /* an argument breaks the function's contract */
    BP_ERR_DUPLICATE = -3,   /* the same piece was given twice */
    BP_ERR_TOO_LARGE = -4    /* a size exceeds what the data structure can index */
};

/* Special token ids: every model reserves them before its pieces, whose
 * ids start at BP_NUM_SPECIAL (docs/spec/model.md). */
#define BP_PAD_ID 0
#define BP_BOS_ID 1
#define BP_EOS_ID 2
#define BP_NUM_SPECIAL 3

/* Longest piece accepted (bytes). The segmenter walks the trie from every
 * position as deep as the text follows a piece's prefix, so its worst case
 * is this many steps per byte: with one enormous piece and text repeating
 * it, an unbounded length makes segmentation quadratic. Real vocabularies
 * stay far below (BytePiece's default is 36). Also < 2^BP_RNG_LEN_BITS. */
#define BP_MAX_PIECE_LEN 1024u

/* Largest alpha the samplers take. Beyond it alpha * score can overflow to
 * -inf, and the perfect sampler's weights become NaN; the samplers are
 * already the plain Viterbi long before (docs/spec/segmentation.md §5). */
#define BP_MAX_ALPHA 1e100

/* Largest |score| of a piece (bp_trie_build refuses any other, and NaN and
 * the infinities). A segmentation's score is a sum along one chunk: bounded
 * like this, no sum can overflow, even scaled by the samplers' largest
 * alpha (2^40 bytes, the longest text the random draws index, x 1e9 x
 * BP_MAX_ALPHA 1e100 is about 1e121, far below DBL_MAX, about 1.8e308),
 * so the dynamic programmes compare finite numbers only. The log relative
 * frequency of any count that a real model holds is within it (a count of
 * 1 in a total of 10^(4e8) is about -9.2e8). The segmenters stay memory-
 * safe without it (bp_segmenter.h); within it they are also exact. */
#define BP_MAX_ABS_SCORE 1e9

/* Longest n-gram of the trainer's language model: n-grams are packed into
 * 64-bit keys (bp_ngram_table.h). */
#define BP_MAX_ORDER 8

/* Most partitions the n-gram tables split into (one per first byte). */
#define BP_MAX_PARTITIONS 256

/* 1 iff b is a UTF-8 continuation byte (0x80..0xBF): no character starts
 * there. The only UTF-8 rule the core applies (ensure_unicode in bp_bnlm.c,
 * candidate substrings in bp_pieces.c). */
static inline int bp_is_utf8_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

/* The capacity to grow a buffer to so that it holds `need` items: `initial`
 * (when current is 0; at least 1) doubled until it is enough. Returns 0 if
 * that would overflow size_t (the caller reports BP_ERR_NOMEM). O(log need). */
size_t bp_grow_capacity(size_t current, size_t need, size_t initial);

/* Resizes the array *array (malloc'd, or NULL) to `count` items of `unit`
 * bytes with realloc. On success *array is the resized block; on failure it
 * is left as it was, still the caller's to free: BP_ERR_NOMEM (also when
 * count * unit overflows size_t), BP_ERR_INVALID (count or unit 0, or array
 * NULL). O(count). */
int bp_resize_array(void **array, size_t count, size_t unit);

/* The growing half of bp_reserve, out of line so that bp_reserve's test of
 * room inlines at every call site; call bp_reserve. */
int bp_reserve_grow(void **array, size_t *capacity, size_t need, size_t unit, size_t initial);

/*
 * The growable array of the core: makes the array *array (malloc'd, or NULL
 * while *capacity is 0), which has room for *capacity items of `unit` bytes,
 * hold at least `need` items. When need <= *capacity nothing changes;
 * otherwise it is resized with realloc, contents kept, to
 * bp_grow_capacity(*capacity, need, initial) items, and *capacity becomes
 * that. Arrays that grow together (parallel arrays) each keep their own
 * capacity. On failure *array and *capacity are as they were, the array
 * still the caller's to free: BP_ERR_NOMEM (also when the size overflows
 * size_t), BP_ERR_INVALID (array or capacity NULL, unit 0). Amortized O(1)
 * per item appended (the capacity doubles).
 */
static inline int bp_reserve(void **array, size_t *capacity, size_t need, size_t unit, size_t initial)
{
    if (array && capacity && unit && need <= *capacity)
        return BP_OK;
    return bp_reserve_grow(array, capacity, need, unit, initial);
}

/* `bytes` zeroed bytes for a large, randomly accessed table (caller frees
 * with free()), or NULL when out of memory. Where the system offers it
 * (Linux), a table of at least BP_HUGE_PAGE bytes is aligned to it and
 * asked to live on huge pages, and is zeroed by writing: probes that land
 * anywhere in hundreds of MB then miss the TLB far less, and no page is
 * first mapped to the shared zero page by a read and then copied on the
 * first write (a fault that also stops every other thread of the process
 * to flush its TLB). Smaller sizes are plain calloc. O(bytes). */
void *bp_table_alloc(size_t bytes);

#define BP_HUGE_PAGE ((size_t)2 << 20)

/* A short English description of a BP_* code (static storage, never NULL). */
const char *bp_strerror(int code);

#endif
