/* aarch64 NEON block kernel of the T-MAC LUT GEMM (contract in lut_gemm.h): vqtbl1q_u8
 * looks up the low and high bytes of the int16 partial sums for 16 columns, vzip joins
 * them exactly; int16 sums per bit plane stay exact for a whole group. Per group the
 * float update is vmulq then vaddq (never fused), as in the reference. */
#include "lut_gemm.h"

#if defined(EDGEC_LUT_HAVE_NEON)
#include <arm_neon.h>

static inline __attribute__((always_inline)) void block_bits(const edgec_lut_weights *w, int32_t nb,
                                                             const uint8_t *row, float *out, const int bits) {
    const int32_t *gsum = (const int32_t *)(const void *)(row + (size_t)w->k8 * 8);
    const uint8_t *pl = w->planes + (size_t)nb * w->kpairs * bits * EDGEC_LUT_NB;
    const size_t sz = (size_t)nb * w->groups * EDGEC_LUT_NB;
    const int32_t ppg = w->group / 8;
    const uint8x16_t nib = vdupq_n_u8(0x0f);
    float32x4_t f[8];
    int32_t g, p;
    int b, c, h;
    for (c = 0; c < 8; ++c) f[c] = vdupq_n_f32(0.0f);
    for (g = 0; g < w->groups; ++g) {
        const int32_t p_end = (g + 1) * ppg < w->kpairs ? (g + 1) * ppg : w->kpairs;
        int16x8_t acc[4][4]; /* [plane][columns 8c..8c+8) */
        for (b = 0; b < bits; ++b)
            for (c = 0; c < 4; ++c) acc[b][c] = vdupq_n_s16(0);
        if (w->table_mode == 1) { /* int8 tables: zip the two groups of 4 per column, pairwise add long */
            for (p = g * ppg; p < p_end; ++p) {
                const uint8_t *t = row + (size_t)p * 32;
                const uint8x16_t t0 = vld1q_u8(t), t1 = vld1q_u8(t + 16);
                for (b = 0; b < bits; ++b, pl += EDGEC_LUT_NB)
                    for (h = 0; h < 2; ++h) {
                        const uint8x16_t v = vld1q_u8(pl + 16 * h);
                        const int8x16_t l0 = vreinterpretq_s8_u8(vqtbl1q_u8(t0, vandq_u8(v, nib)));
                        const int8x16_t l1 = vreinterpretq_s8_u8(vqtbl1q_u8(t1, vshrq_n_u8(v, 4)));
                        acc[b][2 * h] = vaddq_s16(acc[b][2 * h], vpaddlq_s8(vzip1q_s8(l0, l1)));
                        acc[b][2 * h + 1] = vaddq_s16(acc[b][2 * h + 1], vpaddlq_s8(vzip2q_s8(l0, l1)));
                    }
            }
        } else
        for (p = g * ppg; p < p_end; ++p) {
            const uint8_t *t = row + (size_t)p * 64;
            const uint8x16_t tl0 = vld1q_u8(t), th0 = vld1q_u8(t + 16), tl1 = vld1q_u8(t + 32),
                             th1 = vld1q_u8(t + 48);
            for (b = 0; b < bits; ++b, pl += EDGEC_LUT_NB)
                for (h = 0; h < 2; ++h) {
                    const uint8x16_t v = vld1q_u8(pl + 16 * h);
                    const uint8x16_t i0 = vandq_u8(v, nib), i1 = vshrq_n_u8(v, 4);
                    const uint8x16_t l0 = vqtbl1q_u8(tl0, i0), h0 = vqtbl1q_u8(th0, i0);
                    const uint8x16_t l1 = vqtbl1q_u8(tl1, i1), h1 = vqtbl1q_u8(th1, i1);
                    const int16x8_t a = vaddq_s16(vreinterpretq_s16_u8(vzip1q_u8(l0, h0)),
                                                  vreinterpretq_s16_u8(vzip1q_u8(l1, h1)));
                    const int16x8_t d = vaddq_s16(vreinterpretq_s16_u8(vzip2q_u8(l0, h0)),
                                                  vreinterpretq_s16_u8(vzip2q_u8(l1, h1)));
                    acc[b][2 * h] = vaddq_s16(acc[b][2 * h], a);
                    acc[b][2 * h + 1] = vaddq_s16(acc[b][2 * h + 1], d);
                }
        }
        {
            const int32x4_t A = vdupq_n_s32(gsum[g]);
            const uint8_t *z = w->zeros + sz + (size_t)g * EDGEC_LUT_NB;
            const uint16_t *s = w->scales + sz + (size_t)g * EDGEC_LUT_NB;
            for (c = 0; c < 8; ++c) { /* columns 4c..4c+4 */
                int32x4_t P = vdupq_n_s32(0), I;
                float32x4_t sc;
                for (b = 0; b < bits; ++b) {
                    const int16x8_t v = acc[b][c / 2];
                    const int32x4_t part = (c & 1) ? vmovl_high_s16(v) : vmovl_s16(vget_low_s16(v));
                    P = vaddq_s32(P, vshlq_s32(part, vdupq_n_s32(b)));
                }
                if (w->table_mode == 1) P = vshlq_s32(P, vdupq_n_s32(gsum[w->groups + g]));
                {
                    const uint16x8_t z16 = vmovl_u8(vld1_u8(z + 8 * (c / 2)));
                    const int32x4_t zz =
                        vreinterpretq_s32_u32((c & 1) ? vmovl_high_u16(z16) : vmovl_u16(vget_low_u16(z16)));
                    I = vsubq_s32(P, vmulq_s32(zz, A));
                }
                sc = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s + 4 * c)));
                f[c] = vaddq_f32(f[c], vmulq_f32(sc, vcvtq_f32_s32(I)));
            }
        }
    }
    for (c = 0; c < 8; ++c) vst1q_f32(out + 4 * c, f[c]);
}

void edgec_lut_block_neon(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc) {
    switch (w->bits) {
    case 1: block_bits(w, nb, row, acc, 1); break;
    case 2: block_bits(w, nb, row, acc, 2); break;
    case 3: block_bits(w, nb, row, acc, 3); break;
    default: block_bits(w, nb, row, acc, 4); break;
    }
}
#else
typedef int edgec_lut_neon_unused; /* ISO C forbids an empty translation unit */
#endif
