/* Packed int8 GEMM + requantization (contract and layout in gemm_int8.h): a portable C
 * micro-kernel and an x86 AVX2 one (pmaddwd on int16 pairs: exact, unlike pmaddubsw,
 * which saturates), chosen once at run time from the CPU. */
#include <stdlib.h>
#include <string.h>

#include "requant_terms.h"

#include "edgec/fixedpoint.h"
#include "gemm_int8.h"

#define NR EDGEC_GEMM_I8_NR
#define MR EDGEC_GEMM_I8_MR

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

static int use_dot(void);

/* inputs per packed weight row: pairs (pmaddwd / vmull), or 16 (groups of 4 for sdot) */
static size_t k_packed(int32_t k) { return round_up((size_t)k, use_dot() ? 16 : 2); }

static size_t weights_bytes(const edgec_gemm_i8_shape *s) { return (size_t)s->n_pad * k_packed(s->k); }

edgec_gemm_i8_shape edgec_gemm_i8_make_shape(int32_t n, int32_t k, int32_t y_zp, int32_t q_min, int32_t q_max) {
    edgec_gemm_i8_shape s;
    s.n = n;
    s.k = k;
    s.k_pad = (k + 1) & ~1;
    s.n_pad = (n + NR - 1) / NR * NR;
    s.y_zp = y_zp;
    s.q_min = q_min;
    s.q_max = q_max;
    return s;
}

size_t edgec_gemm_i8_packed_bytes(int32_t n, int32_t k) {
    return round_up((size_t)n, NR) * k_packed(k) + 7 * sizeof(int32_t) * round_up((size_t)n, NR);
}

size_t edgec_gemm_i8_scratch_bytes(int32_t k) { return MR * round_up((size_t)k, 16) * sizeof(int16_t) + 64; }

void edgec_gemm_i8_pack(uint8_t *dst, const edgec_gemm_i8_shape *s, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t a_zp) {
    int8_t *pw = (int8_t *)dst;
    int32_t *bias2 = (int32_t *)(dst + weights_bytes(s)), *m2 = bias2 + s->n_pad, *s2 = m2 + s->n_pad;
    int32_t nb, kp, h, c, e, n;
    if (use_dot()) /* per block and group of 4 inputs: 16 channels x 4 weights (sdot lanes) */
        for (nb = 0; nb < s->n_pad; nb += NR)
            for (kp = 0; kp < (int32_t)k_packed(s->k); kp += 4)
                for (c = 0; c < NR; ++c)
                    for (e = 0; e < 4; ++e) {
                        const int32_t row = nb + c, col = kp + e;
                        *pw++ = row < s->n && col < s->k ? w[(ptrdiff_t)row * s->k + col] : 0;
                    }
    else
    for (nb = 0; nb < s->n_pad; nb += NR)
        for (kp = 0; kp < s->k_pad; kp += 2)
            for (h = 0; h < 2; ++h)
                for (c = 0; c < 8; ++c)
                    for (e = 0; e < 2; ++e) {
                        const int32_t row = nb + h * 8 + c, col = kp + e;
                        *pw++ = row < s->n && col < s->k ? w[(ptrdiff_t)row * s->k + col] : 0;
                    }
    for (n = 0; n < s->n_pad; ++n) {
        int64_t sum = 0;
        int32_t k;
        if (n < s->n)
            for (k = 0; k < s->k; ++k) sum += w[(ptrdiff_t)n * s->k + k];
        /* modulo 2^32, as every later int32 add: see gemm_int8.h */
        bias2[n] = (int32_t)(uint32_t)((uint64_t)((n < s->n && bias ? (int64_t)bias[n] : 0) - (int64_t)a_zp * sum) &
                                       0xffffffffu);
        m2[n] = n < s->n ? mult[n] : 0;
        s2[n] = n < s->n ? shift[n] : 0;
        /* left, right, mask, half (requant_avx2.h), 4 more arrays after shift */
        edgec_requant_terms(s2[n], s2 + s->n_pad + n, s2 + 2 * s->n_pad + n, s2 + 3 * s->n_pad + n,
                            s2 + 4 * s->n_pad + n);
    }
}

/* Rows of A: a plain matrix (rows == NULL), or row i as nseg segments of k / nseg values,
 * segment g at rows[i * nseg + g] (an implicit im2col). */
typedef struct {
    const int8_t *a;
    ptrdiff_t lda;
    const int8_t *const *rows;
    int32_t nseg;
} a_rows;

/* Row r's k values, from segments or the plain row, converted by COPY into d. */
#define FOR_ROW_SEGMENTS(A, s, r, COPY)                                                        \
    do {                                                                                       \
        if (!(A)->rows) {                                                                      \
            const int8_t *src = (A)->a + (r) * (A)->lda;                                       \
            const int32_t seglen = (s)->k, off = 0;                                            \
            COPY;                                                                              \
        } else {                                                                               \
            const int32_t seglen = (s)->k / (A)->nseg;                                         \
            int32_t g;                                                                         \
            for (g = 0; g < (A)->nseg; ++g) {                                                  \
                const int8_t *src = (A)->rows[(ptrdiff_t)(r) * (A)->nseg + g];                 \
                const int32_t off = g * seglen;                                                \
                COPY;                                                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)

/* int16 copy of rows [r0, r0 + rows) of A, k padded with zeros to k_pad, MR rows (missing = 0) */
static void widen_rows(const edgec_gemm_i8_shape *s, int32_t rows, const a_rows *A, int32_t r0, int16_t *a16) {
    int32_t r, k;
    for (r = 0; r < MR; ++r) {
        int16_t *d = a16 + (ptrdiff_t)r * s->k_pad;
        if (r < rows) {
            FOR_ROW_SEGMENTS(A, s, r0 + r, for (k = 0; k < seglen; ++k) d[off + k] = src[k]);
            for (k = s->k; k < s->k_pad; ++k) d[k] = 0;
        } else {
            memset(d, 0, sizeof(int16_t) * (size_t)s->k_pad);
        }
    }
}

static int8_t requant(int32_t acc, int32_t mult, int32_t shift, const edgec_gemm_i8_shape *s) {
    return (int8_t)edgec_clamp_i32(edgec_mbqm(acc, mult, shift) + s->y_zp, s->q_min, s->q_max);
}

static void kernel_c(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t rows,
                     const int16_t *a16, int8_t *y, ptrdiff_t ldy) {
    const int32_t *bias2 = (const int32_t *)(packed + weights_bytes(s)), *m2 = bias2 + s->n_pad,
                  *s2 = m2 + s->n_pad;
    int32_t nb, r, kp, j;
    for (nb = 0; nb < s->n_pad; nb += NR) {
        const int8_t *pw = (const int8_t *)packed + (ptrdiff_t)nb * s->k_pad;
        uint32_t acc[MR][NR];
        memset(acc, 0, sizeof(acc));
        for (kp = 0; kp < s->k_pad; kp += 2, pw += 2 * NR)
            for (r = 0; r < MR; ++r) {
                const int32_t a0 = a16[(ptrdiff_t)r * s->k_pad + kp], a1 = a16[(ptrdiff_t)r * s->k_pad + kp + 1];
                for (j = 0; j < NR; ++j) acc[r][j] += (uint32_t)(a0 * pw[2 * j] + a1 * pw[2 * j + 1]);
            }
        for (r = 0; r < rows; ++r)
            for (j = 0; j < NR && nb + j < s->n; ++j)
                y[r * ldy + nb + j] = requant((int32_t)(acc[r][j] + (uint32_t)bias2[nb + j]), m2[nb + j], s2[nb + j], s);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "requant_avx2.h"
#define EDGEC_HAVE_AVX2_KERNEL 1

static EDGEC_AVX2 void kernel_avx2(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t rows,
                             const int16_t *a16, int8_t *y, ptrdiff_t ldy) {
    const int32_t *bias2 = (const int32_t *)(packed + weights_bytes(s)), *m2 = bias2 + s->n_pad;
    const ptrdiff_t ka = s->k_pad;
    int32_t nb, kp, r;
    for (nb = 0; nb < s->n_pad; nb += NR) {
        const int8_t *pw = (const int8_t *)packed + (ptrdiff_t)nb * s->k_pad;
        __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00;
        int8_t tail[NR];
        for (kp = 0; kp < s->k_pad; kp += 2, pw += 2 * NR) {
            const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)pw));
            const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(pw + 16)));
            __m256i b;
            int32_t pair;
            memcpy(&pair, a16 + kp, 4);
            b = _mm256_set1_epi32(pair);
            c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(b, w0));
            c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(b, w1));
            memcpy(&pair, a16 + ka + kp, 4);
            b = _mm256_set1_epi32(pair);
            c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(b, w0));
            c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(b, w1));
            memcpy(&pair, a16 + 2 * ka + kp, 4);
            b = _mm256_set1_epi32(pair);
            c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(b, w0));
            c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(b, w1));
            memcpy(&pair, a16 + 3 * ka + kp, 4);
            b = _mm256_set1_epi32(pair);
            c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(b, w0));
            c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(b, w1));
        }
        for (r = 0; r < rows; ++r) {
            const __m256i lo = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
            const __m256i hi = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
            const __m128i q = edgec_requant16_pre_avx2(lo, hi, bias2 + nb, m2 + nb, s->n_pad, s->y_zp, s->q_min, s->q_max);
            int8_t *dst = y + r * ldy + nb;
            if (nb + NR <= s->n) {
                _mm_storeu_si128((__m128i *)dst, q);
            } else {
                _mm_storeu_si128((__m128i *)tail, q);
                memcpy(dst, tail, (size_t)(s->n - nb));
            }
        }
    }
}

static int have_avx2(void) { return edgec_cpu_has_avx2(); }
#endif

#if defined(__aarch64__)
#include "requant_neon.h"
#define EDGEC_HAVE_NEON_KERNEL 1

/* requantize channels [nb, nb + 16) of one row and store the ones below n */
static void store16_neon(const edgec_gemm_i8_shape *s, const int32x4_t acc[4], const int32_t *bias2,
                         const int32_t *m2, const int32_t *s2, int32_t nb, int8_t *yrow) {
    const int8x16_t q = edgec_requant16_neon(acc, bias2 + nb, m2 + nb, s2 + nb, s->y_zp, s->q_min, s->q_max);
    if (nb + NR <= s->n) {
        vst1q_s8(yrow + nb, q);
    } else {
        int8_t tail[NR];
        vst1q_s8(tail, q);
        memcpy(yrow + nb, tail, (size_t)(s->n - nb));
    }
}

/* vmull_s8 of (w[c][2p], w[c][2p+1]) pairs with (a[2p], a[2p+1]) repeated, then pairwise
 * add into int32 (vpadal): exact (each product fits int16). */
static void kernel_neon(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t rows,
                        const int16_t *a16, int8_t *y, ptrdiff_t ldy) {
    const int32_t *bias2 = (const int32_t *)(packed + weights_bytes(s)), *m2 = bias2 + s->n_pad,
                  *s2 = m2 + s->n_pad;
    const ptrdiff_t ka = s->k_pad;
    int32_t nb, kp, r, j;
    for (nb = 0; nb < s->n_pad; nb += NR) {
        const int8_t *pw = (const int8_t *)packed + (ptrdiff_t)nb * s->k_pad;
        int32x4_t acc[MR][4];
        for (r = 0; r < MR; ++r)
            for (j = 0; j < 4; ++j) acc[r][j] = vdupq_n_s32(0);
        for (kp = 0; kp < s->k_pad; kp += 2, pw += 2 * NR) {
            const int8x16_t w0 = vld1q_s8(pw), w1 = vld1q_s8(pw + 16);
            for (r = 0; r < MR; ++r) {
                const int16_t a0 = a16[r * ka + kp], a1 = a16[r * ka + kp + 1];
                const int8x16_t a = vreinterpretq_s8_s16(vdupq_n_s16((int16_t)((uint16_t)(uint8_t)a0 | ((uint16_t)(uint8_t)a1 << 8))));
                acc[r][0] = vpadalq_s16(acc[r][0], vmull_s8(vget_low_s8(w0), vget_low_s8(a)));
                acc[r][1] = vpadalq_s16(acc[r][1], vmull_high_s8(w0, a));
                acc[r][2] = vpadalq_s16(acc[r][2], vmull_s8(vget_low_s8(w1), vget_low_s8(a)));
                acc[r][3] = vpadalq_s16(acc[r][3], vmull_high_s8(w1, a));
            }
        }
        for (r = 0; r < rows; ++r) store16_neon(s, acc[r], bias2, m2, s2, nb, y + r * ldy);
    }
}

/* armv8.2 dot product (Pi 5's A76, Jetson Orin's A78AE): 16 channels x 4 inputs per sdot
 * lane group, int8 rows as they are (the zero point is folded into bias'), exact int32. */
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#define EDGEC_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

static EDGEC_DOTPROD void kernel_dot(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t rows,
                                     const int8_t *a8, ptrdiff_t ka, int8_t *y, ptrdiff_t ldy) {
    const int32_t *bias2 = (const int32_t *)(packed + weights_bytes(s)), *m2 = bias2 + s->n_pad,
                  *s2 = m2 + s->n_pad;
    const int32_t kq = (int32_t)ka;
    int32_t nb, k, r, j;
    for (nb = 0; nb < s->n_pad; nb += NR) {
        const int8_t *pw = (const int8_t *)packed + (ptrdiff_t)nb * kq;
        int32x4_t acc[MR][4];
        for (r = 0; r < MR; ++r)
            for (j = 0; j < 4; ++j) acc[r][j] = vdupq_n_s32(0);
        for (k = 0; k < kq; k += 16, pw += 4 * 64) {
            int8x16_t av[MR];
            for (r = 0; r < MR; ++r) av[r] = vld1q_s8(a8 + r * ka + k);
#define EDGEC_DOT_GROUP(G)                                                              \
            {                                                                           \
                const int8x16_t w0 = vld1q_s8(pw + 64 * G), w1 = vld1q_s8(pw + 64 * G + 16), \
                                w2 = vld1q_s8(pw + 64 * G + 32), w3 = vld1q_s8(pw + 64 * G + 48); \
                for (r = 0; r < MR; ++r) {                                              \
                    acc[r][0] = vdotq_laneq_s32(acc[r][0], w0, av[r], G);               \
                    acc[r][1] = vdotq_laneq_s32(acc[r][1], w1, av[r], G);               \
                    acc[r][2] = vdotq_laneq_s32(acc[r][2], w2, av[r], G);               \
                    acc[r][3] = vdotq_laneq_s32(acc[r][3], w3, av[r], G);               \
                }                                                                       \
            }
            EDGEC_DOT_GROUP(0)
            EDGEC_DOT_GROUP(1)
            EDGEC_DOT_GROUP(2)
            EDGEC_DOT_GROUP(3)
#undef EDGEC_DOT_GROUP
        }
        for (r = 0; r < rows; ++r) store16_neon(s, acc[r], bias2, m2, s2, nb, y + r * ldy);
    }
}

/* int8 copy of rows [r0, r0 + rows) of A, k padded with zeros to a multiple of 16, MR rows */
static void copy_rows(const edgec_gemm_i8_shape *s, int32_t rows, const a_rows *A, int32_t r0, int8_t *a8) {
    const size_t kq = k_packed(s->k);
    int32_t r;
    for (r = 0; r < MR; ++r) {
        int8_t *d = a8 + (size_t)r * kq;
        memset(d, 0, kq);
        if (r < rows) FOR_ROW_SEGMENTS(A, s, r0 + r, memcpy(d + off, src, (size_t)seglen));
    }
}
#endif

/* The sdot kernel where the CPU has it (AT_HWCAP), unless EDGEC_KERNELS=neon (baseline
 * NEON). Decided once per process: the packed layout depends on it, so an interpreter's
 * prepare and eval always agree. */
static int use_dot(void) {
#if defined(EDGEC_HAVE_NEON_KERNEL) && defined(__unix__)
    static int cached = -1;
    if (cached < 0) {
        const char *force = getenv("EDGEC_KERNELS");
        cached = !(force && strcmp(force, "neon") == 0) && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
    }
    return cached;
#else
    return 0;
#endif
}

/* EDGEC_KERNELS=reference in the environment keeps the reference kernels (differential
 * tests compare both paths in one process tree). */
int edgec_gemm_i8_simd(void) {
#if (defined(EDGEC_HAVE_AVX2_KERNEL) || defined(EDGEC_HAVE_NEON_KERNEL)) && defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
#if defined(EDGEC_HAVE_AVX2_KERNEL)
    return have_avx2();
#elif defined(EDGEC_HAVE_NEON_KERNEL)
    return 1; /* NEON is part of armv8-a */
#else
    return 0;
#endif
}

static void run(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t m, const a_rows *A, int8_t *y,
                ptrdiff_t ldy, void *scratch) {
    int16_t *a16 = (int16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    int32_t r0;
#ifdef EDGEC_HAVE_NEON_KERNEL
    if (use_dot()) {
        for (r0 = 0; r0 < m; r0 += MR) {
            const int32_t rows = m - r0 < MR ? m - r0 : MR;
            copy_rows(s, rows, A, r0, (int8_t *)a16);
            kernel_dot(s, packed, rows, (const int8_t *)a16, (ptrdiff_t)k_packed(s->k), y + r0 * ldy, ldy);
        }
        return;
    }
#endif
    for (r0 = 0; r0 < m; r0 += MR) {
        const int32_t rows = m - r0 < MR ? m - r0 : MR;
        widen_rows(s, rows, A, r0, a16);
#ifdef EDGEC_HAVE_AVX2_KERNEL
        if (have_avx2()) {
            kernel_avx2(s, packed, rows, a16, y + r0 * ldy, ldy);
            continue;
        }
#endif
#ifdef EDGEC_HAVE_NEON_KERNEL
        kernel_neon(s, packed, rows, a16, y + r0 * ldy, ldy);
        continue;
#endif
        kernel_c(s, packed, rows, a16, y + r0 * ldy, ldy);
    }
}

void edgec_gemm_i8_run(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t m,
                       const int8_t *a, ptrdiff_t lda, int8_t *y, ptrdiff_t ldy, void *scratch) {
    const a_rows A = {a, lda, 0, 1};
    run(s, packed, m, &A, y, ldy, scratch);
}

void edgec_gemm_i8_run_rows(const edgec_gemm_i8_shape *s, const uint8_t *packed, int32_t m,
                            const int8_t *const *rows, int32_t nseg, int8_t *y, ptrdiff_t ldy, void *scratch) {
    const a_rows A = {0, 0, rows, nseg};
    run(s, packed, m, &A, y, ldy, scratch);
}

/* sum_i a[i] * b[i] in int32 (exact: |sum| <= k * 2^14 fits for k < 2^17). */
#ifdef EDGEC_HAVE_AVX2_KERNEL
static EDGEC_AVX2 int32_t dot_avx2(const int8_t *a, const int8_t *b, int32_t k) {
    __m256i acc = _mm256_setzero_si256();
    int32_t i = 0, sum;
    __m128i h;
    for (; i + 16 <= k; i += 16) {
        const __m256i va = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        const __m256i vb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
    }
    h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    sum = _mm_cvtsi128_si32(h);
    for (; i < k; ++i) sum += (int32_t)a[i] * b[i];
    return sum;
}
#endif

int32_t edgec_dot_i8(const int8_t *a, const int8_t *b, int32_t k) {
    int32_t i = 0, sum = 0;
#ifdef EDGEC_HAVE_AVX2_KERNEL
    if (have_avx2()) return dot_avx2(a, b, k);
#endif
#ifdef EDGEC_HAVE_NEON_KERNEL
    {
        int32x4_t acc = vdupq_n_s32(0);
        for (; i + 16 <= k; i += 16) {
            const int8x16_t va = vld1q_s8(a + i), vb = vld1q_s8(b + i);
            acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
            acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(va), vget_high_s8(vb)));
        }
        sum = vaddvq_s32(acc);
    }
#endif
    for (; i < k; ++i) sum += (int32_t)a[i] * b[i];
    return sum;
}
