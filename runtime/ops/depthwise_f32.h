/* SIMD fp32 DEPTHWISE_CONV2D (depth multiplier 1) on x86 AVX2+FMA, beside the reference
 * loops of conv.c: per output pixel, 8 channels per vector, taps in (ky, kx) order with
 * fused multiply-adds, then + bias and the act clamp. Taps outside the image are
 * skipped as in the reference; results differ from it by rounding only (FMA). Four
 * horizontally adjacent pixels whose taps are all in range share each weight load. */
#ifndef EDGEC_OPS_DEPTHWISE_F32_H
#define EDGEC_OPS_DEPTHWISE_F32_H

#include <stdint.h>

typedef struct {
    const float *x;      /* image n, row 0, column 0 */
    const float *w;      /* [KH][KW][C] */
    const float *bias;   /* [C] or NULL */
    int32_t W, C, KW, stride_w, dilation_h, dilation_w, pad_left, iy0, ky0, ky1, OW;
    float lo, hi;
} edgec_dw_f32_row;

int edgec_dw_f32_simd(void);
/* All OW pixels of one output row into y (OW * C floats). */
void edgec_dw_f32_run_row(const edgec_dw_f32_row *r, float *y);

#endif
