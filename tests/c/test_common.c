/* Unit tests of bp_common.h: error codes, special ids, limits,
 * bp_grow_capacity, bp_strerror, bp_resize_array, bp_reserve and
 * bp_table_alloc. */
#include "bp_common.h"
#include "bp_rng.h"
#include "bp_test.h"

#include <stdlib.h>
#include <string.h>

static void test_error_codes_are_distinct_and_negative(void)
{
    CHECK_EQ(BP_OK, 0);
    const int errors[] = {BP_ERR_NOMEM, BP_ERR_INVALID, BP_ERR_DUPLICATE, BP_ERR_TOO_LARGE};
    for (int i = 0; i < 4; i++) {
        CHECK(errors[i] < 0);
        for (int j = 0; j < i; j++)
            CHECK(errors[i] != errors[j]);
    }
    /* The values are part of the binding's ABI (bytepiece._core re-exports them). */
    CHECK_EQ(BP_ERR_NOMEM, -1);
    CHECK_EQ(BP_ERR_INVALID, -2);
    CHECK_EQ(BP_ERR_DUPLICATE, -3);
    CHECK_EQ(BP_ERR_TOO_LARGE, -4);
}

static void test_special_ids_and_limits(void)
{
    CHECK_EQ(BP_PAD_ID, 0);
    CHECK_EQ(BP_BOS_ID, 1);
    CHECK_EQ(BP_EOS_ID, 2);
    CHECK_EQ(BP_NUM_SPECIAL, 3);
    CHECK_EQ(BP_MAX_PIECE_LEN, 1024);
    /* bp_rng.h relies on it: the length field of a draw's counter. */
    CHECK(BP_MAX_PIECE_LEN < (1u << BP_RNG_LEN_BITS));
    CHECK_EQ(BP_MAX_ORDER, 8);
    CHECK(BP_MAX_ORDER * 8 <= 64); /* an n-gram packs into a uint64 */
    CHECK_EQ(BP_MAX_PARTITIONS, 256);
}

static void test_strerror_describes_every_code(void)
{
    CHECK(strcmp(bp_strerror(BP_OK), "success") == 0);
    CHECK(strcmp(bp_strerror(BP_ERR_NOMEM), "out of memory") == 0);
    CHECK(strcmp(bp_strerror(BP_ERR_INVALID), "invalid argument") == 0);
    CHECK(strcmp(bp_strerror(BP_ERR_DUPLICATE), "duplicate piece") == 0);
    CHECK(strcmp(bp_strerror(BP_ERR_TOO_LARGE), "size too large") == 0);
    const int unknown[] = {1, -5, 12345, INT32_MIN, INT32_MAX};
    for (int i = 0; i < 5; i++) {
        const char *s = bp_strerror(unknown[i]);
        CHECK(s != NULL);
        CHECK(s != NULL && strcmp(s, "unknown error") == 0);
    }
}

static void test_grow_capacity_doubles_from_initial(void)
{
    CHECK_EQ(bp_grow_capacity(0, 1, 16), 16);     /* initial when current is 0 */
    CHECK_EQ(bp_grow_capacity(0, 16, 16), 16);
    CHECK_EQ(bp_grow_capacity(0, 17, 16), 32);
    CHECK_EQ(bp_grow_capacity(0, 1000, 16), 1024);
    CHECK_EQ(bp_grow_capacity(0, 0, 16), 16);
    CHECK_EQ(bp_grow_capacity(8, 8, 16), 8);      /* already enough: unchanged */
    CHECK_EQ(bp_grow_capacity(8, 3, 16), 8);
    CHECK_EQ(bp_grow_capacity(8, 9, 16), 16);     /* current, not initial, is doubled */
    CHECK_EQ(bp_grow_capacity(3, 25, 1024), 48);
    CHECK_EQ(bp_grow_capacity(1, (size_t)1 << 40, 7), (size_t)1 << 40);
    /* The largest power of two is reachable without overflow. */
    const size_t top = SIZE_MAX / 2 + 1;
    CHECK(bp_grow_capacity(1, top, 1) == top);
    CHECK(bp_grow_capacity(top, SIZE_MAX, 1) == 0);
}

static void test_grow_capacity_overflow_returns_zero(void)
{
    CHECK_EQ(bp_grow_capacity(0, SIZE_MAX, 1), 0);
    CHECK_EQ(bp_grow_capacity(0, SIZE_MAX, 1024), 0);
    CHECK_EQ(bp_grow_capacity(3, SIZE_MAX, 1), 0);
    CHECK_EQ(bp_grow_capacity(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2, 1), 0);
    /* A capacity that is not a power of two can stop just below the limit. */
    CHECK(bp_grow_capacity(3, SIZE_MAX / 2 + 2, 1) == (SIZE_MAX / 4 + 1) * 3);
    /* No wrap-around: whatever it returns is 0 or holds `need`. */
    for (size_t shift = 0; shift < 64; shift++) {
        size_t need = (size_t)1 << shift;
        size_t cap = bp_grow_capacity(5, need + 1, 1);
        CHECK(cap == 0 || cap >= need + 1);
    }
}

/* Growing keeps the items; a failed or refused resize leaves the array as it was. */
static void test_resize_array_keeps_items_and_fails_cleanly(void)
{
    int32_t *items = NULL;
    CHECK_EQ(bp_resize_array((void **)&items, 4, sizeof *items), BP_OK);
    CHECK(items != NULL);
    if (!items)
        return;
    for (int i = 0; i < 4; i++)
        items[i] = 10 * i;
    CHECK_EQ(bp_resize_array((void **)&items, 1000, sizeof *items), BP_OK);
    CHECK(items[0] == 0 && items[3] == 30);
    int32_t *before = items;
    CHECK_EQ(bp_resize_array((void **)&items, SIZE_MAX / 2, sizeof *items), BP_ERR_NOMEM); /* overflows */
    CHECK(items == before && items[3] == 30);
    CHECK_EQ(bp_resize_array((void **)&items, 0, sizeof *items), BP_ERR_INVALID);
    CHECK_EQ(bp_resize_array((void **)&items, 4, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_resize_array(NULL, 4, 1), BP_ERR_INVALID);
    CHECK(items == before);
    free(items);
}

/* The growable array: grows to bp_grow_capacity's capacity, keeps the
 * items, does nothing while there is room, and fails without touching the
 * array or its capacity. */
static void test_reserve_grows_by_doubling_and_fails_cleanly(void)
{
    int64_t *items = NULL;
    size_t capacity = 0;
    CHECK_EQ(bp_reserve((void **)&items, &capacity, 0, sizeof *items, 16), BP_OK); /* room for 0: nothing */
    CHECK(items == NULL && capacity == 0);
    CHECK_EQ(bp_reserve((void **)&items, &capacity, 1, sizeof *items, 16), BP_OK);
    CHECK(items != NULL);
    CHECK_EQ(capacity, 16); /* initial */
    if (!items)
        return;
    for (int i = 0; i < 16; i++)
        items[i] = 7 * i;
    int64_t *before = items;
    CHECK_EQ(bp_reserve((void **)&items, &capacity, 16, sizeof *items, 16), BP_OK); /* enough: unchanged */
    CHECK(items == before && capacity == 16);
    CHECK_EQ(bp_reserve((void **)&items, &capacity, 17, sizeof *items, 16), BP_OK);
    CHECK_EQ(capacity, 32);
    CHECK_EQ(bp_reserve((void **)&items, &capacity, 1000, sizeof *items, 16), BP_OK);
    CHECK_EQ(capacity, 1024);
    int kept = 1;
    for (int i = 0; i < 16; i++)
        kept &= items[i] == 7 * i;
    CHECK(kept);
    items[1023] = -1; /* the whole capacity is writable (ASan checks) */
    /* Failures: the array and its capacity as they were. */
    before = items;
    CHECK_EQ(bp_reserve((void **)&items, &capacity, SIZE_MAX / 4, sizeof *items, 16), BP_ERR_NOMEM); /* overflows */
    CHECK(items == before && capacity == 1024 && items[15] == 105);
    CHECK_EQ(bp_reserve((void **)&items, &capacity, SIZE_MAX, 1, 16), BP_ERR_NOMEM); /* no capacity doubles to it */
    CHECK(items == before && capacity == 1024);
    CHECK_EQ(bp_reserve(NULL, &capacity, 2000, 1, 16), BP_ERR_INVALID);
    CHECK_EQ(bp_reserve((void **)&items, NULL, 2000, 1, 16), BP_ERR_INVALID);
    CHECK_EQ(bp_reserve((void **)&items, &capacity, 2000, 0, 16), BP_ERR_INVALID);
    CHECK(items == before && capacity == 1024);
    free(items);
    /* Parallel arrays keep their own capacities, which grow alike. */
    uint8_t *bytes = NULL;
    double *values = NULL;
    size_t bytes_capacity = 0, values_capacity = 0;
    for (size_t need = 1; need <= 5000; need += 37) {
        CHECK_EQ(bp_reserve((void **)&bytes, &bytes_capacity, need, sizeof *bytes, 64), BP_OK);
        CHECK_EQ(bp_reserve((void **)&values, &values_capacity, need, sizeof *values, 64), BP_OK);
    }
    CHECK(bytes_capacity == values_capacity && bytes_capacity == 8192);
    free(bytes);
    free(values);
}

/* Zeroed and writable at every size, freed with free(); a large table on
 * Linux starts on a huge-page boundary (what makes madvise apply to all of it). */
static void test_table_alloc_is_zeroed_writable_and_freeable(void)
{
    const size_t sizes[] = {1, 100, BP_HUGE_PAGE - 1, BP_HUGE_PAGE, 3 * BP_HUGE_PAGE + 5};
    for (int k = 0; k < 5; k++) {
        unsigned char *p = bp_table_alloc(sizes[k]);
        CHECK(p != NULL);
        if (!p)
            continue;
        size_t nonzero = 0;
        for (size_t i = 0; i < sizes[k]; i++)
            nonzero += p[i] != 0;
        CHECK_EQ(nonzero, 0);
        memset(p, 0xAB, sizes[k]);
        CHECK_EQ(p[sizes[k] - 1], 0xAB);
#if defined(__linux__)
        if (sizes[k] >= BP_HUGE_PAGE)
            CHECK_EQ((uintptr_t)p % BP_HUGE_PAGE, 0);
#endif
        free(p);
    }
    /* Zero bytes still gives a pointer that free() takes. */
    void *empty = bp_table_alloc(0);
    CHECK(empty != NULL);
    free(empty);
    /* A size no allocator can meet is NULL, not a crash. */
    CHECK(bp_table_alloc(SIZE_MAX - 16) == NULL);
}

int main(void)
{
    RUN(test_error_codes_are_distinct_and_negative);
    RUN(test_special_ids_and_limits);
    RUN(test_strerror_describes_every_code);
    RUN(test_grow_capacity_doubles_from_initial);
    RUN(test_grow_capacity_overflow_returns_zero);
    RUN(test_resize_array_keeps_items_and_fails_cleanly);
    RUN(test_reserve_grows_by_doubling_and_fails_cleanly);
    RUN(test_table_alloc_is_zeroed_writable_and_freeable);
    return bp_test_report("common");
}
