/* Block-sparse GEMM fast paths of SPARSE_FULLY_CONNECTED (format in format.h):
 *   y[m, n] = act(bias[n] + sum over nonzero blocks of w[n, k] * x[m, k])
 * for tiles of EDGEC_SPARSE_MT rows of x. A tile transposes its rows (k-major, one SIMD
 * register of rows per k), multiplies each block by broadcast weights, and transposes
 * the outputs back, so both 1x4 and 4x1 blocks vectorize over rows.
 *
 * int8: sum_k w * x on the raw int8 x (int16 pairs, pmaddwd / smlal: exact) plus
 * bias'[n] = bias[n] - x_zp * sum_k w[n, k] modulo 2^32, as gemm_int8.h: the same int32
 * as the reference's sum w * (x - x_zp) + bias, then the same requantization, so the
 * result is bit-identical to sparse_fc.c's reference loops and to the dense int8 kernels.
 * fp32: fused multiply-adds in a different order than the reference: equal to rounding.
 *
 * int8 packed layout (edgec_sparse_i8_pack): per block, weights as int32 words holding
 * int16 pairs (w[k], w[k+1]) for one pmaddwd: 1x4 blocks 2 words (k pairs 0-1, 2-3), 4x1
 * blocks 4 words (output i's weight in the low half when k is even, else the high half);
 * then bias'[N], multiplier[N], shift[N]. For 4x1 blocks a pair region follows, so one
 * pmaddwd covers two blocks of a row: pairptr[N/4 + 1], then per pair of consecutive blocks
 * (a, b) 8 words: k-pair index of a and of b, shift counts that move x[col a] into the low
 * and x[col b] into the high int16 of a lane, and pair(w_i^a, w_i^b) for i < 4 (an odd last
 * block pairs with itself and weight 0). */
#ifndef EDGEC_OPS_SPARSE_GEMM_H
#define EDGEC_OPS_SPARSE_GEMM_H

#include <stddef.h>
#include <stdint.h>

#define EDGEC_SPARSE_MT 16

typedef struct {
    int32_t n, k, bh, bw, nnzb;
    const int32_t *cols, *rowptr;  /* validated CSR (sparse_fc.c prepare) */
    float lo, hi;                  /* fp32 clamp */
    int32_t x_zp, y_zp, q_min, q_max;
} edgec_sparse_shape;

/* Whether a SIMD tile kernel exists on this CPU (EDGEC_KERNELS=reference: 0). */
int edgec_sparse_simd(void);
size_t edgec_sparse_scratch_bytes(const edgec_sparse_shape *s);
size_t edgec_sparse_i8_packed_bytes(const edgec_sparse_shape *s);
void edgec_sparse_i8_pack(uint8_t *dst, const edgec_sparse_shape *s, const int8_t *values,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift);
/* rows [0, m) of x (k apart) -> y (n apart); m <= EDGEC_SPARSE_MT */
void edgec_sparse_f32_tile(const edgec_sparse_shape *s, const float *values, const float *bias, int32_t m,
                           const float *x, float *y, void *scratch);
void edgec_sparse_i8_tile(const edgec_sparse_shape *s, const uint8_t *packed, int32_t m, const int8_t *x,
                          int8_t *y, void *scratch);

#endif
