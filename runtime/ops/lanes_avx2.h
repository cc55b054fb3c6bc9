/* Partial-vector loads and stores for the x86 fp32 kernels (gemm_f32.c, depthwise_f32.c):
 * the first n < 8 lanes of a vector. Stores go 4, 2, 1 lanes at a time, never through
 * vmaskmovps, whose store form is microcoded and slow on AMD Zen; the masked load form
 * is fast everywhere. Include only under __x86_64__ with GCC or clang. */
#ifndef EDGEC_OPS_LANES_AVX2_H
#define EDGEC_OPS_LANES_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#define EDGEC_LANES_AVX2 __attribute__((target("avx2"), always_inline))

/* lanes [0, n) set, n in [0, 8] */
static inline EDGEC_LANES_AVX2 __m256i edgec_lane_mask(int32_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* p[0, n) -> lanes [0, n), zeros above */
static inline EDGEC_LANES_AVX2 __m256 edgec_load_ps_n(const float *p, int32_t n) {
    return _mm256_maskload_ps(p, edgec_lane_mask(n));
}

/* lanes [0, n) -> p[0, n), n in [0, 8] */
static inline EDGEC_LANES_AVX2 void edgec_store_ps_n(float *p, __m256 v, int32_t n) {
    __m128 h = _mm256_castps256_ps128(v);
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    if (n >= 4) _mm_storeu_ps(p, h), h = _mm256_extractf128_ps(v, 1), p += 4, n -= 4;
    if (n >= 2) _mm_storel_pi((__m64 *)p, h), h = _mm_movehl_ps(h, h), p += 2, n -= 2;
    if (n) _mm_store_ss(p, h);
}

#endif
