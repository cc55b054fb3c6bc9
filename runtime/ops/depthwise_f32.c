/* SIMD fp32 depthwise convolution (contract in depthwise_f32.h). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "depthwise_f32.h"

#define DW_P 8 /* pixels per interior run */

/* The specialised interiors (3x3 / 5x5, stride 1 / 2; 7x7 stride 1; dilation 1): each arch defines
 * interior(r, ox, y, KW, SW); returns 0 for other geometries. */
#define RUN_INTERIOR(r, ox, y)                                                            \
    do {                                                                                  \
        if ((r)->dilation_w != 1) return 0;                                               \
        if ((r)->KW == 3 && (r)->stride_w == 1) interior(r, ox, y, 3, 1);                 \
        else if ((r)->KW == 3 && (r)->stride_w == 2) interior(r, ox, y, 3, 2);            \
        else if ((r)->KW == 5 && (r)->stride_w == 1) interior(r, ox, y, 5, 1);            \
        else if ((r)->KW == 5 && (r)->stride_w == 2) interior(r, ox, y, 5, 2);            \
        else if ((r)->KW == 7 && (r)->stride_w == 1) interior(r, ox, y, 7, 1);            \
        else return 0;                                                                    \
        return 1;                                                                         \
    } while (0)

#if (defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))) || defined(__aarch64__)
/* Whether pixels [ox, ox + n) all have every kernel column inside the image. */
static int all_taps(const edgec_dw_f32_row *r, int32_t ox, int32_t n) {
    int32_t kx0, kx1;
    if (ox + n > r->OW) return 0;
    edgec_ops_tap_range(ox * r->stride_w - r->pad_left, r->KW, r->dilation_w, r->W, &kx0, &kx1);
    if (kx0 != 0 || kx1 != r->KW) return 0;
    edgec_ops_tap_range((ox + n - 1) * r->stride_w - r->pad_left, r->KW, r->dilation_w, r->W, &kx0, &kx1);
    return kx0 == 0 && kx1 == r->KW;
}
#endif


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include "lanes_avx2.h"
#define FMA_AVX2 __attribute__((target("avx2,fma")))

int edgec_dw_f32_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* + bias, clamp, store 8 channels at y[c], or (unless FULL) the n < 8 lanes under mask.
 * Plain loads and stores for full blocks: masked stores are microcoded and slow on AMD Zen. */
static inline __attribute__((always_inline)) FMA_AVX2 void finish(__m256 acc, const float *bias, int32_t c,
                                                                  __m256i mask, int32_t n, __m256 lo, __m256 hi,
                                                                  float *y, const int FULL) {
    if (bias) acc = _mm256_add_ps(acc, FULL ? _mm256_loadu_ps(bias + c) : _mm256_maskload_ps(bias + c, mask));
    acc = _mm256_min_ps(hi, _mm256_max_ps(lo, acc)); /* NaN kept, as the reference clamp */
    if (FULL) _mm256_storeu_ps(y + c, acc);
    else edgec_store_ps_n(y + c, acc, n);
}

/* P pixels (1 or 4) starting at ox, kernel columns [kx0, kx1) valid for all of them;
 * FULL: all 8 lanes of every channel block are in range (plain loads, no masks) */
#define LOAD(p) (FULL ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), mask))
static inline FMA_AVX2 void pixels_block(const edgec_dw_f32_row *r, int32_t ox, int32_t P, int32_t kx0,
                                         int32_t kx1, float *y, int32_t c, const int FULL) {
    const __m256 lo = _mm256_set1_ps(r->lo), hi = _mm256_set1_ps(r->hi);
    const ptrdiff_t step = (ptrdiff_t)r->stride_w * r->C;
    int32_t ky, kx;
    {
        const __m256i mask = edgec_lane_mask(r->C - c);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (ky = r->ky0; ky < r->ky1; ++ky) {
            const float *xrow = r->x + (ptrdiff_t)(r->iy0 + ky * r->dilation_h) * r->W * r->C + c;
            const float *wrow = r->w + (ptrdiff_t)ky * r->KW * r->C + c;
            for (kx = kx0; kx < kx1; ++kx) {
                const __m256 w = LOAD(wrow + (ptrdiff_t)kx * r->C);
                const float *xp = xrow + (ptrdiff_t)(ox * r->stride_w - r->pad_left + kx * r->dilation_w) * r->C;
                a0 = _mm256_fmadd_ps(LOAD(xp), w, a0);
                if (P == 4) {
                    a1 = _mm256_fmadd_ps(LOAD(xp + step), w, a1);
                    a2 = _mm256_fmadd_ps(LOAD(xp + 2 * step), w, a2);
                    a3 = _mm256_fmadd_ps(LOAD(xp + 3 * step), w, a3);
                }
            }
        }
        finish(a0, r->bias, c, mask, r->C - c, lo, hi, y, FULL);
        if (P == 4) {
            finish(a1, r->bias, c, mask, r->C - c, lo, hi, y + r->C, FULL);
            finish(a2, r->bias, c, mask, r->C - c, lo, hi, y + 2 * r->C, FULL);
            finish(a3, r->bias, c, mask, r->C - c, lo, hi, y + 3 * r->C, FULL);
        }
    }
}
#undef LOAD

/* Interior run of 4 pixels for a compile-time KW and stride (dilation 1): each input
 * vector of a kernel row is loaded once and feeds every pixel whose window covers it
 * ((4-1)*SW + KW loads instead of 4*KW). Per pixel the taps still go in (ky, kx) order. */
static inline __attribute__((always_inline)) FMA_AVX2 void interior_block(const edgec_dw_f32_row *r, int32_t ox, float *y, int32_t c,
                                           const int KW, const int SW, const int FULL) {
    const __m256i mask = edgec_lane_mask(r->C - c);
    const __m256 lo = _mm256_set1_ps(r->lo), hi = _mm256_set1_ps(r->hi);
    const ptrdiff_t C = r->C;
    __m256 acc[DW_P], w[7];
    int32_t ky, j, p;
    for (p = 0; p < DW_P; ++p) acc[p] = _mm256_setzero_ps();
    for (ky = r->ky0; ky < r->ky1; ++ky) {
        const float *xrow = r->x + ((ptrdiff_t)(r->iy0 + ky * r->dilation_h) * r->W + ox * SW - r->pad_left) * C + c;
        const float *wrow = r->w + (ptrdiff_t)ky * KW * C + c;
#pragma GCC unroll 7
        for (j = 0; j < KW; ++j) w[j] = FULL ? _mm256_loadu_ps(wrow + j * C) : _mm256_maskload_ps(wrow + j * C, mask);
#pragma GCC unroll 21
        for (j = 0; j < (DW_P - 1) * SW + KW; ++j) {
            const __m256 xv = FULL ? _mm256_loadu_ps(xrow + j * C) : _mm256_maskload_ps(xrow + j * C, mask);
#pragma GCC unroll 8
            for (p = 0; p < DW_P; ++p) {
                const int kx = j - p * SW;
                if (kx >= 0 && kx < KW) acc[p] = _mm256_fmadd_ps(xv, w[kx], acc[p]);
            }
        }
    }
    for (p = 0; p < DW_P; ++p) finish(acc[p], r->bias, c, mask, r->C - c, lo, hi, y + p * C, FULL);
}

static inline __attribute__((always_inline)) FMA_AVX2 void interior(const edgec_dw_f32_row *r, int32_t ox, float *y, const int KW, const int SW) {
    int32_t c;
    for (c = 0; c + 8 <= r->C; c += 8) interior_block(r, ox, y, c, KW, SW, 1);
    if (c < r->C) interior_block(r, ox, y, c, KW, SW, 0);
}

/* The specialised interiors, or 0 when this geometry has none. */
static FMA_AVX2 int run_interior(const edgec_dw_f32_row *r, int32_t ox, float *y) {
    RUN_INTERIOR(r, ox, y);
}

static FMA_AVX2 void pixels(const edgec_dw_f32_row *r, int32_t ox, int32_t P, int32_t kx0, int32_t kx1, float *y) {
    int32_t c;
    for (c = 0; c + 8 <= r->C; c += 8) {
        if (P == 4) pixels_block(r, ox, 4, kx0, kx1, y, c, 1);
        else pixels_block(r, ox, 1, kx0, kx1, y, c, 1);
    }
    if (c < r->C) pixels_block(r, ox, P, kx0, kx1, y, c, 0);
}

void edgec_dw_f32_run_row(const edgec_dw_f32_row *r, float *y) {
    int32_t ox = 0, kx0, kx1;
    while (ox < r->OW) {
        if (all_taps(r, ox, DW_P) && run_interior(r, ox, y + (ptrdiff_t)ox * r->C)) {
            ox += DW_P;
            continue;
        }
        if (all_taps(r, ox, 4)) {
            pixels(r, ox, 4, 0, r->KW, y + (ptrdiff_t)ox * r->C);
            ox += 4;
            continue;
        }
        edgec_ops_tap_range(ox * r->stride_w - r->pad_left, r->KW, r->dilation_w, r->W, &kx0, &kx1);
        pixels(r, ox, 1, kx0, kx1, y + (ptrdiff_t)ox * r->C);
        ++ox;
    }
}
#elif defined(__aarch64__)
#include <arm_neon.h>

int edgec_dw_f32_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    return 1; /* NEON is part of armv8-a */
}

/* Channels [c0, C) of pixel ox, taps [kx0, kx1): 4 lanes, then one at a time. */
static void pixel(const edgec_dw_f32_row *r, int32_t ox, int32_t kx0, int32_t kx1, int32_t c0, float *out) {
    const float32x4_t lo = vdupq_n_f32(r->lo), hi = vdupq_n_f32(r->hi);
    const int32_t ix0 = ox * r->stride_w - r->pad_left;
    int32_t ky, kx, c;
    for (c = c0; c + 4 <= r->C; c += 4) {
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (ky = r->ky0; ky < r->ky1; ++ky) {
            const float *xrow = r->x + (ptrdiff_t)(r->iy0 + ky * r->dilation_h) * r->W * r->C + c;
            const float *wrow = r->w + (ptrdiff_t)ky * r->KW * r->C + c;
            for (kx = kx0; kx < kx1; ++kx)
                acc = vfmaq_f32(acc, vld1q_f32(xrow + (ptrdiff_t)(ix0 + kx * r->dilation_w) * r->C),
                                vld1q_f32(wrow + (ptrdiff_t)kx * r->C));
        }
        if (r->bias) acc = vaddq_f32(acc, vld1q_f32(r->bias + c));
        vst1q_f32(out + c, vminq_f32(vmaxq_f32(acc, lo), hi)); /* NaN propagates, as the reference */
    }
    for (; c < r->C; ++c) {
        float acc = 0.0f;
        for (ky = r->ky0; ky < r->ky1; ++ky)
            for (kx = kx0; kx < kx1; ++kx)
                acc += r->x[((ptrdiff_t)(r->iy0 + ky * r->dilation_h) * r->W + ix0 + kx * r->dilation_w) * r->C + c] *
                       r->w[((ptrdiff_t)ky * r->KW + kx) * r->C + c];
        if (r->bias) acc += r->bias[c];
        out[c] = edgec_clampf(acc, r->lo, r->hi);
    }
}

/* DW_P pixels, 4 channels from c, compile-time KW and stride (dilation 1): each input
 * vector of a kernel row is loaded once for all the pixels that cover it; DW_P
 * independent accumulators. Per pixel the taps go in (ky, kx) order, as in pixel(). */
static inline __attribute__((always_inline)) void interior_block(const edgec_dw_f32_row *r, int32_t ox, float *y,
                                                                 int32_t c, const int KW, const int SW) {
    const float32x4_t lo = vdupq_n_f32(r->lo), hi = vdupq_n_f32(r->hi);
    const ptrdiff_t C = r->C;
    float32x4_t acc[DW_P], w[7];
    int32_t ky, j, p;
    for (p = 0; p < DW_P; ++p) acc[p] = vdupq_n_f32(0.0f);
    for (ky = r->ky0; ky < r->ky1; ++ky) {
        const float *xrow = r->x + ((ptrdiff_t)(r->iy0 + ky * r->dilation_h) * r->W + ox * SW - r->pad_left) * C + c;
        const float *wrow = r->w + (ptrdiff_t)ky * KW * C + c;
#pragma GCC unroll 7
        for (j = 0; j < KW; ++j) w[j] = vld1q_f32(wrow + j * C);
#pragma GCC unroll 21
        for (j = 0; j < (DW_P - 1) * SW + KW; ++j) {
            const float32x4_t xv = vld1q_f32(xrow + j * C);
#pragma GCC unroll 8
            for (p = 0; p < DW_P; ++p) {
                const int kx = j - p * SW;
                if (kx >= 0 && kx < KW) acc[p] = vfmaq_f32(acc[p], xv, w[kx]);
            }
        }
    }
    for (p = 0; p < DW_P; ++p) {
        float32x4_t v = acc[p];
        if (r->bias) v = vaddq_f32(v, vld1q_f32(r->bias + c));
        vst1q_f32(y + p * C + c, vminq_f32(vmaxq_f32(v, lo), hi));
    }
}

static inline __attribute__((always_inline)) void interior(const edgec_dw_f32_row *r, int32_t ox, float *y,
                                                           const int KW, const int SW) {
    int32_t c, p;
    for (c = 0; c + 4 <= r->C; c += 4) interior_block(r, ox, y, c, KW, SW);
    if (c < r->C)
        for (p = 0; p < DW_P; ++p) pixel(r, ox + p, 0, KW, c, y + (ptrdiff_t)p * r->C);
}

static int run_interior(const edgec_dw_f32_row *r, int32_t ox, float *y) {
    RUN_INTERIOR(r, ox, y);
}

void edgec_dw_f32_run_row(const edgec_dw_f32_row *r, float *y) {
    int32_t ox = 0, kx0, kx1;
    while (ox < r->OW) {
        if (all_taps(r, ox, DW_P) && run_interior(r, ox, y + (ptrdiff_t)ox * r->C)) {
            ox += DW_P;
            continue;
        }
        edgec_ops_tap_range(ox * r->stride_w - r->pad_left, r->KW, r->dilation_w, r->W, &kx0, &kx1);
        pixel(r, ox, kx0, kx1, 0, y + (ptrdiff_t)ox * r->C);
        ++ox;
    }
}
#else
int edgec_dw_f32_simd(void) { return 0; }
void edgec_dw_f32_run_row(const edgec_dw_f32_row *r, float *y) { (void)r, (void)y; /* never chosen */ }
#endif
