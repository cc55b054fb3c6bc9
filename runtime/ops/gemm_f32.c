/* Packed fp32 GEMM (contract and layout in gemm_f32.h): x86 AVX2+FMA, 6x16 tiles. */
#include <stdlib.h>
#include <string.h>

#include "gemm_f32.h"

#define NR 16
#define MR 6

size_t edgec_gemm_f32_packed_bytes(int32_t n, int32_t k) {
    const size_t n_pad = ((size_t)n + NR - 1) / NR * NR;
    return (n_pad * (size_t)k + n_pad) * sizeof(float);
}

void edgec_gemm_f32_pack(uint8_t *dst, const edgec_gemm_f32_shape *s, const float *w, const float *bias) {
    float *pw = (float *)dst, *b2 = pw + (size_t)s->n_pad * (size_t)s->k;
    int32_t nb, k, j;
    for (nb = 0; nb < s->n_pad; nb += NR)
        for (k = 0; k < s->k; ++k)
            for (j = 0; j < NR; ++j) *pw++ = nb + j < s->n ? w[(ptrdiff_t)(nb + j) * s->k + k] : 0.0f;
    for (j = 0; j < s->n_pad; ++j) b2[j] = j < s->n && bias ? bias[j] : 0.0f;
}

/* Row pointers of A: segment g of row i (rows given, or a plain matrix with one segment). */
typedef struct {
    const float *a;
    ptrdiff_t lda;
    const float *const *rows;
    int32_t nseg, seglen;
} a_rows;

static inline const float *a_seg(const a_rows *A, int32_t i, int32_t g) {
    return A->rows ? A->rows[(ptrdiff_t)i * A->nseg + g] : A->a + i * A->lda;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include "lanes_avx2.h"
#define FMA_AVX2 __attribute__((target("avx2,fma")))

static int have_fma_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

int edgec_gemm_f32_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    return have_fma_avx2();
}

/* Row `row` of the tile at columns [nb, nb + valid): + bias (+ residual), clamp, store. */
static inline __attribute__((always_inline)) FMA_AVX2 void store_row(const edgec_gemm_f32_shape *s, float *y,
                                                                     ptrdiff_t row, int32_t nb, __m256 v0, __m256 v1,
                                                                     const float *b, __m256 lo, __m256 hi,
                                                                     int32_t valid) {
    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(b + nb));
    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(b + nb + 8));
    if (s->res) { /* channels past rc add 0 */
        const float *r = s->res + row * s->ldr + nb;
        const int32_t have = s->rc - nb < valid ? s->rc - nb : valid;
        if (have >= NR) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(r));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(r + 8));
        } else if (have >= 8) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(r));
            v1 = _mm256_add_ps(v1, edgec_load_ps_n(r + 8, have - 8));
        } else if (have > 0) {
            v0 = _mm256_add_ps(v0, edgec_load_ps_n(r, have));
        }
    }
    /* operand order keeps NaN, as the reference clamp does */
    v0 = _mm256_min_ps(hi, _mm256_max_ps(lo, v0));
    v1 = _mm256_min_ps(hi, _mm256_max_ps(lo, v1));
    if (valid >= 8) {
        _mm256_storeu_ps(y, v0);
        edgec_store_ps_n(y + 8, v1, valid - 8);
    } else {
        edgec_store_ps_n(y, v0, valid);
    }
}

/* Columns [nb, nb + 16 + valid) with valid <= 8: a full block and a block whose second
 * half is padding, as 4x24 tiles (12 accumulators, every multiply-add useful) instead of
 * two 6x16 tiles of which a quarter of the work is padding. */
static FMA_AVX2 void run_24(const edgec_gemm_f32_shape *s, const a_rows *A, int32_t nb, const float *packed,
                            const float *bias, int32_t m, float *y, ptrdiff_t ldy, int32_t valid) {
    const __m256 lo = _mm256_set1_ps(s->lo), hi = _mm256_set1_ps(s->hi);
    int32_t m0, g, j, r;
    for (m0 = 0; m0 < m; m0 += 4) {
        const int32_t rows = m - m0 < 4 ? m - m0 : 4;
        const float *pw0 = packed + (size_t)nb * (size_t)s->k, *pw1 = pw0 + (size_t)NR * (size_t)s->k;
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        __m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        for (g = 0; g < A->nseg; ++g) { /* extra rows repeat the last one, unused */
            const float *a0 = a_seg(A, m0, g), *a1 = a_seg(A, m0 + (rows > 1 ? 1 : 0), g);
            const float *a2 = a_seg(A, m0 + (rows > 2 ? 2 : 0), g), *a3 = a_seg(A, m0 + (rows > 3 ? 3 : 0), g);
            for (j = 0; j < A->seglen; ++j, pw0 += NR, pw1 += NR) {
                const __m256 w0 = _mm256_load_ps(pw0), w1 = _mm256_load_ps(pw0 + 8), w2 = _mm256_load_ps(pw1);
                __m256 b = _mm256_broadcast_ss(a0 + j);
                c00 = _mm256_fmadd_ps(b, w0, c00), c01 = _mm256_fmadd_ps(b, w1, c01), c02 = _mm256_fmadd_ps(b, w2, c02);
                b = _mm256_broadcast_ss(a1 + j);
                c10 = _mm256_fmadd_ps(b, w0, c10), c11 = _mm256_fmadd_ps(b, w1, c11), c12 = _mm256_fmadd_ps(b, w2, c12);
                b = _mm256_broadcast_ss(a2 + j);
                c20 = _mm256_fmadd_ps(b, w0, c20), c21 = _mm256_fmadd_ps(b, w1, c21), c22 = _mm256_fmadd_ps(b, w2, c22);
                b = _mm256_broadcast_ss(a3 + j);
                c30 = _mm256_fmadd_ps(b, w0, c30), c31 = _mm256_fmadd_ps(b, w1, c31), c32 = _mm256_fmadd_ps(b, w2, c32);
            }
        }
        for (r = 0; r < rows; ++r) {
            const __m256 v0 = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
            const __m256 v1 = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
            const __m256 v2 = r == 0 ? c02 : r == 1 ? c12 : r == 2 ? c22 : c32;
            float *yr = y + (m0 + r) * ldy;
            store_row(s, yr + nb, m0 + r, nb, v0, v1, bias, lo, hi, NR);
            store_row(s, yr + nb + NR, m0 + r, nb + NR, v2, v2, bias, lo, hi, valid);
        }
    }
}

static FMA_AVX2 void run(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m, const a_rows *A,
                         float *y, ptrdiff_t ldy, int32_t n_begin, int32_t n_end) {
    const float *b2 = (const float *)packed + (size_t)s->n_pad * (size_t)s->k;
    const __m256 lo = _mm256_set1_ps(s->lo), hi = _mm256_set1_ps(s->hi);
    const int32_t tail = (n_end - n_begin) % NR;
    int32_t m0, nb, g, j, r;
    if (tail > 0 && tail <= 8 && n_end - n_begin > NR) { /* the last 16 + tail columns as 4x24 tiles */
        const int32_t nt = n_end - tail - NR;
        run_24(s, A, nt, (const float *)packed, b2, m, y, ldy, tail);
        n_end = nt;
    }
    for (m0 = 0; m0 < m; m0 += MR) {
        const int32_t rows = m - m0 < MR ? m - m0 : MR;
        for (nb = n_begin; nb < n_end; nb += NR) {
            const float *pw = (const float *)packed + (size_t)nb * (size_t)s->k;
            const int32_t valid = n_end - nb < NR ? n_end - nb : NR;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
            __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
            for (g = 0; g < A->nseg; ++g) {
                const float *ar[MR];
                for (r = 0; r < MR; ++r) ar[r] = a_seg(A, m0 + (r < rows ? r : rows - 1), g); /* extra rows: unused */
                for (j = 0; j < A->seglen; ++j, pw += NR) {
                    const __m256 w0 = _mm256_load_ps(pw), w1 = _mm256_load_ps(pw + 8);
                    __m256 b = _mm256_broadcast_ss(ar[0] + j);
                    c00 = _mm256_fmadd_ps(b, w0, c00);
                    c01 = _mm256_fmadd_ps(b, w1, c01);
                    b = _mm256_broadcast_ss(ar[1] + j);
                    c10 = _mm256_fmadd_ps(b, w0, c10);
                    c11 = _mm256_fmadd_ps(b, w1, c11);
                    b = _mm256_broadcast_ss(ar[2] + j);
                    c20 = _mm256_fmadd_ps(b, w0, c20);
                    c21 = _mm256_fmadd_ps(b, w1, c21);
                    b = _mm256_broadcast_ss(ar[3] + j);
                    c30 = _mm256_fmadd_ps(b, w0, c30);
                    c31 = _mm256_fmadd_ps(b, w1, c31);
                    b = _mm256_broadcast_ss(ar[4] + j);
                    c40 = _mm256_fmadd_ps(b, w0, c40);
                    c41 = _mm256_fmadd_ps(b, w1, c41);
                    b = _mm256_broadcast_ss(ar[5] + j);
                    c50 = _mm256_fmadd_ps(b, w0, c50);
                    c51 = _mm256_fmadd_ps(b, w1, c51);
                }
            }
            {
                float *yb = y + m0 * ldy + nb;
                store_row(s, yb, m0, nb, c00, c01, b2, lo, hi, valid);
                if (rows > 1) store_row(s, yb + ldy, m0 + 1, nb, c10, c11, b2, lo, hi, valid);
                if (rows > 2) store_row(s, yb + 2 * ldy, m0 + 2, nb, c20, c21, b2, lo, hi, valid);
                if (rows > 3) store_row(s, yb + 3 * ldy, m0 + 3, nb, c30, c31, b2, lo, hi, valid);
                if (rows > 4) store_row(s, yb + 4 * ldy, m0 + 4, nb, c40, c41, b2, lo, hi, valid);
                if (rows > 5) store_row(s, yb + 5 * ldy, m0 + 5, nb, c50, c51, b2, lo, hi, valid);
            }
        }
    }
}
#elif defined(__aarch64__)
#include <arm_neon.h>

int edgec_gemm_f32_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    return 1; /* NEON is part of armv8-a */
}

static void run(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m, const a_rows *A, float *y,
                ptrdiff_t ldy, int32_t n_begin, int32_t n_end) {
    const float *b2 = (const float *)packed + (size_t)s->n_pad * (size_t)s->k;
    const float32x4_t lo = vdupq_n_f32(s->lo), hi = vdupq_n_f32(s->hi);
    int32_t m0, nb, g, j, r, q;
    for (m0 = 0; m0 < m; m0 += MR) {
        const int32_t rows = m - m0 < MR ? m - m0 : MR;
        for (nb = n_begin; nb < n_end; nb += NR) {
            const float *pw = (const float *)packed + (size_t)nb * (size_t)s->k;
            const int32_t valid = n_end - nb < NR ? n_end - nb : NR;
            float32x4_t c[MR][4];
            for (r = 0; r < MR; ++r)
                for (q = 0; q < 4; ++q) c[r][q] = vdupq_n_f32(0.0f);
            for (g = 0; g < A->nseg; ++g) {
                const float *ar[MR];
                for (r = 0; r < MR; ++r) ar[r] = a_seg(A, m0 + (r < rows ? r : rows - 1), g); /* extra rows: unused */
                for (j = 0; j < A->seglen; ++j, pw += NR) {
                    const float32x4_t w0 = vld1q_f32(pw), w1 = vld1q_f32(pw + 4), w2 = vld1q_f32(pw + 8),
                                      w3 = vld1q_f32(pw + 12);
                    for (r = 0; r < MR; ++r) {
                        const float32x4_t v = vdupq_n_f32(ar[r][j]);
                        c[r][0] = vfmaq_f32(c[r][0], v, w0);
                        c[r][1] = vfmaq_f32(c[r][1], v, w1);
                        c[r][2] = vfmaq_f32(c[r][2], v, w2);
                        c[r][3] = vfmaq_f32(c[r][3], v, w3);
                    }
                }
            }
            for (r = 0; r < rows; ++r) {
                float out[NR], res[NR] = {0};
                if (s->res) {
                    const int32_t have = s->rc - nb < valid ? s->rc - nb : valid;
                    if (have > 0) memcpy(res, s->res + (m0 + r) * s->ldr + nb, sizeof(float) * (size_t)have);
                }
                for (q = 0; q < 4; ++q) { /* vmax/vmin propagate NaN, as the reference clamp keeps it */
                    float32x4_t v = vaddq_f32(c[r][q], vld1q_f32(b2 + nb + 4 * q));
                    if (s->res) v = vaddq_f32(v, vld1q_f32(res + 4 * q));
                    vst1q_f32(out + 4 * q, vminq_f32(vmaxq_f32(v, lo), hi));
                }
                memcpy(y + (m0 + r) * ldy + nb, out, sizeof(float) * (size_t)valid);
            }
        }
    }
}
#endif

#if (defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))) || defined(__aarch64__)
void edgec_gemm_f32_run(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m, const float *a,
                        ptrdiff_t lda, float *y, ptrdiff_t ldy, int32_t n_begin, int32_t n_end) {
    const a_rows A = {a, lda, 0, 1, s->k};
    run(s, packed, m, &A, y, ldy, n_begin, n_end);
}

void edgec_gemm_f32_run_rows(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m,
                             const float *const *rows, int32_t nseg, float *y, ptrdiff_t ldy, int32_t n_begin,
                             int32_t n_end) {
    const a_rows A = {0, 0, rows, nseg, s->k / nseg};
    run(s, packed, m, &A, y, ldy, n_begin, n_end);
}
#else
int edgec_gemm_f32_simd(void) { return 0; }

void edgec_gemm_f32_run(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m, const float *a,
                        ptrdiff_t lda, float *y, ptrdiff_t ldy, int32_t n_begin, int32_t n_end) {
    (void)s, (void)packed, (void)m, (void)a, (void)lda, (void)y, (void)ldy, (void)n_begin, (void)n_end; /* never chosen */
}

void edgec_gemm_f32_run_rows(const edgec_gemm_f32_shape *s, const uint8_t *packed, int32_t m,
                             const float *const *rows, int32_t nseg, float *y, ptrdiff_t ldy, int32_t n_begin,
                             int32_t n_end) {
    (void)s, (void)packed, (void)m, (void)rows, (void)nseg, (void)y, (void)ldy, (void)n_begin, (void)n_end;
}
#endif
