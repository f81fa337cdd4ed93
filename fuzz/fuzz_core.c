/*
 * fuzz_core.c: a fuzz target for the whole C core (no Python involved).
 *
 * One input drives: building a trie from arbitrary pieces (valid or not),
 * the three segmentation modes, n-best, token counting, alternative
 * lengths, and the trainer's n-gram counting, pruning and BNLM
 * segmentation. Any crash, leak, out-of-bounds access or undefined
 * behaviour is a bug, and so is a result that is not a segmentation of its
 * text; other wrong answers are caught by the Python tests, which compare
 * with reference implementations.
 *
 * Input: flags, alpha, k, order, then the pieces and the text (see
 * run_segmenters). Flag bits: 0x01 no single bytes added; 0x06 partitions;
 * 0x18 min count; 0x20 characters as units; 0x40 scores overwritten after
 * building with extreme values (+-1e308, +-inf, NaN, ...: what
 * bp_trie_build refuses, as hostile memory could hold them; the segmenters
 * must still return segmentations); 0x80 with 0x40: on every unit of the
 * trie, also where no piece ends.
 *
 * libFuzzer (deep, coverage-guided; clang):
 *   clang -g -O1 -DBP_LIBFUZZER -fsanitize=fuzzer,address,undefined -Icsrc csrc/bp_*.c fuzz/fuzz_core.c -lm -o fuzz_core
 *   ./fuzz_core -max_total_time=600 -max_len=4096
 * Without libFuzzer (any C compiler; what CI runs, bounded):
 *   gcc -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Icsrc csrc/bp_*.c fuzz/fuzz_core.c -lm -o fuzz_core
 *   ./fuzz_core [--seconds S] [--iterations N] [FILE...]
 * The driver (fuzz_driver.h) then feeds random inputs (random bytes,
 * UTF-8-like text with newlines, repeated patterns) from a fixed seed, or
 * replays FILEs.
 * fuzz/regressions/fuzz_core/ holds inputs that once broke the core (the
 * suite replays them first): pieces with scores of -1e308, +1e308, NaN and
 * mixtures of extremes written in after building (flag 0x40), on which
 * the segmenters read back-pointers they never set.
 */
#include "bp_bnlm.h"
#include "bp_nbest.h"
#include "bp_ngram.h"
#include "bp_pieces.h"
#include "bp_retokenize.h"
#include "bp_segmenter.h"
#include "bp_trie.h"
#include "fuzz_driver.h"

#include <float.h>
#include <math.h>

/* 1 iff ids[0 .. count) are pieces (id 3 + i is piece i of bytes/offsets,
 * n pieces) that spell text[0 .. len) exactly. */
static int spells(const uint8_t *bytes, const int64_t *offsets, size_t n, const int32_t *ids, size_t count,
                  const uint8_t *text, size_t len)
{
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        if (ids[i] < 3 || (size_t)ids[i] - 3 >= n)
            return 0;
        const size_t p = (size_t)ids[i] - 3, piece_len = (size_t)(offsets[p + 1] - offsets[p]);
        if (piece_len > len - at || memcmp(bytes + offsets[p], text + at, piece_len) != 0)
            return 0;
        at += piece_len;
    }
    return at == len;
}

/* Writes extreme scores into the trie (flags 0x40; 0x80: every unit), chosen
 * by the input's bytes. */
static void overwrite_scores(bp_trie *trie, const uint8_t *data, size_t size, uint8_t flags)
{
    static const double extremes[] = {-1e308, 1e308, -INFINITY, INFINITY, NAN,  -DBL_MAX, DBL_MAX, -1.0,
                                      0.0,    -0.0,  -DBL_MIN,  1e9,      -1e9, -1e300,   1e300,   -5e307};
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < size && i < 64; i++)
        h = (h ^ data[i]) * 0x100000001b3ULL;
    /* Half the time one value everywhere (every piece at -1e308, ...), else a mixture. */
    const int mixture = (h >> 60) & 1;
    const double everywhere = extremes[(h >> 56) % 16];
    for (size_t u = 0; u < trie->num_units; u++) {
        if (!(flags & 0x80) && trie->info[u].length == 0)
            continue;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        trie->info[u].score = mixture ? extremes[h % 16] : everywhere;
    }
}

/* Pieces: the input's head split on 0x00 (plus, unless the flags say not,
 * the 256 single bytes); text: the tail after the first 0x00 0x00. */
static void run_segmenters(const uint8_t *data, size_t size, uint8_t flags, double alpha, size_t k)
{
    const uint8_t *split = NULL;
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] == 0 && data[i + 1] == 0) {
            split = data + i;
            break;
        }
    }
    size_t head = split ? (size_t)(split - data) : size / 2;
    const uint8_t *text = split ? split + 2 : data + head;
    size_t text_len = size - (size_t)(text - data);

    /* Pieces buffer: the single bytes first, then the head's pieces. */
    size_t max_pieces = 256 + head + 1;
    uint8_t *bytes = malloc(256 + head + 1);
    int64_t *offsets = malloc((max_pieces + 1) * sizeof *offsets);
    double *scores = malloc(max_pieces * sizeof *scores);
    int32_t *ids = malloc(max_pieces * sizeof *ids);
    CHECK(bytes && offsets && scores && ids);
    size_t n = 0, at = 0;
    offsets[0] = 0;
    int with_bytes = !(flags & 1);
    if (with_bytes) {
        for (int b = 0; b < 256; b++) {
            bytes[at++] = (uint8_t)b;
            offsets[++n] = (int64_t)at;
        }
    }
    size_t start = 0;
    for (size_t i = 0; i <= head; i++) {
        if (i == head || data[i] == 0) {
            if (i > start + 1 || (!with_bytes && i > start)) { /* skip single bytes already added */
                memcpy(bytes + at, data + start, i - start);
                at += i - start;
                offsets[++n] = (int64_t)at;
            }
            start = i + 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        scores[i] = -1.0 - (double)((bytes[offsets[i]] * 31u + (unsigned)i) % 97) / 7.0;
        ids[i] = (int32_t)(3 + i);
    }

    bp_trie *trie = NULL;
    int rc = n ? bp_trie_build(bytes, offsets, n, scores, ids, &trie) : BP_ERR_INVALID;
    if (rc == BP_OK) {
        const int hostile = (flags & 0x40) != 0;
        if (hostile)
            overwrite_scores(trie, data, size, flags);
        int32_t *out = malloc((text_len + 2) * sizeof *out * (k + 1));
        CHECK(out);
        size_t count = 0;
        CHECK(bp_encode(trie, text, text_len, BP_MODE_BEST, -1.0, 0, out, &count) == BP_OK);
        CHECK(count <= text_len);
        CHECK(spells(bytes, offsets, n, out, count, text, text_len)); /* the pieces tile the text */
        CHECK(bp_encode(trie, text, text_len, BP_MODE_SAMPLE_PERFECT, alpha, 42, out, &count) == BP_OK);
        CHECK(spells(bytes, offsets, n, out, count, text, text_len));
        CHECK(bp_encode(trie, text, text_len, BP_MODE_SAMPLE_VITERBI, alpha, 42, out, &count) == BP_OK);
        CHECK(spells(bytes, offsets, n, out, count, text, text_len));
        /* The largest alpha: products of alpha and a score overflow first there. */
        CHECK(bp_encode(trie, text, text_len, BP_MODE_SAMPLE_PERFECT, BP_MAX_ALPHA, 7, out, &count) == BP_OK);
        CHECK(spells(bytes, offsets, n, out, count, text, text_len));
        CHECK(bp_encode(trie, text, text_len, BP_MODE_SAMPLE_VITERBI, BP_MAX_ALPHA, 7, out, &count) == BP_OK);
        CHECK(spells(bytes, offsets, n, out, count, text, text_len));
        CHECK(bp_encode(trie, text, text_len, BP_MODE_SAMPLE_PERFECT, -1.0, 42, out, &count) == BP_ERR_INVALID);
        CHECK(bp_encode(trie, text, text_len, BP_MODE_SAMPLE_PERFECT, NAN, 42, out, &count) == BP_ERR_INVALID);

        /* A batch of the text's halves, with BOS/EOS. */
        const uint8_t *texts[2] = {text, text + text_len / 2};
        size_t lengths[2] = {text_len / 2, text_len - text_len / 2};
        uint64_t keys[2] = {1, 2};
        int64_t out_offsets[3];
        /* Each half's ids, between BOS and EOS, spell it. */
#define CHECK_BATCH_SPELLS()                                                                                 \
    for (int t = 0; t < 2; t++)                                                                              \
        CHECK(out_offsets[t + 1] - out_offsets[t] >= 2 &&                                                    \
              spells(bytes, offsets, n, out + out_offsets[t] + 1, (size_t)(out_offsets[t + 1] - out_offsets[t] - 2), \
                     texts[t], lengths[t]))
        for (int m = 0; m <= 2; m++) {
            CHECK(bp_encode_batch(trie, texts, lengths, 2, (bp_mode)m, alpha, NULL, keys, 1, 1, out, out_offsets) ==
                  BP_OK);
            CHECK(out_offsets[2] <= (int64_t)text_len + 4);
            CHECK_BATCH_SPELLS();
        }
        /* The same batch in linear space, where the weights allow it. */
        double *piece_weights = malloc(trie->num_units * sizeof *piece_weights);
        CHECK(piece_weights);
        if (bp_sampling_weights(trie, alpha, piece_weights) == BP_OK) {
            CHECK(bp_encode_batch(trie, texts, lengths, 2, BP_MODE_SAMPLE_PERFECT, alpha, piece_weights, keys, 1, 1,
                                  out, out_offsets) == BP_OK);
            CHECK(out_offsets[2] <= (int64_t)text_len + 4);
            CHECK_BATCH_SPELLS();
        }
        free(piece_weights);
#undef CHECK_BATCH_SPELLS

        if (text_len <= 512) { /* n-best memory is k * len */
            int64_t nb_offsets[17];
            double nb_scores[16];
            size_t found = 0;
            CHECK(bp_nbest(trie, text, text_len, k, out, nb_offsets, nb_scores, &found) == BP_OK);
            CHECK(found >= 1 && found <= k);
            for (size_t r = 0; r < found; r++) {
                /* Ordered only with scores that bp_trie_build accepts. */
                CHECK(hostile || r == 0 || nb_scores[r] <= nb_scores[r - 1]);
                CHECK(spells(bytes, offsets, n, out + nb_offsets[r], (size_t)(nb_offsets[r + 1] - nb_offsets[r]), text,
                             text_len));
            }
        }
        uint64_t weights[2] = {3, 5};
        int64_t text_offsets[3] = {0, (int64_t)(text_len / 2), (int64_t)text_len};
        uint64_t *totals = calloc(n + 3, sizeof *totals);
        CHECK(totals);
        CHECK(bp_count_tokens(trie, text, text_offsets, 2, weights, totals, n + 3) == BP_OK);
        uint64_t counted = 0; /* the counted pieces cover each half, weighted */
        for (size_t i = 0; i < n; i++)
            counted += totals[i + 3] * (uint64_t)(offsets[i + 1] - offsets[i]);
        CHECK(counted == 3 * (text_len / 2) + 5 * (text_len - text_len / 2));
        CHECK(bp_count_tokens(trie, text, text_offsets, 2, weights, totals, 2) == BP_ERR_INVALID);
        free(totals);
        /* Alternative lengths of each half and of the whole text: a token
         * count of a segmentation other than the text itself. */
        for (int whole = 0; whole <= 1; whole++) {
            int64_t alt_offsets[3] = {0, whole ? (int64_t)text_len : (int64_t)(text_len / 2), (int64_t)text_len};
            int32_t alternatives[2] = {-1, -1};
            const size_t num_alt = whole ? 1 : 2;
            CHECK(bp_alternative_lengths(trie, text, alt_offsets, num_alt, alternatives) == BP_OK);
            for (size_t t = 0; t < num_alt; t++) {
                const int64_t len = alt_offsets[t + 1] - alt_offsets[t];
                CHECK(len < 2 ? alternatives[t] == 0 : alternatives[t] >= 2 && alternatives[t] <= len);
            }
        }
        free(out);
        bp_trie_free(trie);
    } else {
        CHECK(rc == BP_ERR_INVALID || rc == BP_ERR_DUPLICATE || rc == BP_ERR_TOO_LARGE);
    }
    free(bytes);
    free(offsets);
    free(scores);
    free(ids);
}

static void run_trainer(const uint8_t *text, size_t len, int order, int partitions, uint64_t min_count, int unicode)
{
    bp_ngrams *lm = NULL;
    CHECK(bp_ngrams_new(order, partitions, &lm) == BP_OK && lm);
    /* chunks: cut the text at every '\n' run, as the trainer does */
    int64_t *offsets = malloc((len + 2) * sizeof *offsets);
    CHECK(offsets);
    size_t chunks = 0;
    offsets[0] = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && (i + 1 == len || text[i + 1] != '\n'))
            offsets[++chunks] = (int64_t)(i + 1);
    if (offsets[chunks] != (int64_t)len)
        offsets[++chunks] = (int64_t)len;
    uint64_t histogram[256] = {0};
    for (size_t i = 0; i < len; i++)
        histogram[text[i]]++;
    CHECK(bp_ngrams_balance(lm, histogram) == BP_OK);
    for (int p = 0; p < partitions; p++)
        CHECK(bp_ngrams_count(lm, p, text, offsets, chunks) == BP_OK);
    CHECK(bp_ngrams_get_count(lm, text, 0) == len);
    CHECK(bp_ngrams_balance(lm, histogram) == BP_ERR_INVALID); /* counting has started */
    CHECK(bp_ngrams_finish(lm, min_count) == BP_OK);
    CHECK(bp_ngrams_finish(lm, min_count) == BP_ERR_INVALID);
    bp_piece_counts *pieces = NULL;
    CHECK(bp_piece_counts_new(&pieces) == BP_OK && pieces);
    CHECK(bp_bnlm_count_pieces(lm, unicode, text, offsets, NULL, chunks, pieces) == BP_OK);
    CHECK(bp_piece_counts_total_bytes(pieces) <= len);
    bp_piece_counts *merged = NULL;
    CHECK(bp_piece_counts_new(&merged) == BP_OK && bp_piece_counts_merge(merged, pieces) == BP_OK);
    CHECK(bp_piece_counts_size(merged) == bp_piece_counts_size(pieces));
    size_t size = bp_piece_counts_size(merged);
    uint8_t *data = malloc(bp_piece_counts_total_bytes(merged) + 1);
    int64_t *offs = malloc((size + 1) * sizeof *offs);
    uint64_t *counts = malloc((size + 1) * sizeof *counts);
    CHECK(data && offs && counts);
    bp_piece_counts_export(merged, data, offs, counts);
    uint64_t total = 0;
    for (size_t i = 0; i < size; i++)
        total += counts[i] * (uint64_t)(offs[i + 1] - offs[i]);
    CHECK(total == len); /* the pieces tile the corpus */
    free(data);
    free(offs);
    free(counts);
    bp_piece_counts_free(merged);
    bp_piece_counts_free(pieces);
    free(offsets);
    bp_ngrams_free(lm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t flags = data[0];
    double alpha = (double)data[1] / 16.0; /* 0 .. 16 */
    size_t k = 1 + data[2] % 16;
    int order = 1 + data[3] % 8;
    run_segmenters(data + 4, size - 4, flags, alpha, k);
    run_trainer(data + 4, size - 4, order, 1 + (flags >> 1) % 4, 1 + (flags >> 3) % 3, flags & 0x20);
    return 0;
}

#ifndef BP_LIBFUZZER
/* Random inputs of three kinds: raw bytes, text-like bytes, repetitions. */
static size_t random_input(uint8_t *buf, size_t cap)
{
    size_t len = 4 + fuzz_random() % (cap - 4);
    if (fuzz_random() % 4 == 0)
        len = 4 + fuzz_random() % 64;
    for (size_t i = 0; i < 4; i++)
        buf[i] = (uint8_t)fuzz_random();
    static const char alphabet[] = "ab \n\n\x00\xe4\xb8\xad\xe6\x96\x87\x80\xbf\xff";
    int kind = (int)(fuzz_random() % 3);
    size_t period = 1 + fuzz_random() % 7;
    for (size_t i = 4; i < len; i++) {
        if (kind == 0)
            buf[i] = (uint8_t)fuzz_random();
        else if (kind == 1)
            buf[i] = (uint8_t)alphabet[fuzz_random() % (sizeof alphabet - 1)];
        else
            buf[i] = i >= 4 + period ? buf[i - period] : (uint8_t)alphabet[fuzz_random() % (sizeof alphabet - 1)];
    }
    return len;
}

int main(int argc, char **argv)
{
    static uint8_t buf[4096];
    const long done = fuzz_drive(argc, argv, 0x9e3779b97f4a7c15ULL, buf, sizeof buf, random_input);
    if (done >= 0)
        printf("fuzzed %ld inputs without a failure\n", done);
    return 0;
}
#endif
