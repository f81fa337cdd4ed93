/*
 * bp_test.h: the smallest test harness that does the job (no library).
 * CHECK records a failed condition with file:line and goes on; CHECK_EQ
 * compares integers and prints both; RUN names a test function;
 * bp_test_report prints one summary line and returns the exit status;
 * bp_test_random gives reproducible pseudo-random numbers.
 */
#ifndef BP_TEST_H
#define BP_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int bp_test_checks, bp_test_failures;
static const char *bp_test_current = "?";

#define BP_TEST_FAIL(...) (bp_test_failures++, fprintf(stderr, "%s:%d: [%s] ", __FILE__, __LINE__, bp_test_current), \
                           fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))
#define CHECK(cond) \
    do { bp_test_checks++; if (!(cond)) BP_TEST_FAIL("CHECK(%s) failed", #cond); } while (0)
/* Integers of any type up to 64 bits; compared (and printed) as intmax_t. */
#define CHECK_EQ(a, b) \
    do { intmax_t bp_a_ = (intmax_t)(a), bp_b_ = (intmax_t)(b); bp_test_checks++; \
         if (bp_a_ != bp_b_) BP_TEST_FAIL("CHECK_EQ(%s, %s) failed: %jd != %jd", #a, #b, bp_a_, bp_b_); } while (0)
/* Doubles within an absolute tolerance (equal infinities pass). */
#define CHECK_NEAR(a, b, tol) \
    do { double bp_a_ = (a), bp_b_ = (b); bp_test_checks++; \
         if (!(bp_a_ == bp_b_ || fabs(bp_a_ - bp_b_) <= (tol))) \
             BP_TEST_FAIL("CHECK_NEAR(%s, %s) failed: %.17g vs %.17g", #a, #b, bp_a_, bp_b_); } while (0)
#define RUN(test) (bp_test_current = #test, test())

/* xorshift64 (Marsaglia): the next number of the stream *state (never 0;
 * each test file seeds its own), for small reproducible random inputs. */
static inline uint64_t bp_test_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Prints "<name>: N checks, F failures" and returns 0 iff nothing failed. */
static inline int bp_test_report(const char *name)
{
    printf("%s: %d checks, %d failures\n", name, bp_test_checks, bp_test_failures);
    return bp_test_failures == 0 ? 0 : 1;
}

#endif
