#include "bp_common.h"

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
