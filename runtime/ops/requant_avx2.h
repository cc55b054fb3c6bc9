/* AVX2 building blocks shared by the x86 int8 kernels (gemm_int8.c, depthwise_int8.c):
 * TFLite requantization on 8 / 16 lanes, bit-exact with fixedpoint.h. Include only under
 * __x86_64__ with GCC or clang; functions carry the avx2 target attribute, so callers
 * must check edgec_cpu_has_avx2() first. */
#ifndef EDGEC_OPS_REQUANT_AVX2_H
#define EDGEC_OPS_REQUANT_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#define EDGEC_AVX2 __attribute__((target("avx2")))

static inline int edgec_cpu_has_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cached;
}


/* edgec_mbqm on 8 lanes with per-lane multiplier and shift, exactly: SRDHM(a, m) ==
 * floor((a*m + 2^30) / 2^31) for every (a, m) but (INT32_MIN, INT32_MIN), which prepare
 * excludes (multipliers are non-negative); the low 32 bits of that come from a logical
 * 64-bit shift. RDBPOT as fixedpoint.h: (x >> e) + (remainder > threshold). */
static inline EDGEC_AVX2 __m256i edgec_mbqm8_avx2(__m256i x, __m256i mult, __m256i shift) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i left = _mm256_max_epi32(shift, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    const __m256i a = _mm256_sllv_epi32(x, left);
    const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, mult), nudge);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(mult, 32)), nudge);
    __m256i h, mask, rem, thr;
    even = _mm256_srli_epi64(even, 31);
    odd = _mm256_slli_epi64(_mm256_srli_epi64(odd, 31), 32);
    h = _mm256_blend_epi32(even, odd, 0xAA);
    mask = _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), right), _mm256_set1_epi32(1));
    rem = _mm256_and_si256(h, mask);
    thr = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_cmpgt_epi32(zero, h));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
}

/* 16 int32 accumulators (channels n0..n0+15) + bias2, requantized -> 16 int8 in channel order */
static inline EDGEC_AVX2 __m128i edgec_requant16_avx2(__m256i lo, __m256i hi, const int32_t *bias2,
                                                     const int32_t *m2, const int32_t *s2, int32_t y_zp,
                                                     int32_t q_min, int32_t q_max) {
    const __m256i zp = _mm256_set1_epi32(y_zp);
    const __m256i qmin = _mm256_set1_epi32(q_min), qmax = _mm256_set1_epi32(q_max);
    __m256i v0 = _mm256_add_epi32(lo, _mm256_loadu_si256((const __m256i *)bias2));
    __m256i v1 = _mm256_add_epi32(hi, _mm256_loadu_si256((const __m256i *)(bias2 + 8)));
    __m256i p16;
    __m128i p8;
    v0 = edgec_mbqm8_avx2(v0, _mm256_loadu_si256((const __m256i *)m2), _mm256_loadu_si256((const __m256i *)s2));
    v1 = edgec_mbqm8_avx2(v1, _mm256_loadu_si256((const __m256i *)(m2 + 8)), _mm256_loadu_si256((const __m256i *)(s2 + 8)));
    v0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v0, zp), qmin), qmax);
    v1 = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v1, zp), qmin), qmax);
    p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8); /* 0..15 in order */
    p8 = _mm_packs_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1));
    return p8;
}

#endif
