/* Unit tests of bp_best.h: BP_MODE_BEST's rule (the empty score, which
 * candidate a position takes, the score it keeps), on every pair of
 * ordinary and extreme scores, and on sequences of candidates. */
#include "bp_best.h"
#include "bp_common.h"
#include "bp_test.h"

#include <float.h>

static const double VALUES[] = {-INFINITY, -DBL_MAX, -1e308, -BP_MAX_ABS_SCORE, -1.5, -0.0, 0.0,
                                DBL_MIN,   1.5,      1e308,  DBL_MAX,           INFINITY, NAN};
#define NUM_VALUES (sizeof VALUES / sizeof VALUES[0])

/* 1 iff a and b are the same value (NaN equals NaN; -0.0 equals 0.0). */
static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static void test_an_empty_position_takes_any_first_candidate(void)
{
    CHECK(isnan(bp_best_empty()));
    int refused = 0, not_kept = 0;
    for (size_t i = 0; i < NUM_VALUES; i++) {
        refused += !bp_best_takes(VALUES[i], bp_best_empty()); /* NaN and -inf included */
        not_kept += !same(bp_best_kept(VALUES[i], bp_best_empty()), VALUES[i]);
    }
    CHECK_EQ(refused, 0);
    CHECK_EQ(not_kept, 0);
}

/* Between two scores that are not NaN the rule is the plain x > y: a tie
 * keeps the earlier candidate. A NaN candidate always takes. The kept score
 * is the taken one. */
static void test_takes_only_strictly_better_and_keeps_the_winner(void)
{
    int wrong_takes = 0, wrong_kept = 0;
    for (size_t i = 0; i < NUM_VALUES; i++) {
        for (size_t j = 0; j < NUM_VALUES; j++) {
            const double x = VALUES[i], y = VALUES[j];
            const int takes = bp_best_takes(x, y);
            wrong_takes += isnan(x) || isnan(y) ? !takes : takes != (x > y);
            wrong_kept += !same(bp_best_kept(x, y), takes ? x : y);
        }
    }
    CHECK_EQ(wrong_takes, 0);
    CHECK_EQ(wrong_kept, 0);
    CHECK(!bp_best_takes(1.5, 1.5));
    CHECK(!bp_best_takes(-INFINITY, -INFINITY));
    CHECK(!bp_best_takes(0.0, -0.0));
    CHECK(bp_best_takes(NAN, 1.5));
}

/* The candidates of a position, longest first, folded as the Viterbi does:
 * which one the position ends with. */
static int winner(const double *scores, int n)
{
    double y = bp_best_empty();
    int chosen = -1;
    for (int k = 0; k < n; k++) {
        if (bp_best_takes(scores[k], y))
            chosen = k;
        y = bp_best_kept(scores[k], y);
    }
    return chosen;
}

static void test_the_first_of_equal_candidates_stays(void)
{
    const double ties[] = {-3.0, -3.0, -3.0};
    CHECK_EQ(winner(ties, 3), 0);
    const double later_best[] = {-5.0, -2.0, -2.0, -4.0};
    CHECK_EQ(winner(later_best, 4), 1);
    /* A node that ends no piece (-inf) comes first: any piece then beats it. */
    const double after_no_piece[] = {-INFINITY, -7.0, -7.0};
    CHECK_EQ(winner(after_no_piece, 3), 1);
    /* Every sum overflowed: the first candidate still sets the choice. */
    const double all_minus_inf[] = {-INFINITY, -INFINITY};
    CHECK_EQ(winner(all_minus_inf, 2), 0);
    const double all_nan[] = {NAN, NAN, NAN};
    CHECK_EQ(winner(all_nan, 3), 2); /* NaN takes, and after it everything does */
    CHECK_EQ(winner(ties, 0), -1);
}

int main(void)
{
    RUN(test_an_empty_position_takes_any_first_candidate);
    RUN(test_takes_only_strictly_better_and_keeps_the_winner);
    RUN(test_the_first_of_equal_candidates_stays);
    return bp_test_report("best");
}
