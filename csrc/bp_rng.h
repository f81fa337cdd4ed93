/*
 * bp_rng.h: the counter-based random numbers of the samplers.
 *
 * A sampler needs one uniform draw per candidate piece. Instead of a stateful
 * generator we hash (stream key, end position, piece length): the draw for a
 * candidate is a pure function of where it is, so the result does not depend
 * on the order in which the segmenter visits candidates, on threads, or on
 * anything but the seed. The pure-Python reference segmenter
 * (tests/reference.py) computes the very same numbers, so C and Python
 * agree sample for sample. See docs/spec/rng.md.
 *
 * bp_mix64 is the SplitMix64 finalizer (a bijection on 64-bit words).
 */
#ifndef BP_RNG_H
#define BP_RNG_H

#include <stdint.h>

#define BP_GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL
/* Bits of the counter given to the piece length; longer pieces are refused
 * at model load (see bp_trie.h), so (end << 24 | length) is injective for
 * texts below 2^40 bytes. */
#define BP_RNG_LEN_BITS 24

static inline uint64_t bp_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The key of one independent stream: e.g. (user seed, document index). */
static inline uint64_t bp_stream_key(uint64_t seed, uint64_t stream)
{
    return bp_mix64(seed + BP_GOLDEN_GAMMA * (bp_mix64(stream) + 1));
}

/* The 53 high bits of h as a double in [0, 1). */
static inline double bp_unit_interval(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

/* A uniform double in [0, 1) for the candidate (end, length) of a stream. */
static inline double bp_uniform(uint64_t key, uint64_t end, uint64_t length)
{
    uint64_t counter = (end << BP_RNG_LEN_BITS) | length;
    return bp_unit_interval(bp_mix64(key + BP_GOLDEN_GAMMA * counter));
}

/*
 * The draws of one trie walk: the candidates (end, length), (end + 1,
 * length + 1), (end + 2, length + 2), ... of a stream, in that order. The
 * k-th bp_walk_draws_next equals bp_uniform(key, end + k, length + k)
 * bit for bit; it saves bp_uniform's multiplication of the counter, because
 * each step adds the same (1 << BP_RNG_LEN_BITS) + 1 to the counter (while
 * length + k stays below 2^BP_RNG_LEN_BITS, as for every piece), so the
 * hashed word advances by a constant mod 2^64. A value on the stack: no
 * state outlives the walk.
 */
typedef struct {
    uint64_t word; /* key + GAMMA * counter of the next candidate */
} bp_walk_draws;

#define BP_WALK_DRAWS_STEP (BP_GOLDEN_GAMMA * ((1ULL << BP_RNG_LEN_BITS) + 1))

static inline bp_walk_draws bp_walk_draws_start(uint64_t key, uint64_t end, uint64_t length)
{
    bp_walk_draws draws = {key + BP_GOLDEN_GAMMA * ((end << BP_RNG_LEN_BITS) | length)};
    return draws;
}

static inline double bp_walk_draws_next(bp_walk_draws *draws)
{
    const uint64_t h = bp_mix64(draws->word);
    draws->word += BP_WALK_DRAWS_STEP;
    return bp_unit_interval(h);
}

#endif
