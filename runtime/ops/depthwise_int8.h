/* SIMD int8 DEPTHWISE_CONV2D (depth multiplier 1), the fast path beside the reference
 * loops of conv_int8.c and bit-identical to them:
 *   acc[c] = bias[c] + sum over in-image taps of w[tap][c] * (x[tap][c] - x_zp)
 * in int32 (int16 pairs of taps through pmaddwd), then TFLite requantization. Taps
 * outside the image contribute 0, exactly like the reference's skipped taps.
 *
 * Packed layout (edgec_dw_i8_pack): per block of 16 channels and pair of taps (taps
 * padded to even with zero weights), 64 bytes = two vectors of 8 int16 pairs
 * (w[t][c], w[t+1][c]) for channels {0-3, 8-11} then {4-7, 12-15} of the block, the
 * order in which unpack{lo,hi}_epi16 interleave two tap rows. Then bias, mult, shift
 * as int32[c_pad]. */
#ifndef EDGEC_OPS_DEPTHWISE_INT8_H
#define EDGEC_OPS_DEPTHWISE_INT8_H

#include <stddef.h>
#include <stdint.h>

#define EDGEC_DW_MAX_TAPS 64 /* KH * KW the SIMD path takes */

typedef struct {
    int32_t c, c_pad, taps, taps_pad;
    int32_t x_zp, y_zp, q_min, q_max;
} edgec_dw_i8_shape;

/* Whether this CPU has the SIMD kernel (and EDGEC_KERNELS is not "reference"). */
int edgec_dw_i8_simd(void);
size_t edgec_dw_i8_packed_bytes(int32_t c, int32_t taps);
/* w is [taps][c] (the [1,KH,KW,C] weights); bias may be NULL. */
void edgec_dw_i8_pack(uint8_t *dst, const edgec_dw_i8_shape *s, const int8_t *w, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift);
/* One output pixel: tap_rows[t] points at the input pixel of tap t (channel 0), or is
 * NULL when the tap is outside the image; writes c int8 values to y. */
void edgec_dw_i8_pixel(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                       int8_t *y);
/* n consecutive output pixels whose taps are all in the image: pixel p's tap t at
 * tap_rows[t] + p * step; writes n * c int8 values to y. */
void edgec_dw_i8_run(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                     ptrdiff_t step, int32_t n, int8_t *y);

#endif
