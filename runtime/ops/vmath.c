/* Vectorized fp32 exp / erf / sigmoid loops (contract in vmath.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vmath.h"

static double exp_sum_scalar(const float *x, float *y, size_t n, float beta, float shift) {
    double sum = 0.0;
    size_t i;
    for (i = 0; i < n; ++i) {
        y[i] = expf(beta * (x[i] - shift));
        sum += y[i];
    }
    return sum;
}

static void gelu_erf_scalar(const float *x, float *y, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
}

static void gelu_tanh_scalar(const float *x, float *y, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    }
}

static void sigmoid_scalar(const float *x, float *y, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FMA_AVX2 __attribute__((target("avx2,fma")))

int edgec_vmath_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* exp(x): n = round(x log2 e), r = x - n ln 2 (two-part ln 2), degree-6 Taylor on
 * |r| <= ln2/2 (truncation < 1.2e-7 relative), times 2^n built in the exponent bits.
 * Inputs below -87.3 give 0 (as expf's denormal range, within absolute tolerance). */
static inline FMA_AVX2 __m256 exp8(__m256 x) {
    const __m256 hi_limit = _mm256_set1_ps(88.3762626647949f), lo_limit = _mm256_set1_ps(-87.3365478515625f);
    const __m256 too_small = _mm256_cmp_ps(x, lo_limit, _CMP_LT_OQ);
    __m256 n, r, p;
    __m256i e;
    x = _mm256_min_ps(x, hi_limit);
    x = _mm256_max_ps(x, lo_limit);
    n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(too_small, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

static inline FMA_AVX2 __m256 sigmoid8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/* erf(z) for z >= 0 by A&S 7.1.26 (|error| <= 1.5e-7), sign restored after */
static inline FMA_AVX2 __m256 erf8(__m256 z) {
    const __m256 sign = _mm256_and_ps(z, _mm256_set1_ps(-0.0f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    p = _mm256_fnmadd_ps(p, exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), a), a)), _mm256_set1_ps(1.0f));
    return _mm256_or_ps(p, sign);
}

FMA_AVX2 double edgec_vexp_sum(const float *x, float *y, size_t n, float beta, float shift) {
    const __m256 b = _mm256_set1_ps(beta), s = _mm256_set1_ps(shift);
    __m256d acc0 = _mm256_setzero_pd(), acc1 = acc0;
    double part[4];
    size_t i = 0;
    if (!edgec_vmath_simd()) return exp_sum_scalar(x, y, n, beta, shift);
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_mul_ps(b, _mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
        _mm256_storeu_ps(y + i, e);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    _mm256_storeu_pd(part, _mm256_add_pd(acc0, acc1));
    return part[0] + part[1] + part[2] + part[3] + exp_sum_scalar(x + i, y + i, n - i, beta, shift);
}

FMA_AVX2 void edgec_vgelu_erf(const float *x, float *y, size_t n) {
    size_t i = 0;
    if (edgec_vmath_simd())
        for (; i + 8 <= n; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            const __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.7071067811865476f)));
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), e)));
        }
    gelu_erf_scalar(x + i, y + i, n - i);
}

FMA_AVX2 void edgec_vgelu_tanh(const float *x, float *y, size_t n) {
    size_t i = 0;
    if (edgec_vmath_simd())
        for (; i + 8 <= n; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            const __m256 inner = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f),
                                               _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), v), _mm256_mul_ps(v, v), v));
            _mm256_storeu_ps(y + i, _mm256_mul_ps(v, sigmoid8(inner)));
        }
    gelu_tanh_scalar(x + i, y + i, n - i);
}

FMA_AVX2 void edgec_vsigmoid(const float *x, float *y, size_t n) {
    size_t i = 0;
    if (edgec_vmath_simd())
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, sigmoid8(_mm256_loadu_ps(x + i)));
    sigmoid_scalar(x + i, y + i, n - i);
}
#else
int edgec_vmath_simd(void) { return 0; }
double edgec_vexp_sum(const float *x, float *y, size_t n, float beta, float shift) {
    return exp_sum_scalar(x, y, n, beta, shift);
}
void edgec_vgelu_erf(const float *x, float *y, size_t n) { gelu_erf_scalar(x, y, n); }
void edgec_vgelu_tanh(const float *x, float *y, size_t n) { gelu_tanh_scalar(x, y, n); }
void edgec_vsigmoid(const float *x, float *y, size_t n) { sigmoid_scalar(x, y, n); }
#endif
