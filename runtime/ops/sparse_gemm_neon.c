/* aarch64 NEON tiles of the block-sparse GEMM (contract in sparse_gemm.h): 16 rows of x
 * per tile as four 4-lane vectors per k. int8 uses widening int16 multiply-accumulates
 * (vmlal_n_s16: exact) on the raw x plus bias' from edgec_sparse_i8_pack, fp32 vfmaq. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <stdlib.h>
#include <string.h>

#include "edgec/fixedpoint.h"
#include "sparse_gemm.h"

#define MT EDGEC_SPARSE_MT

int edgec_sparse_simd(void) {
    const char *force = getenv("EDGEC_KERNELS"); /* read per call: tests switch it in one process */
    return !(force && strcmp(force, "reference") == 0); /* NEON is part of armv8-a */
}

static void *align64(void *p) { return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

void edgec_sparse_f32_tile(const edgec_sparse_shape *s, const float *values, const float *bias, int32_t m,
                           const float *x, float *y, void *scratch) {
    const int32_t *restrict cols = s->cols, *restrict rowptr = s->rowptr;
    float *xt = (float *)align64(scratch);                       /* [k][MT] */
    float *out = (float *)align64(xt + ((size_t)s->k + 2) * MT); /* [n][MT] */
    int32_t k, i, r, j, q;
    for (i = 0; i < MT; ++i)
        for (k = 0; k < s->k; ++k) xt[(ptrdiff_t)k * MT + i] = i < m ? x[(ptrdiff_t)i * s->k + k] : 0.0f;
    for (r = 0; r < s->n / s->bh; ++r) {
        float32x4_t acc[4][4];
        const float *w = values + (ptrdiff_t)rowptr[r] * 4;
        for (i = 0; i < 4; ++i)
            for (q = 0; q < 4; ++q) acc[i][q] = vdupq_n_f32(0.0f);
        for (j = rowptr[r]; j < rowptr[r + 1]; ++j, w += 4)
            for (i = 0; i < 4; ++i) {
                /* 1x4: tap i of output r into partial sum i; 4x1: output 4r+i */
                const float *xb = xt + (ptrdiff_t)(s->bw == 4 ? cols[j] * 4 + i : cols[j]) * MT;
                for (q = 0; q < 4; ++q) acc[i][q] = vfmaq_n_f32(acc[i][q], vld1q_f32(xb + 4 * q), w[i]);
            }
        for (i = 0; i < s->bh; ++i) {
            const int32_t n = r * s->bh + i;
            const float32x4_t b = vdupq_n_f32(bias ? bias[n] : 0.0f);
            for (q = 0; q < 4; ++q) {
                float32x4_t v = s->bw == 4 ? vaddq_f32(vaddq_f32(acc[0][q], acc[1][q]), vaddq_f32(acc[2][q], acc[3][q]))
                                           : acc[i][q];
                float tmp[4];
                int e;
                v = vaddq_f32(v, b);
                vst1q_f32(tmp, v);
                /* max then min with NaN kept, as edgec_clampf */
                for (e = 0; e < 4; ++e) {
                    float t = tmp[e];
                    t = (t > s->lo || t != t) ? t : s->lo;
                    out[(ptrdiff_t)n * MT + 4 * q + e] = (t < s->hi || t != t) ? t : s->hi;
                }
            }
        }
    }
    for (i = 0; i < m; ++i)
        for (k = 0; k < s->n; ++k) y[(ptrdiff_t)i * s->n + k] = out[(ptrdiff_t)k * MT + i];
}

void edgec_sparse_i8_tile(const edgec_sparse_shape *s, const uint8_t *packed, int32_t m, const int8_t *x,
                          int8_t *y, void *scratch) {
    const int32_t *restrict cols = s->cols, *restrict rowptr = s->rowptr;
    const int16_t *words = (const int16_t *)packed; /* int16 halves of the packed pair words */
    const int32_t *bias2 = (const int32_t *)packed + (size_t)s->nnzb * (s->bw == 4 ? 2 : 4), *m2 = bias2 + s->n,
                  *s2 = m2 + s->n;
    int16_t *xt = (int16_t *)align64(scratch);                        /* [k][MT] */
    int32_t *out = (int32_t *)align64(xt + ((size_t)s->k + 2) * MT);  /* [n][MT] */
    int32_t k, i, r, j, q;
    for (i = 0; i < MT; ++i)
        for (k = 0; k < s->k; ++k) xt[(ptrdiff_t)k * MT + i] = i < m ? x[(ptrdiff_t)i * s->k + k] : 0;
    for (r = 0; r < s->n / s->bh; ++r) {
        int32x4_t acc[4][4];
        for (i = 0; i < 4; ++i)
            for (q = 0; q < 4; ++q) acc[i][q] = vdupq_n_s32(0);
        for (j = rowptr[r]; j < rowptr[r + 1]; ++j)
            for (i = 0; i < 4; ++i) {
                const int16_t *xb = xt + (ptrdiff_t)(s->bw == 4 ? cols[j] * 4 + i : cols[j]) * MT;
                const int16_t w = s->bw == 4 ? words[4 * j + i] : words[2 * (4 * j + i) + (cols[j] & 1)];
                for (q = 0; q < 4; ++q) acc[i][q] = vmlal_n_s16(acc[i][q], vld1_s16(xb + 4 * q), w);
            }
        for (i = 0; i < s->bh; ++i) {
            const int32_t n = r * s->bh + i;
            for (q = 0; q < 4; ++q) {
                int32_t tmp[4];
                int e;
                vst1q_s32(tmp, s->bw == 4 ? vaddq_s32(vaddq_s32(acc[0][q], acc[1][q]), vaddq_s32(acc[2][q], acc[3][q]))
                                          : acc[i][q]);
                for (e = 0; e < 4; ++e) {
                    const int32_t a = (int32_t)((uint32_t)tmp[e] + (uint32_t)bias2[n]); /* modulo 2^32 */
                    out[(ptrdiff_t)n * MT + 4 * q + e] =
                        edgec_clamp_i32(edgec_mbqm(a, m2[n], s2[n]) + s->y_zp, s->q_min, s->q_max);
                }
            }
        }
    }
    for (i = 0; i < m; ++i)
        for (k = 0; k < s->n; ++k) y[(ptrdiff_t)i * s->n + k] = (int8_t)out[(ptrdiff_t)k * MT + i];
}
#endif
