/*
 * fuzz_driver.h: what the fuzz harnesses of fuzz/ share. CHECK aborts on a
 * broken property (a crash is what a fuzzer reports). Without libFuzzer
 * (BP_LIBFUZZER undefined), the standalone driver:
 *
 *   ./harness [--seconds S] [--iterations N] [FILE...]
 *
 * replays the FILEs (prints "replayed N inputs"), or else feeds the
 * harness's random inputs, drawn from fuzz_random with a fixed seed, for S
 * seconds of CPU time (default 10) or N inputs. A harness defines
 * LLVMFuzzerTestOneInput and, for the driver, a random_input function, and
 * its main calls fuzz_drive and prints its own summary.
 */
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef BP_LIBFUZZER
static uint64_t fuzz_rng_state;

/* SplitMix64: the driver's random stream, seeded by fuzz_drive. */
static inline uint64_t fuzz_random(void)
{
    uint64_t z = (fuzz_rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/*
 * Runs the driver on argv: replays every FILE given (at most 1 MiB of each)
 * and returns -1; else seeds fuzz_random with `seed` and runs
 * random_input(buf, capacity) inputs (it returns their length) through
 * LLVMFuzzerTestOneInput for --seconds or --iterations, returning how many.
 */
static inline long fuzz_drive(int argc, char **argv, uint64_t seed, uint8_t *buf, size_t capacity,
                              size_t (*random_input)(uint8_t *buf, size_t capacity))
{
    double seconds = 10.0;
    long iterations = -1, done = 0;
    int files = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
            seconds = atof(argv[++a]);
        } else if (!strcmp(argv[a], "--iterations") && a + 1 < argc) {
            iterations = atol(argv[++a]);
        } else { /* replay a file */
            FILE *f = fopen(argv[a], "rb");
            CHECK(f);
            static uint8_t file_buf[1 << 20];
            size_t n = fread(file_buf, 1, sizeof file_buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(file_buf, n);
            files++;
        }
    }
    if (files) {
        printf("replayed %d inputs\n", files);
        return -1;
    }
    fuzz_rng_state = seed;
    clock_t start = clock();
    while (iterations < 0 ? (double)(clock() - start) / CLOCKS_PER_SEC < seconds : done < iterations) {
        size_t len = random_input(buf, capacity);
        LLVMFuzzerTestOneInput(buf, len);
        done++;
    }
    return done;
}
#endif

#endif
