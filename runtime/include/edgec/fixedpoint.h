/*
 * edgec/fixedpoint.h -- TFLite's integer requantization primitives (gemmlowp), exactly.
 * Every int8 kernel and target uses these, and runtime/fixedpoint.py defines the same
 * functions in numpy, so all compute identical integers (TFLite's default double
 * rounding). Shifts of negative values are arithmetic on every supported compiler.
 */
#ifndef EDGEC_FIXEDPOINT_H
#define EDGEC_FIXEDPOINT_H

#include <stdint.h>

/* The CUDA kernels (runtime/ops/cuda/) call these same functions on the device. */
#if defined(__CUDACC__)
#define EDGEC_FP_INLINE __host__ __device__ static inline
#else
#define EDGEC_FP_INLINE static inline
#endif

/* round(a * b / 2^31), saturating the one overflow case */
EDGEC_FP_INLINE int32_t edgec_srdhm(int32_t a, int32_t b) {
    int64_t ab;
    int64_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward 0 */
}

/* x / 2^exponent, rounding half away from zero */
EDGEC_FP_INLINE int32_t edgec_rdbpot(int32_t x, int32_t exponent) {
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier: x * multiplier * 2^(shift - 31). x * 2^left
 * wraps to 32 bits as TFLite's int32 product does (written as a 64-bit shift and an
 * explicit truncation, so integer sanitizers see the wrap is intended). */
EDGEC_FP_INLINE int32_t edgec_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const uint32_t scaled = (uint32_t)(((uint64_t)(uint32_t)x << left) & 0xffffffffu);
    return edgec_rdbpot(edgec_srdhm((int32_t)scaled, multiplier), right);
}

/* TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0) */
EDGEC_FP_INLINE int32_t edgec_mbqm_small(int32_t x, int32_t multiplier, int32_t shift) {
    return edgec_rdbpot(edgec_srdhm(x, multiplier), -shift);
}

EDGEC_FP_INLINE int32_t edgec_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

#endif /* EDGEC_FIXEDPOINT_H */
