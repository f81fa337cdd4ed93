/* Unit tests of bp_rng.h: the SplitMix64 finalizer, stream keys and the
 * uniform draw of a candidate, against the test vectors of docs/spec/rng.md. */
#include "bp_common.h"
#include "bp_rng.h"
#include "bp_test.h"

#include <stdlib.h>

static void test_mix64_known_values(void)
{
    CHECK(bp_mix64(0) == 0); /* spec §2: mix64(0) = 0 */
    /* SplitMix64 seeded with 0: its first outputs are mix64(k * GAMMA). */
    CHECK(bp_mix64(BP_GOLDEN_GAMMA) == 0xe220a8397b1dcdafULL);
    CHECK(bp_mix64(2 * BP_GOLDEN_GAMMA) == 0x6e789e6aa1b965f4ULL);
    CHECK(bp_mix64(12345) == 0xf36cf1164265dd51ULL);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_mix64_is_injective_on_a_sample(void)
{
    enum { N = 4096 };
    uint64_t *h = malloc(N * sizeof *h);
    for (uint64_t i = 0; i < N; i++)
        h[i] = bp_mix64(i * 0x10001ULL); /* nearby inputs */
    qsort(h, N, sizeof *h, compare_u64);
    int duplicates = 0;
    for (int i = 1; i < N; i++)
        duplicates += h[i] == h[i - 1];
    CHECK_EQ(duplicates, 0);
    free(h);
}

static void test_stream_key_spec_vectors(void)
{
    CHECK(bp_stream_key(0, 0) == 0xe220a8397b1dcdafULL);
    CHECK(bp_stream_key(42, 1) == 0xbad9e1944443cd98ULL);
    /* The formula of spec §3, and stream 0 is not the seed itself. */
    CHECK(bp_stream_key(42, 7) == bp_mix64(42 + BP_GOLDEN_GAMMA * (bp_mix64(7) + 1)));
    CHECK(bp_stream_key(42, 0) != bp_mix64(42));
    CHECK(bp_stream_key(1, 0) != bp_stream_key(0, 1));
    CHECK(bp_stream_key(0, 1) != bp_stream_key(0, 2));
    CHECK(bp_stream_key(5, 9) == bp_stream_key(5, 9));
}

static void test_uniform_spec_vectors(void)
{
    CHECK(bp_uniform(bp_stream_key(0, 0), 1, 1) == 0.83427300938200333);
    CHECK(bp_uniform(bp_stream_key(42, 1), 5, 3) == 0.50220534767535185);
    CHECK(bp_uniform(0, 0, 0) == 0.0); /* mix64(0) = 0: the one draw that is exactly 0 */
    uint64_t key = bp_stream_key(7, 3);
    uint64_t h = bp_mix64(key + BP_GOLDEN_GAMMA * ((100ULL << BP_RNG_LEN_BITS) | 17));
    CHECK(bp_uniform(key, 100, 17) == (double)(h >> 11) * 0x1.0p-53);
}

static void test_uniform_range_and_mean(void)
{
    uint64_t key = bp_stream_key(123, 0);
    double sum = 0.0, lo = 1.0, hi = 0.0;
    int n = 0, out_of_range = 0;
    for (uint64_t end = 1; end <= 2000; end++) {
        for (uint64_t length = 1; length <= 20 && length <= end; length++) {
            double u = bp_uniform(key, end, length);
            out_of_range += !(u >= 0.0 && u < 1.0);
            sum += u;
            lo = u < lo ? u : lo;
            hi = u > hi ? u : hi;
            n++;
        }
    }
    CHECK_EQ(out_of_range, 0);
    CHECK(fabs(sum / n - 0.5) < 0.01);
    CHECK(lo < 0.001 && hi > 0.999);
}

static void test_uniform_depends_on_every_input(void)
{
    uint64_t key = bp_stream_key(1, 2);
    double u = bp_uniform(key, 10, 3);
    CHECK(bp_uniform(key, 10, 3) == u); /* a pure function */
    CHECK(bp_uniform(key, 11, 3) != u);
    CHECK(bp_uniform(key, 10, 4) != u);
    CHECK(bp_uniform(key + 1, 10, 3) != u);
    /* The counter keeps (end, length) apart up to the longest piece. */
    CHECK(bp_uniform(key, 5, BP_MAX_PIECE_LEN) != bp_uniform(key, 6, 0));
}

static void test_walk_draws_equal_uniform(void)
{
    /* Keys, ends and lengths at the edges: 0, the counter's length field
     * filling up, ends near the 2^40 bound, keys that wrap mod 2^64. */
    const uint64_t keys[] = {0, 1, bp_stream_key(42, 3), ~0ULL, BP_GOLDEN_GAMMA};
    const uint64_t ends[] = {0, 1, 1000, (1ULL << 40) - 300};
    const uint64_t lengths[] = {0, 1, 7, BP_MAX_PIECE_LEN - 256};
    int mismatches = 0;
    for (size_t a = 0; a < sizeof keys / sizeof *keys; a++)
        for (size_t b = 0; b < sizeof ends / sizeof *ends; b++)
            for (size_t c = 0; c < sizeof lengths / sizeof *lengths; c++) {
                bp_walk_draws draws = bp_walk_draws_start(keys[a], ends[b], lengths[c]);
                for (uint64_t k = 0; k < 256; k++)
                    mismatches += bp_walk_draws_next(&draws) != bp_uniform(keys[a], ends[b] + k, lengths[c] + k);
            }
    CHECK_EQ(mismatches, 0);
}

int main(void)
{
    RUN(test_mix64_known_values);
    RUN(test_mix64_is_injective_on_a_sample);
    RUN(test_stream_key_spec_vectors);
    RUN(test_uniform_spec_vectors);
    RUN(test_uniform_range_and_mean);
    RUN(test_uniform_depends_on_every_input);
    RUN(test_walk_draws_equal_uniform);
    return bp_test_report("rng");
}
