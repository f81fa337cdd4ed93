#include "bp_common.h"

#include <stdint.h>

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
