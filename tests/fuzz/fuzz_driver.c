/* A deterministic, dependency-free mutation driver for fuzz_model.c (AFL-style havoc:
 * bit flips, byte sets, interesting 8/16/32-bit values, block copies and truncation) for
 * compilers without libFuzzer. Seeds are .edgec files given on the command line.
 *
 *   fuzz_driver ITERATIONS SEED_FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static uint8_t *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (uint8_t *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = 0;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void mutate(uint8_t *b, size_t *size) {
    static const int32_t interesting[] = {0, 1, -1, 63, 64, 127, 128, 255, 256, 0x7fff, 0x8000,
                                          0xffff, 0x10000, 0x7fffffff, (int32_t)0x80000000u, 16, 32};
    int k, rounds = 1 + (int)(rnd() % 4);
    for (k = 0; k < rounds && *size; ++k) {
        size_t pos = rnd() % *size;
        switch (rnd() % 6) {
        case 0: b[pos] ^= (uint8_t)(1u << (rnd() % 8)); break;
        case 1: b[pos] = (uint8_t)rnd(); break;
        case 2:
            if (pos + 4 <= *size) {
                int32_t v = interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))];
                memcpy(b + pos, &v, 4);
            }
            break;
        case 3:
            if (pos + 2 <= *size) {
                uint16_t v = (uint16_t)interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))];
                memcpy(b + pos, &v, 2);
            }
            break;
        case 4: {
            size_t src = rnd() % *size, len = 1 + rnd() % 32;
            if (src + len <= *size && pos + len <= *size) memmove(b + pos, b + src, len);
            break;
        }
        default:
            if (rnd() % 8 == 0) *size = pos; /* truncation, rarely */
            break;
        }
    }
}

int main(int argc, char **argv) {
    long iterations, i;
    int s, nseeds = argc - 2;
    uint8_t **seeds;
    size_t *sizes, max = 0;
    uint8_t *work;
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_driver ITERATIONS SEED.edgec...\n");
        return 2;
    }
    iterations = atol(argv[1]);
    seeds = (uint8_t **)calloc((size_t)nseeds, sizeof(*seeds));
    sizes = (size_t *)calloc((size_t)nseeds, sizeof(*sizes));
    for (s = 0; s < nseeds; ++s) {
        seeds[s] = read_all(argv[s + 2], &sizes[s]);
        if (!seeds[s]) {
            fprintf(stderr, "cannot read %s\n", argv[s + 2]);
            return 2;
        }
        if (sizes[s] > max) max = sizes[s];
        LLVMFuzzerTestOneInput(seeds[s], sizes[s]); /* the seed itself */
    }
    work = (uint8_t *)malloc(max + 1);
    for (i = 0; i < iterations; ++i) {
        size_t size;
        s = (int)(rnd() % (uint32_t)nseeds);
        size = sizes[s];
        memcpy(work, seeds[s], size);
        mutate(work, &size);
        LLVMFuzzerTestOneInput(work, size);
    }
    printf("fuzz_driver: %ld mutated inputs from %d seeds, no crash\n", iterations, nseeds);
    for (s = 0; s < nseeds; ++s) free(seeds[s]);
    free(seeds);
    free(sizes);
    free(work);
    return 0;
}
