/* SIMD fp32 max pooling (contract in maxpool_f32.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "maxpool_f32.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "lanes_avx2.h"
#define AVX2 __attribute__((target("avx2")))

int edgec_maxpool_f32_simd(void) {
    __builtin_cpu_init();
    return !edgec_ops_forced_reference() && __builtin_cpu_supports("avx2");
}

/* a wins where a > m or a is NaN (edgec_maxf(a, m)) */
static inline AVX2 __m256 max_keep_nan(__m256 a, __m256 m) {
    const __m256 take = _mm256_or_ps(_mm256_cmp_ps(a, m, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
    return _mm256_blendv_ps(m, a, take);
}

AVX2 void edgec_maxpool_f32_pixel(const float *xn, int32_t W, int32_t C, int32_t iy0, int32_t iy1, int32_t ix0,
                                  int32_t ix1, float lo, float hi, float *out) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    int32_t c = 0, iy, ix;
    for (; c + 16 <= C; c += 16) {
        __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix) {
                const float *p = xn + ((ptrdiff_t)iy * W + ix) * C + c;
                m0 = max_keep_nan(_mm256_loadu_ps(p), m0);
                m1 = max_keep_nan(_mm256_loadu_ps(p + 8), m1);
            }
        /* operand order keeps NaN, as the reference clamp does */
        _mm256_storeu_ps(out + c, _mm256_min_ps(vhi, _mm256_max_ps(vlo, m0)));
        _mm256_storeu_ps(out + c + 8, _mm256_min_ps(vhi, _mm256_max_ps(vlo, m1)));
    }
    for (; c + 8 <= C; c += 8) {
        __m256 m0 = _mm256_set1_ps(-INFINITY);
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix) m0 = max_keep_nan(_mm256_loadu_ps(xn + ((ptrdiff_t)iy * W + ix) * C + c), m0);
        _mm256_storeu_ps(out + c, _mm256_min_ps(vhi, _mm256_max_ps(vlo, m0)));
    }
    if (c < C) { /* masked loads (fast), 4/2/1-lane stores */
        const __m256i mask = edgec_lane_mask(C - c);
        __m256 m0 = _mm256_set1_ps(-INFINITY);
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix)
                m0 = max_keep_nan(_mm256_maskload_ps(xn + ((ptrdiff_t)iy * W + ix) * C + c, mask), m0);
        edgec_store_ps_n(out + c, _mm256_min_ps(vhi, _mm256_max_ps(vlo, m0)), C - c);
    }
}
#elif defined(__aarch64__)
#include <arm_neon.h>

int edgec_maxpool_f32_simd(void) { return !edgec_ops_forced_reference(); /* NEON is part of armv8-a */ }

static inline float32x4_t max_keep_nan(float32x4_t a, float32x4_t m) {
    const uint32x4_t take = vorrq_u32(vcgtq_f32(a, m), vmvnq_u32(vceqq_f32(a, a)));
    return vbslq_f32(take, a, m);
}

void edgec_maxpool_f32_pixel(const float *xn, int32_t W, int32_t C, int32_t iy0, int32_t iy1, int32_t ix0,
                             int32_t ix1, float lo, float hi, float *out) {
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    int32_t c = 0, iy, ix;
    for (; c + 8 <= C; c += 8) {
        float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix) {
                const float *p = xn + ((ptrdiff_t)iy * W + ix) * C + c;
                m0 = max_keep_nan(vld1q_f32(p), m0);
                m1 = max_keep_nan(vld1q_f32(p + 4), m1);
            }
        /* vmax/vmin propagate NaN, as the reference clamp keeps it */
        vst1q_f32(out + c, vminq_f32(vmaxq_f32(m0, vlo), vhi));
        vst1q_f32(out + c + 4, vminq_f32(vmaxq_f32(m1, vlo), vhi));
    }
    for (; c + 4 <= C; c += 4) {
        float32x4_t m0 = vdupq_n_f32(-INFINITY);
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix) m0 = max_keep_nan(vld1q_f32(xn + ((ptrdiff_t)iy * W + ix) * C + c), m0);
        vst1q_f32(out + c, vminq_f32(vmaxq_f32(m0, vlo), vhi));
    }
    if (c < C) { /* the last 1-3 channels through a 4-float copy */
        float buf[4] = {0};
        float32x4_t m0 = vdupq_n_f32(-INFINITY);
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix) {
                memcpy(buf, xn + ((ptrdiff_t)iy * W + ix) * C + c, sizeof(float) * (size_t)(C - c));
                m0 = max_keep_nan(vld1q_f32(buf), m0);
            }
        vst1q_f32(buf, vminq_f32(vmaxq_f32(m0, vlo), vhi));
        memcpy(out + c, buf, sizeof(float) * (size_t)(C - c));
    }
}
#else
int edgec_maxpool_f32_simd(void) { return 0; }

/* The reference's loops, never chosen here: pool.c runs its own. */
static void tail(const float *xn, int32_t W, int32_t C, int32_t iy0, int32_t iy1, int32_t ix0, int32_t ix1,
                 float lo, float hi, float *out, int32_t c) {
    int32_t iy, ix;
    for (; c < C; ++c) {
        float m = -INFINITY;
        for (iy = iy0; iy < iy1; ++iy)
            for (ix = ix0; ix < ix1; ++ix) m = edgec_maxf(xn[((ptrdiff_t)iy * W + ix) * C + c], m);
        out[c] = edgec_clampf(m, lo, hi);
    }
}


void edgec_maxpool_f32_pixel(const float *xn, int32_t W, int32_t C, int32_t iy0, int32_t iy1, int32_t ix0,
                             int32_t ix1, float lo, float hi, float *out) {
    tail(xn, W, C, iy0, iy1, ix0, ix1, lo, hi, out, 0);
}
#endif
