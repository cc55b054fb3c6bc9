/* Packed fp32 GEMM with bias and activation clamp, the fast path of fp32 CONV2D (1x1
 * convs directly, other convs through an im2col row) on x86 AVX2+FMA:
 *   y[m, n] = clamp(sum_k a[m, k] * w[n, k] + bias[n], lo, hi)
 * Sums run in k order with fused multiply-adds, so results differ from the reference
 * kernel's (separate multiply and add) by rounding only; fp32 paths are compared with a
 * tolerance, never bit for bit (runtime/OPS.md).
 *
 * Optional residual (res != NULL): y[m, n] = clamp(sum + bias[n] + res[m * ldr + n], lo, hi)
 * for n < rc, + 0 past rc (a zero channel-pad of the skip path); res is indexed like y,
 * from the same first row.
 *
 * Packed layout: blocks of 16 output channels, k-major inside a block (16 floats per
 * k), zero-padded; then bias[n_pad]. */
#ifndef EDGEC_OPS_GEMM_F32_H
#define EDGEC_OPS_GEMM_F32_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t n, k, n_pad;
    float lo, hi;
    const float *res; /* NULL: no residual */
    ptrdiff_t ldr;
    int32_t rc;
} edgec_gemm_f32_shape;

/* Whether this CPU has the SIMD kernel (and EDGEC_KERNELS is not "reference"). */
int edgec_gemm_f32_simd(void);
size_t edgec_gemm_f32_packed_bytes(int32_t n, int32_t k);
/* w is [n][k] row-major; bias may be NULL. */
void edgec_gemm_f32_pack(uint8_t *dst, const edgec_gemm_f32_shape *s, const float *w, const float *bias);
/* m rows of a (lda floats apart) -> columns [n_begin, n_end) of m rows of y (ldy floats
 * apart); n_begin is a multiple of 16, n_end <= n (n_end = n: all columns). */
void edgec_gemm_f32_run(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m, const float *a,
                        ptrdiff_t lda, float *y, ptrdiff_t ldy, int32_t n_begin, int32_t n_end);
/* The same with A given by row pointers (an implicit im2col): row i of A is nseg segments
 * of k / nseg floats, segment g at rows[i * nseg + g]. */
void edgec_gemm_f32_run_rows(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m,
                             const float *const *rows, int32_t nseg, float *y, ptrdiff_t ldy, int32_t n_begin,
                             int32_t n_end);

#endif
