/* T-MAC table-lookup GEMM over low-bit weights (blob layout: edgec_lowbit_header in
 * format.h). One call computes 32 output columns (one weight block) for one activation row:
 *
 *   acc[j] = sum over groups g in order of  scale[n, g] * float(P[n, g] - zero[n, g] * A[g])
 *   P[n, g] = sum_{k in g} q[n, k] * a[k]  (integer, exact: looked up per bit plane and
 *             4 activations in int16 tables, then sum_b 2^b * plane sum)
 *   A[g]    = sum_{k in g} a[k]
 *
 * float ops are a multiply then an add per group, in group order (no FMA: -ffp-contract=off),
 * so every variant (reference C, AVX2, NEON) and runtime/lowbit.py agree bit for bit.
 *
 * Row preparation (edgec_lut_prepare_row, shared by all variants) quantizes x to int8:
 *   amax = max |x[k]| (NaN ignored), sx = amax / 127, inv = amax > 0 ? 127 / amax : 0,
 *   a[k] = rint(clamp(x[k] * inv, -127, 127)) (ties to even; NaN -> -127)
 * and fills, per group of 4 activations, the 16 partial sums T[i] = sum_t bit t of i * a[t]
 * as a low-byte table and a high-byte table (16 + 16 bytes; T fits in 10 bits, so the two
 * bytes are exact), two groups of 4 (one k pair) per 64 bytes.
 *
 * table_mode 1 (int8 tables, T-MAC's fast mode; runtime/lowbit.py _int8_table_sums): per
 * weight group, shift s = smallest s >= 0 with rne(m, s) <= 127 (m = max |T| over the
 * group's tables, rne = round(v / 2^s) ties to even); tables become int8 rne(T, s), 16
 * bytes per group of 4 (32 per k pair), the shifts follow the group sums, and
 * P = (sum of lookups) << s. */
#ifndef EDGEC_OPS_LUT_GEMM_H
#define EDGEC_OPS_LUT_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "edgec/format.h"

#define EDGEC_LUT_NB 32 /* output columns per weight block */

typedef struct {
    int32_t bits, group, n, k;
    int32_t n_pad, k8, kpairs, groups;
    const uint8_t *planes;   /* [n_pad/32][kpairs][bits][32] */
    const uint16_t *scales;  /* [n_pad/32][groups][32] half floats */
    const uint8_t *zeros;    /* [n_pad/32][groups][32] */
    int32_t table_mode;      /* 0 exact int16 tables, 1 int8 tables (set by the op, not the blob) */
} edgec_lut_weights;

/* Bytes of a blob with these parameters (0 when they are out of range). */
uint64_t edgec_lut_blob_bytes(int32_t bits, int32_t group, int32_t n, int32_t k);
/* Checks a blob (header, sizes, zero points) and fills *w; on failure writes a message to
 * msg and returns nonzero. Never reads outside [blob, blob + nbytes). */
int edgec_lut_weights_view(const uint8_t *blob, uint64_t nbytes, edgec_lut_weights *w, char *msg,
                           size_t msg_size);
/* Fills *w from a blob that edgec_lut_weights_view accepted (no checks). */
void edgec_lut_weights_bind(const uint8_t *blob, edgec_lut_weights *w);

/* Bytes of per-row state: tables (k8 * 8 bytes) then A[groups] and shifts[groups] (int32), 64-aligned. */
size_t edgec_lut_row_bytes(const edgec_lut_weights *w);
/* Quantizes row x[0..k) and writes its tables and group sums into row (row_bytes); *sx = amax / 127. */
void edgec_lut_prepare_row(const edgec_lut_weights *w, const float *x, uint8_t *row, float *sx);

/* table_mode 1: turns the exact tables of a prepared row into int8 tables and shifts. */
void edgec_lut_int8_tables(const edgec_lut_weights *w, uint8_t *row);

/* acc[0..32) of weight block nb for a prepared row: the portable reference, and the
 * variant chosen for this CPU (EDGEC_KERNELS=reference keeps the reference). */
void edgec_lut_block_ref(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc);
typedef void (*edgec_lut_block_fn)(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc);
edgec_lut_block_fn edgec_lut_block_select(void);
/* edgec_lut_kernel_name() (edgec.h) names the variant edgec_lut_block_select returns. */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EDGEC_LUT_HAVE_AVX2 1
int edgec_lut_avx2_supported(void);
void edgec_lut_block_avx2(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc);
/* edgec_lut_prepare_row, vectorized, same bytes out (used with the AVX2 block kernel) */
void edgec_lut_prepare_row_avx2(const edgec_lut_weights *w, const float *x, uint8_t *row, float *sx);
#endif
#if defined(__aarch64__)
#define EDGEC_LUT_HAVE_NEON 1
void edgec_lut_block_neon(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc);
#endif

/* IEEE half -> float, exact (scalar; the SIMD variants use their conversion instructions). */
float edgec_lut_half_to_float(uint16_t h);

#endif
