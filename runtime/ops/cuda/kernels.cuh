/*
 * runtime/ops/cuda/kernels.cuh -- the CUDA backend's kernel bodies, one source for two
 * compilers:
 *   - nvcc (kernels.cu): each body becomes `extern "C" __global__ edgec_cu_<name>(args,
 *     total)`, one thread per output element, compiled into the fatbin libedgec embeds;
 *   - the host C compiler (emulate.c): the same bodies run over the whole grid serially,
 *     which is how the CPU-only tests check them (device "cuda-emulated").
 *
 * Contract of a body: edgec_cu_<name>_body(a, i) writes output element i (flat NHWC /
 * row-major index) and nothing else, reading only the tensors in `a`. No shared memory,
 * no warp intrinsics, no atomics: a serial loop over i gives the device's result.
 * Numerics: integer kernels are TFLite's reference integer kernels, exactly as the CPU's
 * (runtime/ops/conv_int8.c, matmul_int8.c, binary_int8.c) with the same fixedpoint.h.
 * Float kernels sum in the CPU reference loops' order (taps (ky, kx, ic) from 0.0f, then +
 * bias, then the act clamp); nvcc runs with --fmad=false and the host build with
 * -ffp-contract=off, so device and emulation give the same floats.
 *
 * edgec_cu_args is passed by value as the kernel's first parameter: plain C, laid out
 * the same by gcc and nvcc on LP64 targets (x86-64, aarch64).
 */
#ifndef EDGEC_CUDA_KERNELS_CUH
#define EDGEC_CUDA_KERNELS_CUH

#include <stdint.h>

#include "edgec/fixedpoint.h"

#if defined(__CUDACC__)
#define EDGEC_CU_FN __host__ __device__ static inline
#else
#define EDGEC_CU_FN static inline
#include <math.h>
#endif

/* X(name): every kernel the fatbin holds; the enum, the launcher's name table, the
 * __global__ wrappers and the emulator all expand this list. */
#define EDGEC_CU_KERNELS(X)                                                                \
    X(conv_f32) X(conv_i8) X(dw_f32) X(dw_i8) X(fc_f32) X(fc_i8) X(binary_f32) X(binary_i8)

enum {
#define EDGEC_CU_ENUM(name) EDGEC_CU_##name,
    EDGEC_CU_KERNELS(EDGEC_CU_ENUM)
#undef EDGEC_CU_ENUM
    EDGEC_CU_KERNEL_COUNT
};

/* binary kinds, same numbers as binary.c's K_* */
enum { EDGEC_CU_ADD = 0, EDGEC_CU_SUB = 1, EDGEC_CU_MUL = 2, EDGEC_CU_MAX = 4, EDGEC_CU_MIN = 5 };

typedef struct {
    const void *x, *w, *bias, *b; /* b: binary ops' second input */
    void *y;
    const int32_t *mult, *shift;  /* int8 per-channel requantization (FC requant 1: float scales) */
    /* conv / depthwise geometry (NHWC); FC: m = oh (rows), n = oc, k = c */
    int32_t n, h, w_, c, oh, ow, oc, kh, kw, icg, ocg;
    int32_t sh, sw, dh, dw, pt, pl;
    int32_t kind;                 /* binary kind; FC requant mode */
    float lo, hi;                 /* fp32 activation clamp */
    int32_t x_zp, b_zp, y_zp, q_min, q_max;
    /* int8 binary: TFLite's ADD/SUB/MUL parameters (edgec_binary_params) */
    int32_t left_shift, m1, s1, m2, s2, om, os;
    float x_scale, y_scale;       /* FC requant 1 */
    const void *res;              /* fp32 conv: fused residual [N,OH,OW,rc] (conv.c), or NULL */
    int32_t rc;
} edgec_cu_args;

EDGEC_CU_FN float edgec_cu_clampf(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* i -> (n, oy, ox, oc) of an NHWC output */
#define EDGEC_CU_SPLIT(a, i)                                                               \
    const int32_t oc = (int32_t)((i) % (a)->oc);                                           \
    const int64_t pix_ = (i) / (a)->oc;                                                    \
    const int32_t ox = (int32_t)(pix_ % (a)->ow);                                          \
    const int32_t oy = (int32_t)((pix_ / (a)->ow) % (a)->oh);                              \
    const int32_t nb = (int32_t)(pix_ / ((int64_t)(a)->ow * (a)->oh));                     \
    const int32_t iy0 = oy * (a)->sh - (a)->pt, ix0 = ox * (a)->sw - (a)->pl

EDGEC_CU_FN void edgec_cu_conv_f32_body(const edgec_cu_args *a, int64_t i) {
    EDGEC_CU_SPLIT(a, i);
    const float *x = (const float *)a->x, *w = (const float *)a->w, *bias = (const float *)a->bias;
    const int32_t g = oc / a->ocg;
    const float *wo = w + (int64_t)oc * a->kh * a->kw * a->icg;
    float acc = 0.0f;
    int32_t ky, kx, ic;
    for (ky = 0; ky < a->kh; ++ky) {
        const int32_t iy = iy0 + ky * a->dh;
        if (iy < 0 || iy >= a->h) continue;
        for (kx = 0; kx < a->kw; ++kx) {
            const int32_t ix = ix0 + kx * a->dw;
            const float *xp, *wp;
            if (ix < 0 || ix >= a->w_) continue;
            xp = x + (((int64_t)nb * a->h + iy) * a->w_ + ix) * a->c + (int64_t)g * a->icg;
            wp = wo + ((int64_t)ky * a->kw + kx) * a->icg;
            for (ic = 0; ic < a->icg; ++ic) acc += xp[ic] * wp[ic];
        }
    }
    {   /* as conv.c: (sum + bias) + residual channel (channels past rc add 0), then clamp */
        float v = bias ? acc + bias[oc] : acc;
        if (a->res && oc < a->rc) v += ((const float *)a->res)[(i / a->oc) * a->rc + oc];
        ((float *)a->y)[i] = edgec_cu_clampf(v, a->lo, a->hi);
    }
}

EDGEC_CU_FN int8_t edgec_cu_requant(const edgec_cu_args *a, int32_t acc, int32_t ch) {
    if (a->bias) acc = (int32_t)((int64_t)acc + ((const int32_t *)a->bias)[ch]);
    return (int8_t)edgec_clamp_i32(edgec_mbqm(acc, a->mult[ch], a->shift[ch]) + a->y_zp, a->q_min, a->q_max);
}

EDGEC_CU_FN void edgec_cu_conv_i8_body(const edgec_cu_args *a, int64_t i) {
    EDGEC_CU_SPLIT(a, i);
    const int8_t *x = (const int8_t *)a->x, *w = (const int8_t *)a->w;
    const int32_t g = oc / a->ocg;
    const int8_t *wo = w + (int64_t)oc * a->kh * a->kw * a->icg;
    int32_t acc = 0, ky, kx, ic;
    for (ky = 0; ky < a->kh; ++ky) {
        const int32_t iy = iy0 + ky * a->dh;
        if (iy < 0 || iy >= a->h) continue;
        for (kx = 0; kx < a->kw; ++kx) {
            const int32_t ix = ix0 + kx * a->dw;
            const int8_t *xp, *wp;
            if (ix < 0 || ix >= a->w_) continue;
            xp = x + (((int64_t)nb * a->h + iy) * a->w_ + ix) * a->c + (int64_t)g * a->icg;
            wp = wo + ((int64_t)ky * a->kw + kx) * a->icg;
            for (ic = 0; ic < a->icg; ++ic) acc += (int32_t)wp[ic] * ((int32_t)xp[ic] - a->x_zp);
        }
    }
    ((int8_t *)a->y)[i] = edgec_cu_requant(a, acc, oc);
}

/* depthwise: weights [1, KH, KW, C*M], output channel oc reads input channel oc / M */
EDGEC_CU_FN void edgec_cu_dw_f32_body(const edgec_cu_args *a, int64_t i) {
    EDGEC_CU_SPLIT(a, i);
    const float *x = (const float *)a->x, *w = (const float *)a->w, *bias = (const float *)a->bias;
    const int32_t c = oc / a->ocg;
    float acc = 0.0f;
    int32_t ky, kx;
    for (ky = 0; ky < a->kh; ++ky) {
        const int32_t iy = iy0 + ky * a->dh;
        if (iy < 0 || iy >= a->h) continue;
        for (kx = 0; kx < a->kw; ++kx) {
            const int32_t ix = ix0 + kx * a->dw;
            if (ix < 0 || ix >= a->w_) continue;
            acc += x[(((int64_t)nb * a->h + iy) * a->w_ + ix) * a->c + c] * w[((int64_t)ky * a->kw + kx) * a->oc + oc];
        }
    }
    ((float *)a->y)[i] = edgec_cu_clampf(bias ? acc + bias[oc] : acc, a->lo, a->hi);
}

EDGEC_CU_FN void edgec_cu_dw_i8_body(const edgec_cu_args *a, int64_t i) {
    EDGEC_CU_SPLIT(a, i);
    const int8_t *x = (const int8_t *)a->x, *w = (const int8_t *)a->w;
    const int32_t c = oc / a->ocg;
    int32_t acc = 0, ky, kx;
    for (ky = 0; ky < a->kh; ++ky) {
        const int32_t iy = iy0 + ky * a->dh;
        if (iy < 0 || iy >= a->h) continue;
        for (kx = 0; kx < a->kw; ++kx) {
            const int32_t ix = ix0 + kx * a->dw;
            if (ix < 0 || ix >= a->w_) continue;
            acc += (int32_t)w[((int64_t)ky * a->kw + kx) * a->oc + oc] *
                   ((int32_t)x[(((int64_t)nb * a->h + iy) * a->w_ + ix) * a->c + c] - a->x_zp);
        }
    }
    ((int8_t *)a->y)[i] = edgec_cu_requant(a, acc, oc);
}

/* FULLY_CONNECTED (GEMM): y[m, j] = x[m, :] . w[j, :]; rows m < oh, j < oc, k = c */
EDGEC_CU_FN void edgec_cu_fc_f32_body(const edgec_cu_args *a, int64_t i) {
    const int32_t j = (int32_t)(i % a->oc);
    const float *xr = (const float *)a->x + (i / a->oc) * a->c, *wr = (const float *)a->w + (int64_t)j * a->c;
    const float *bias = (const float *)a->bias;
    float acc = 0.0f;
    int32_t k;
    for (k = 0; k < a->c; ++k) acc += xr[k] * wr[k];
    ((float *)a->y)[i] = edgec_cu_clampf(bias ? acc + bias[j] : acc, a->lo, a->hi);
}

EDGEC_CU_FN void edgec_cu_fc_i8_body(const edgec_cu_args *a, int64_t i) {
    const int32_t j = (int32_t)(i % a->oc);
    const int8_t *xr = (const int8_t *)a->x + (i / a->oc) * a->c, *wr = (const int8_t *)a->w + (int64_t)j * a->c;
    int32_t acc = 0, k;
    for (k = 0; k < a->c; ++k) acc += (int32_t)wr[k] * ((int32_t)xr[k] - a->x_zp);
    if (a->kind == 1) { /* TFLite's per-channel float requantization, in double (matmul_int8.c) */
        if (a->bias) acc = (int32_t)((int64_t)acc + ((const int32_t *)a->bias)[j]);
        {
            const double scale = (double)a->x_scale * (double)((const float *)a->mult)[j] / (double)a->y_scale;
            acc = (int32_t)round((double)acc * scale) + a->y_zp;
        }
        ((int8_t *)a->y)[i] = (int8_t)edgec_clamp_i32(acc, a->q_min, a->q_max);
        return;
    }
    ((int8_t *)a->y)[i] = edgec_cu_requant(a, acc, j);
}

/* element-wise, same-shape operands (broadcasting ops stay on the CPU) */
EDGEC_CU_FN void edgec_cu_binary_f32_body(const edgec_cu_args *a, int64_t i) {
    const float u = ((const float *)a->x)[i], v = ((const float *)a->b)[i];
    float r;
    switch (a->kind) {
    case EDGEC_CU_ADD: r = u + v; break;
    case EDGEC_CU_SUB: r = u - v; break;
    case EDGEC_CU_MUL: r = u * v; break;
    case EDGEC_CU_MAX: r = (u > v || u != u) ? u : v; break; /* numpy maximum: NaN wins */
    default: r = (u < v || u != u) ? u : v; break;
    }
    ((float *)a->y)[i] = edgec_cu_clampf(r, a->lo, a->hi);
}

EDGEC_CU_FN void edgec_cu_binary_i8_body(const edgec_cu_args *a, int64_t i) {
    const int32_t da = (int32_t)((const int8_t *)a->x)[i] - a->x_zp, db = (int32_t)((const int8_t *)a->b)[i] - a->b_zp;
    int32_t v;
    if (a->kind == EDGEC_CU_MUL) {
        v = edgec_mbqm(da * db, a->om, a->os) + a->y_zp;
    } else {
        const int32_t sa = edgec_mbqm_small(da * (1 << a->left_shift), a->m1, a->s1);
        const int32_t sb = edgec_mbqm_small(db * (1 << a->left_shift), a->m2, a->s2);
        v = edgec_mbqm_small(a->kind == EDGEC_CU_ADD ? sa + sb : sa - sb, a->om, a->os) + a->y_zp;
    }
    ((int8_t *)a->y)[i] = (int8_t)edgec_clamp_i32(v, a->q_min, a->q_max);
}

#endif /* EDGEC_CUDA_KERNELS_CUH */
