/* SIMD LOOKUP (contract in lookup_simd.h). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "lookup_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EDGEC_AVX2 __attribute__((target("avx2")))

int edgec_lookup_simd(void) {
    __builtin_cpu_init();
    return !edgec_ops_forced_reference() && __builtin_cpu_supports("avx2");
}

void edgec_lookup_pack(uint8_t *dst, const uint8_t *table) {
    int k, i;
    for (k = 0; k < 16; ++k) /* slice k XOR the slice below it in the same half */
        for (i = 0; i < 16; ++i) dst[16 * k + i] = (uint8_t)(table[16 * k + i] ^ (k % 8 ? table[16 * (k - 1) + i] : 0));
}

static inline EDGEC_AVX2 __m256i half_lookup(const __m256i *t, __m256i idx) {
    const __m256i sixteen = _mm256_set1_epi8(16);
    __m256i r = _mm256_shuffle_epi8(t[0], idx);
    int k;
    for (k = 1; k < 8; ++k) {
        idx = _mm256_sub_epi8(idx, sixteen);
        r = _mm256_xor_si256(r, _mm256_shuffle_epi8(t[k], idx));
    }
    return r;
}

void EDGEC_AVX2 edgec_lookup_run(const uint8_t *packed, const uint8_t *x, uint8_t *y, size_t n, uint8_t flip) {
    __m256i t[16];
    const __m256i f = _mm256_set1_epi8((char)flip), top = _mm256_set1_epi8((char)0x80);
    size_t i = 0;
    int k;
    for (k = 0; k < 16; ++k) t[k] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(packed + 16 * k)));
    for (; i + 32 <= n; i += 32) {
        const __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + i)), f);
        const __m256i lo = half_lookup(t, _mm256_andnot_si256(top, v)), hi = half_lookup(t + 8, _mm256_andnot_si256(top, v));
        _mm256_storeu_si256((__m256i *)(y + i), _mm256_blendv_epi8(lo, hi, v));
    }
    if (i < n) { /* tail through a padded buffer: no access past either tensor */
        uint8_t bx[32] = {0}, by[32];
        memcpy(bx, x + i, n - i);
        edgec_lookup_run(packed, bx, by, 32, flip);
        memcpy(y + i, by, n - i);
    }
}
#elif defined(__aarch64__)
#include <arm_neon.h>

int edgec_lookup_simd(void) { return !edgec_ops_forced_reference(); /* NEON is part of armv8-a */ }

void edgec_lookup_pack(uint8_t *dst, const uint8_t *table) { memcpy(dst, table, 256); }

void edgec_lookup_run(const uint8_t *packed, const uint8_t *x, uint8_t *y, size_t n, uint8_t flip) {
    const uint8x16x4_t q0 = vld1q_u8_x4(packed), q1 = vld1q_u8_x4(packed + 64), q2 = vld1q_u8_x4(packed + 128),
                       q3 = vld1q_u8_x4(packed + 192);
    const uint8x16_t f = vdupq_n_u8(flip), c64 = vdupq_n_u8(64);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint8x16_t idx = veorq_u8(vld1q_u8(x + i), f), r = vqtbl4q_u8(q0, idx);
        idx = vsubq_u8(idx, c64);
        r = vorrq_u8(r, vqtbl4q_u8(q1, idx));
        idx = vsubq_u8(idx, c64);
        r = vorrq_u8(r, vqtbl4q_u8(q2, idx));
        idx = vsubq_u8(idx, c64);
        r = vorrq_u8(r, vqtbl4q_u8(q3, idx));
        vst1q_u8(y + i, r);
    }
    for (; i < n; ++i) y[i] = packed[(uint8_t)(x[i] ^ flip)];
}
#else
int edgec_lookup_simd(void) { return 0; }
void edgec_lookup_pack(uint8_t *dst, const uint8_t *table) { memcpy(dst, table, 256); }
void edgec_lookup_run(const uint8_t *packed, const uint8_t *x, uint8_t *y, size_t n, uint8_t flip) {
    size_t i;
    for (i = 0; i < n; ++i) y[i] = packed[(uint8_t)(x[i] ^ flip)]; /* never chosen */
}
#endif
