/* AVX2 building blocks shared by the x86 int8 kernels (gemm_int8.c, depthwise_int8.c):
 * TFLite requantization on 8 / 16 lanes, bit-exact with fixedpoint.h. Include only under
 * __x86_64__ with GCC or clang; functions carry the avx2 target attribute, so callers
 * must check edgec_cpu_has_avx2() first. */
#ifndef EDGEC_OPS_REQUANT_AVX2_H
#define EDGEC_OPS_REQUANT_AVX2_H

#include <immintrin.h>
#include <stddef.h>
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

/* Per-channel shift terms precomputed at pack time (edgec_requant_terms), 4 int32 arrays
 * after mult[] and shift[], `stride` apart: left = max(shift, 0), right = max(-shift, 0),
 * mask = 2^right - 1, half = mask >> 1. Same result as edgec_mbqm8_avx2, 6 fewer ops. */

static inline EDGEC_AVX2 __m256i edgec_mbqm8_pre_avx2(__m256i x, __m256i mult, __m256i left, __m256i right,
                                                      __m256i mask, __m256i half) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i a = _mm256_sllv_epi32(x, left);
    const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, mult), nudge);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(mult, 32)), nudge);
    __m256i h, rem, thr;
    even = _mm256_srli_epi64(even, 31);
    odd = _mm256_slli_epi64(_mm256_srli_epi64(odd, 31), 32);
    h = _mm256_blend_epi32(even, odd, 0xAA);
    rem = _mm256_and_si256(h, mask);
    thr = _mm256_sub_epi32(half, _mm256_cmpgt_epi32(zero, h));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
}

#define EDGEC_LD8(p) _mm256_loadu_si256((const __m256i *)(p))
/* 8 lanes of channels starting at rq (= &mult[c]): mult, shift, left, right, mask, half
 * are rq[0], rq[stride], ..., rq[5 * stride] */
static inline EDGEC_AVX2 __m256i edgec_requant8_pre_avx2(__m256i v, const int32_t *rq, ptrdiff_t stride) {
    return edgec_mbqm8_pre_avx2(v, EDGEC_LD8(rq), EDGEC_LD8(rq + 2 * stride), EDGEC_LD8(rq + 3 * stride),
                                EDGEC_LD8(rq + 4 * stride), EDGEC_LD8(rq + 5 * stride));
}

/* edgec_requant16_avx2 with the precomputed terms (rq = &mult[n0], arrays `stride` apart) */
static inline EDGEC_AVX2 __m128i edgec_requant16_pre_avx2(__m256i lo, __m256i hi, const int32_t *bias2,
                                                         const int32_t *rq, ptrdiff_t stride, int32_t y_zp,
                                                         int32_t q_min, int32_t q_max) {
    const __m256i zp = _mm256_set1_epi32(y_zp);
    const __m256i qmin = _mm256_set1_epi32(q_min), qmax = _mm256_set1_epi32(q_max);
    __m256i v0 = _mm256_add_epi32(lo, EDGEC_LD8(bias2)), v1 = _mm256_add_epi32(hi, EDGEC_LD8(bias2 + 8));
    __m256i p16;
    v0 = edgec_requant8_pre_avx2(v0, rq, stride);
    v1 = edgec_requant8_pre_avx2(v1, rq + 8, stride);
    v0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v0, zp), qmin), qmax);
    v1 = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v1, zp), qmin), qmax);
    p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8); /* 0..15 in order */
    return _mm_packs_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1));
}
#undef EDGEC_LD8

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
