/* Buffered counting by sorting (bp_ngrams_buffer, bp_ngrams_settle in
 * bp_ngram.h, csrc/bp_ngram_sort.c): against the hash-table counter, the
 * oracle, on random texts with zero bytes, chunks of every length, every
 * order, several partitions and buffer limits that force any number of
 * flushes into the tables. */
#include "bp_test_ngram.h"

static uint64_t rng = 0x9E6C63D0676A9A99ULL;

enum { TEXT_LEN = 2000, MAX_CHUNKS = 700 };

typedef struct {
    uint8_t text[TEXT_LEN];
    int64_t offsets[MAX_CHUNKS + 2];
    size_t num_chunks;
} random_corpus;

/* Bytes from a small alphabet with 0x00 and 0xFF (a zero byte must not read
 * as padding), cut into chunks of 0 to 20 bytes. */
static void make_corpus(random_corpus *c)
{
    static const uint8_t alphabet[] = {'a', 'b', 0x00, 0xFF, 'c', '\n'};
    for (int i = 0; i < TEXT_LEN; i++)
        c->text[i] = alphabet[bp_test_random(&rng) % sizeof alphabet];
    c->num_chunks = 0;
    c->offsets[0] = 0;
    int64_t at = 0;
    while (at < TEXT_LEN && c->num_chunks < MAX_CHUNKS) {
        at += (int64_t)(bp_test_random(&rng) % 21);
        if (at > TEXT_LEN || c->num_chunks == MAX_CHUNKS - 1)
            at = TEXT_LEN;
        c->offsets[++c->num_chunks] = at;
    }
}

/* A counter of the corpus in two calls per partition (buffered with `limit`
 * when limit > 0), partitions mapped by byte % parts. */
static bp_ngrams *count_corpus(const random_corpus *c, int order, int parts, size_t limit)
{
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(order, parts, &g), BP_OK);
    if (!g)
        return NULL;
    if (limit)
        CHECK_EQ(bp_ngrams_buffer(g, limit), BP_OK);
    size_t half = c->num_chunks / 2;
    for (int p = 0; p < parts; p++) {
        CHECK_EQ(bp_ngrams_count(g, p, c->text, c->offsets, half), BP_OK);
        CHECK_EQ(bp_ngrams_count(g, p, c->text, c->offsets + half, c->num_chunks - half), BP_OK);
    }
    return g;
}

/* Every n-gram of the corpus: the same count in both, except that `settled`
 * lacks those longer than a byte counted fewer than min_count times when
 * `dropped`; and the distinct n-grams are the oracle's. */
static void check_counts(const random_corpus *c, const bp_ngrams *oracle, const bp_ngrams *settled, int order,
                         uint64_t min_count, int dropped)
{
    int wrong = 0;
    for (size_t k = 0; k < c->num_chunks; k++) {
        for (int64_t i = c->offsets[k]; i < c->offsets[k + 1]; i++) {
            for (int j = 1; j <= order && i + j <= c->offsets[k + 1]; j++) {
                uint64_t want = bp_ngrams_get_count(oracle, c->text + i, j);
                uint64_t got = bp_ngrams_get_count(settled, c->text + i, j);
                if (dropped && j > 1 && want < min_count)
                    want = 0;
                wrong += want != got;
            }
        }
    }
    if (wrong)
        fprintf(stderr, "order %d, min_count %d, dropped %d: ", order, (int)min_count, dropped);
    CHECK_EQ(wrong, 0);
    for (int j = 1; j <= order; j++)
        CHECK_EQ(bp_ngrams_distinct(settled, j), bp_ngrams_size(oracle, j));
    CHECK_EQ(bp_ngrams_positions(settled), bp_ngrams_positions(oracle));
}

static void test_sorting_counts_as_the_tables_do(void)
{
    random_corpus c;
    const size_t limits[] = {1u << 30, 1, 7, 64, 300}; /* all, or too few for any partition */
    for (int round = 0; round < 3; round++) {
        make_corpus(&c);
        for (int order = 1; order <= BP_MAX_ORDER; order++) {
            for (int parts = 1; parts <= 3; parts += 2) {
                bp_ngrams *oracle = count_corpus(&c, order, parts, 0);
                for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
                    const uint64_t min_count = 1 + (uint64_t)(round + l) % 3;
                    bp_ngrams *g = count_corpus(&c, order, parts, limits[l]);
                    CHECK_EQ(bp_ngrams_get_count(g, U8("a"), 1), 0); /* not counted before settling */
                    for (int p = 0; g && p < parts; p++)
                        CHECK_EQ(bp_ngrams_settle(g, p, min_count), BP_OK);
                    /* The first limit holds the whole corpus: the rare n-grams are dropped. */
                    if (g && oracle)
                        check_counts(&c, oracle, g, order, min_count, l == 0);
                    bp_ngrams_free(g);
                }
                bp_ngrams_free(oracle);
            }
        }
    }
}

static void test_settled_models_finish_alike(void)
{
    random_corpus c;
    make_corpus(&c);
    for (int order = 1; order <= BP_MAX_ORDER; order++) {
        for (uint64_t min_count = 1; min_count <= 4; min_count++) {
            bp_ngrams *oracle = count_corpus(&c, order, 2, 0);
            bp_ngrams *whole = count_corpus(&c, order, 2, 1u << 20);
            bp_ngrams *flushed = count_corpus(&c, order, 2, 50);
            CHECK_EQ(bp_ngrams_finish(oracle, min_count), BP_OK);
            CHECK_EQ(bp_ngrams_finish(whole, min_count), BP_OK); /* settles first */
            CHECK_EQ(bp_ngrams_finish(flushed, min_count), BP_OK);
            int differ = 0;
            for (size_t k = 0; k < c.num_chunks; k++) {
                for (int64_t i = c.offsets[k]; i < c.offsets[k + 1]; i++) {
                    for (int j = 1; j <= order && i + j <= c.offsets[k + 1]; j++) {
                        double want = bp_ngrams_logprob(oracle, c.text + i, j);
                        differ += bp_ngrams_logprob(whole, c.text + i, j) != want;
                        differ += bp_ngrams_logprob(flushed, c.text + i, j) != want;
                    }
                }
            }
            CHECK_EQ(differ, 0);
            for (int j = 1; j <= order; j++) {
                CHECK_EQ(bp_ngrams_size(whole, j), bp_ngrams_size(oracle, j));
                CHECK_EQ(bp_ngrams_size(flushed, j), bp_ngrams_size(oracle, j));
            }
            bp_ngrams_free(oracle);
            bp_ngrams_free(whole);
            bp_ngrams_free(flushed);
        }
    }
}

static void test_buffer_lifecycle_errors(void)
{
    random_corpus c;
    make_corpus(&c);
    bp_ngrams *g = NULL;
    CHECK_EQ(bp_ngrams_new(3, 2, &g), BP_OK);
    CHECK_EQ(bp_ngrams_settle(g, 0, 1), BP_ERR_INVALID); /* not buffered */
    CHECK_EQ(bp_ngrams_buffer(g, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_buffer(NULL, 10), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_buffer(g, 1u << 20), BP_OK); /* the whole corpus */
    CHECK_EQ(bp_ngrams_buffer(g, 10), BP_ERR_INVALID); /* twice */
    CHECK_EQ(bp_ngrams_count(g, 0, c.text, c.offsets, c.num_chunks), BP_OK);
    CHECK(bp_ngrams_memory(g) > 0);
    CHECK(bp_ngrams_growth_reserve(g) > 0);
    size_t added = 0, n = 0;
    uint64_t key = 'a', count = 1;
    /* Nothing reads the counts of a partition before it is settled. */
    CHECK_EQ(bp_ngrams_add_missing_bytes(g, 0, &added), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_large_counts(g, 0, 1, 1, NULL, 0, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 1, 4, NULL, NULL, 0, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish_partition(g, 0, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_export_counts(g, 0, 1, &key, &count), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_add_counts(g, 0, 1, &key, &count, 1), BP_ERR_INVALID); /* never, buffered */
    CHECK_EQ(bp_ngrams_settle(g, 0, 0), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_settle(g, 2, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_settle(g, -1, 1), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_settle(g, 0, 3), BP_OK);
    CHECK_EQ(bp_ngrams_settle(g, 0, 3), BP_ERR_INVALID); /* twice */
    CHECK_EQ(bp_ngrams_count(g, 0, c.text, c.offsets, c.num_chunks), BP_ERR_INVALID); /* after settling */
    CHECK(bp_ngrams_buffer_peak(g) > 0);
    /* Settled with 3: finishing (or reading) with less would lack n-grams. */
    CHECK_EQ(bp_ngrams_add_missing_bytes(g, 0, &added), BP_OK);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 2, 4, NULL, NULL, 0, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_count_histogram(g, 0, 2, 3, 4, NULL, NULL, 0, &n), BP_OK);
    CHECK_EQ(bp_ngrams_large_counts(g, 0, 2, 1, NULL, 0, &n), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish_partition(g, 0, 2), BP_ERR_INVALID);
    CHECK_EQ(bp_ngrams_finish_partition(g, 0, 4), BP_OK);
    bp_ngrams_free(g); /* partition 1 still buffered: freed too */

    /* Buffering only before counting. */
    CHECK_EQ(bp_ngrams_new(3, 1, &g), BP_OK);
    CHECK_EQ(bp_ngrams_count(g, 0, c.text, c.offsets, c.num_chunks), BP_OK);
    CHECK_EQ(bp_ngrams_buffer(g, 10), BP_ERR_INVALID);
    bp_ngrams_free(g);
}

int main(void)
{
    RUN(test_sorting_counts_as_the_tables_do);
    RUN(test_settled_models_finish_alike);
    RUN(test_buffer_lifecycle_errors);
    return bp_test_report("test_ngram_sort");
}
