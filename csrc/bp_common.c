#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* madvise, MADV_HUGEPAGE */
#endif
#include "bp_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

const char *bp_strerror(int code)
{
    switch (code) {
    case BP_OK: return "success";
    case BP_ERR_NOMEM: return "out of memory";
    case BP_ERR_INVALID: return "invalid argument";
    case BP_ERR_DUPLICATE: return "duplicate piece";
    case BP_ERR_TOO_LARGE: return "size too large";
    default: return "unknown error";
    }
}

size_t bp_grow_capacity(size_t current, size_t need, size_t initial)
{
    size_t cap = current ? current : initial ? initial : 1;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return 0;
        cap *= 2;
    }
    return cap;
}

int bp_resize_array(void **array, size_t count, size_t unit)
{
    if (!array || count == 0 || unit == 0)
        return BP_ERR_INVALID;
    if (count > SIZE_MAX / unit)
        return BP_ERR_NOMEM;
    void *resized = realloc(*array, count * unit);
    if (!resized)
        return BP_ERR_NOMEM;
    *array = resized;
    return BP_OK;
}

int bp_reserve_grow(void **array, size_t *capacity, size_t need, size_t unit, size_t initial)
{
    if (!array || !capacity || unit == 0)
        return BP_ERR_INVALID;
    if (need <= *capacity)
        return BP_OK;
    size_t grown = bp_grow_capacity(*capacity, need, initial);
    int rc = grown ? bp_resize_array(array, grown, unit) : BP_ERR_NOMEM;
    if (rc == BP_OK)
        *capacity = grown;
    return rc;
}

void *bp_table_alloc(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= BP_HUGE_PAGE) {
        size_t rounded = (bytes + BP_HUGE_PAGE - 1) & ~(BP_HUGE_PAGE - 1);
        void *p = NULL;
        if (rounded < bytes || posix_memalign(&p, BP_HUGE_PAGE, rounded) != 0)
            return NULL;
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: refused, the table still works */
        memset(p, 0, bytes);
        return p;
    }
#endif
    return calloc(1, bytes ? bytes : 1);
}
