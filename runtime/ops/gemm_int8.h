/* Packed int8 GEMM with TFLite requantization, the fast path of int8 CONV2D (1x1 convs
 * directly, other convs through an im2col row) and, later, FULLY_CONNECTED.
 *
 *   y[m, n] = clamp(mbqm(sum_k a[m, k] * w[n, k] + bias'[n], mult[n], shift[n]) + y_zp)
 *   bias'[n] = bias[n] - a_zp * sum_k w[n, k]
 *
 * which equals the reference sum_k w * (a - a_zp) + bias exactly (int32 arithmetic
 * modulo 2^32; the reference's checks keep the true sum inside int32), so the result is
 * bit-identical to conv_int8.c for any blocking or summation order. Padding taps of an
 * im2col row must hold a_zp (they then contribute 0, as the reference's skipped taps).
 *
 * Packed layout (edgec_gemm_i8_pack), for blocks of NR = 16 output channels and pairs of
 * k: 32 bytes per (block, k pair) = two halves of 8 channels x (w[n][2p], w[n][2p+1]),
 * so one sign-extension gives the int16 pairs of a pmaddwd / smlal. Then bias', mult and
 * shift padded to a multiple of 16. */
#ifndef EDGEC_OPS_GEMM_INT8_H
#define EDGEC_OPS_GEMM_INT8_H

#include <stddef.h>
#include <stdint.h>

#define EDGEC_GEMM_I8_NR 16
#define EDGEC_GEMM_I8_MR 4

typedef struct {
    int32_t n, k, k_pad, n_pad;
    int32_t y_zp, q_min, q_max;
} edgec_gemm_i8_shape;

/* The shape of n output channels of k inputs, output zero point and clamp (k_pad, n_pad set). */
edgec_gemm_i8_shape edgec_gemm_i8_make_shape(int32_t n, int32_t k, int32_t y_zp, int32_t q_min, int32_t q_max);
/* Bytes of the packed buffer for n output channels of k inputs (64-aligned layout). */
size_t edgec_gemm_i8_packed_bytes(int32_t n, int32_t k);
/* Bytes of scratch one edgec_gemm_i8_run call needs (int16 copy of MR rows of a). */
size_t edgec_gemm_i8_scratch_bytes(int32_t k);
/* w is [n][k] row-major int8; bias (NULL = 0), mult and shift are int32[n]. */
void edgec_gemm_i8_pack(uint8_t *dst, const edgec_gemm_i8_shape *s, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t a_zp);
/* m rows of a (lda bytes apart) -> m rows of y (ldy bytes apart, n channels each). */
void edgec_gemm_i8_run(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t m,
                       const int8_t *a, ptrdiff_t lda, int8_t *y, ptrdiff_t ldy, void *scratch);
/* The same with A given by row pointers (an implicit im2col): row i of A is nseg segments
 * of k / nseg values, segment g at rows[i * nseg + g]. */
void edgec_gemm_i8_run_rows(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t m,
                            const int8_t *const *rows, int32_t nseg, int8_t *y, ptrdiff_t ldy, void *scratch);
/* sum_i a[i] * b[i], exact in int32 for k < 2^17 (AVX2 / NEON where present). */
int32_t edgec_dot_i8(const int8_t *a, const int8_t *b, int32_t k);
/* Whether edgec_gemm_i8_run has a SIMD kernel on this CPU (else it runs portable C). */
int edgec_gemm_i8_simd(void);

#endif
