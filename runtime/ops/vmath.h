/* Vectorized fp32 transcendental loops for the fp32 kernels (x86 AVX2+FMA; portable libm
 * loops elsewhere or under EDGEC_KERNELS=reference). Accuracy: exp within 2 ulp on
 * [-87, 88] (0 below), erf within 2e-7 absolute (Abramowitz-Stegun 7.1.26 refined by the
 * exp above), so GELU/SIGMOID/SOFTMAX stay well inside the 1e-5 relative tolerance the
 * fp32 paths are held to (runtime/OPS.md). */
#ifndef EDGEC_OPS_VMATH_H
#define EDGEC_OPS_VMATH_H

#include <stddef.h>

int edgec_vmath_simd(void);
/* y[i] = exp(beta * (x[i] - shift)); returns the sum of the y[i] in double */
double edgec_vexp_sum(const float *x, float *y, size_t n, float beta, float shift);
/* y = 0.5 x (1 + erf(x / sqrt 2)) */
void edgec_vgelu_erf(const float *x, float *y, size_t n);
/* y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) == x * sigmoid(2 sqrt(2/pi) (...)) */
void edgec_vgelu_tanh(const float *x, float *y, size_t n);
/* y = 1 / (1 + exp(-x)) */
void edgec_vsigmoid(const float *x, float *y, size_t n);

#endif
