/* Per-channel shift terms of TFLite's requantization, precomputed when int8 weights are
 * packed (gemm_int8.c, depthwise_int8.c) so the SIMD requantization (requant_avx2.h)
 * does not derive them per call: left = max(shift, 0), right = max(-shift, 0),
 * mask = 2^right - 1, half = mask >> 1 (RDBPOT's remainder mask and threshold). */
#ifndef EDGEC_OPS_REQUANT_TERMS_H
#define EDGEC_OPS_REQUANT_TERMS_H

#include <stdint.h>

static inline void edgec_requant_terms(int32_t shift, int32_t *left, int32_t *right, int32_t *mask, int32_t *half) {
    *left = shift > 0 ? shift : 0;
    *right = shift > 0 ? 0 : -shift;
    *mask = (int32_t)(((uint32_t)1 << *right) - 1u);
    *half = (int32_t)((uint32_t)*mask >> 1);
}

#endif
