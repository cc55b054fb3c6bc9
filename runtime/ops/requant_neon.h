/* NEON building blocks shared by the aarch64 int8 kernels (gemm_int8.c, depthwise_int8.c,
 * binary_int8.c): TFLite requantization on 4 lanes, bit-exact with fixedpoint.h.
 * SRDHM is exactly vqrdmulh (saturation case included); RDBPOT mirrors the scalar
 * remainder/threshold form. Include only under __aarch64__. */
#ifndef EDGEC_OPS_REQUANT_NEON_H
#define EDGEC_OPS_REQUANT_NEON_H

#include <arm_neon.h>
#include <stdint.h>

static inline int32x4_t edgec_mbqm4_neon(int32x4_t x, int32x4_t mult, int32x4_t shift) {
    const int32x4_t zero = vdupq_n_s32(0), one = vdupq_n_s32(1);
    const int32x4_t left = vmaxq_s32(shift, zero), right = vmaxq_s32(vnegq_s32(shift), zero);
    const int32x4_t h = vqrdmulhq_s32(vshlq_s32(x, left), mult);
    const int32x4_t mask = vsubq_s32(vshlq_s32(one, right), one);
    const int32x4_t rem = vandq_s32(h, mask);
    const int32x4_t thr = vsubq_s32(vshrq_n_s32(mask, 1), vreinterpretq_s32_u32(vcltzq_s32(h)));
    return vsubq_s32(vshlq_s32(h, vnegq_s32(right)), vreinterpretq_s32_u32(vcgtq_s32(rem, thr)));
}

/* 16 accumulators (channels 0..15 in order, 4 per vector) + bias, requantized to int8 */
static inline int8x16_t edgec_requant16_neon(const int32x4_t acc[4], const int32_t *bias, const int32_t *mult,
                                             const int32_t *shift, int32_t y_zp, int32_t q_min, int32_t q_max) {
    const int32x4_t zp = vdupq_n_s32(y_zp), lo = vdupq_n_s32(q_min), hi = vdupq_n_s32(q_max);
    int32x4_t v[4];
    int j;
    for (j = 0; j < 4; ++j) {
        v[j] = edgec_mbqm4_neon(vaddq_s32(acc[j], vld1q_s32(bias + 4 * j)), vld1q_s32(mult + 4 * j),
                                vld1q_s32(shift + 4 * j));
        v[j] = vminq_s32(vmaxq_s32(vaddq_s32(v[j], zp), lo), hi);
    }
    return vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]))),
                       vqmovn_s16(vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]))));
}

#endif
