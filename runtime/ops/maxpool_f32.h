/* SIMD fp32 MAX_POOL2D beside pool.c's reference loops (x86 AVX2, aarch64 NEON): one
 * output pixel over in-image taps [iy0, iy1) x [ix0, ix1), 8 (AVX2) or 4 (NEON) channels
 * per vector, then the act clamp. Same result as the reference bit for bit: a max is
 * exact, and a NaN tap wins and stays, as edgec_maxf keeps it. */
#ifndef EDGEC_OPS_MAXPOOL_F32_H
#define EDGEC_OPS_MAXPOOL_F32_H

#include <stddef.h>
#include <stdint.h>

/* Whether this CPU has the SIMD kernel (and EDGEC_KERNELS is not "reference"). */
int edgec_maxpool_f32_simd(void);
/* xn: image n at row 0, column 0 (W * C floats a row). */
void edgec_maxpool_f32_pixel(const float *xn, int32_t W, int32_t C, int32_t iy0, int32_t iy1, int32_t ix0,
                             int32_t ix1, float lo, float hi, float *out);

#endif
