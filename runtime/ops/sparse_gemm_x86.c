/* x86 AVX2 (+FMA for fp32) tiles of the block-sparse GEMM (contract in sparse_gemm.h):
 * EDGEC_SPARSE_MT = 16 rows of x per tile, two __m256 halves of 8 rows. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <stdlib.h>
#include <string.h>

#include "edgec/fixedpoint.h"
#include "requant_avx2.h"
#include "sparse_gemm.h"

#define MT EDGEC_SPARSE_MT
#define EDGEC_AVX2_FMA __attribute__((target("avx2,fma")))

int edgec_sparse_simd(void) {
    static int cached = -1;
    const char *force = getenv("EDGEC_KERNELS"); /* read per call: tests switch it in one process */
    if (force && strcmp(force, "reference") == 0) return 0;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

static void *align64(void *p) { return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* 8x8 transpose of 32-bit lanes: r[i][j] -> r[j][i] */
static inline EDGEC_AVX2 void transpose8(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* rows [0, 8) of x (ld floats apart, columns [c, c + 8)) transposed into dst[i * MT], i < 8 */
static inline EDGEC_AVX2 void gather8x8(const float *x, ptrdiff_t ld, float *dst) {
    __m256 r[8];
    int i;
    for (i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(x + i * ld);
    transpose8(r);
    for (i = 0; i < 8; ++i) _mm256_store_ps(dst + (ptrdiff_t)i * MT, r[i]);
}

/* out[n][MT] (32-bit lanes) -> rows [0, m) of y as 32-bit values, n apart */
static EDGEC_AVX2 void store_rows32(const uint32_t *out, int32_t n, int32_t m, uint32_t *y) {
    int32_t c = 0, i, h;
    if (m == MT)
        for (; c + 8 <= n; c += 8)
            for (h = 0; h < MT; h += 8) {
                __m256 r[8];
                for (i = 0; i < 8; ++i) r[i] = _mm256_load_ps((const float *)(out + (ptrdiff_t)(c + i) * MT + h));
                transpose8(r);
                for (i = 0; i < 8; ++i) _mm256_storeu_ps((float *)(y + (ptrdiff_t)(h + i) * n + c), r[i]);
            }
    for (; c < n; ++c)
        for (i = 0; i < m; ++i) y[(ptrdiff_t)i * n + c] = out[(ptrdiff_t)c * MT + i];
}

/* ---- fewer than MT rows (batch-1 FULLY_CONNECTED): one row at a time, SIMD over blocks ---- */

static inline EDGEC_AVX2 float hsum8(__m256 v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}

static EDGEC_AVX2_FMA void f32_rows(const edgec_sparse_shape *s, const float *values, const float *bias, int32_t m,
                                    const float *x, float *y) {
    const int32_t *restrict cols = s->cols, *restrict rowptr = s->rowptr;
    int32_t i, r, j, e;
    for (i = 0; i < m; ++i, x += s->k, y += s->n)
        for (r = 0; r < s->n / s->bh; ++r) {
            const int32_t j1 = rowptr[r + 1];
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;
            j = rowptr[r];
            if (s->bw == 4) { /* two blocks per register: 4 weights . 4 inputs each */
                float acc;
                for (; j + 4 <= j1; j += 4) {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + 4 * (ptrdiff_t)j),
                                         _mm256_loadu2_m128(x + 4 * (ptrdiff_t)cols[j + 1], x + 4 * (ptrdiff_t)cols[j]), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(values + 4 * (ptrdiff_t)j + 8),
                                         _mm256_loadu2_m128(x + 4 * (ptrdiff_t)cols[j + 3], x + 4 * (ptrdiff_t)cols[j + 2]), a1);
                }
                acc = hsum8(_mm256_add_ps(a0, a1));
                for (; j < j1; ++j)
                    for (e = 0; e < 4; ++e) acc += values[4 * (ptrdiff_t)j + e] * x[4 * (ptrdiff_t)cols[j] + e];
                acc += bias ? bias[r] : 0.0f;
                y[r] = acc > s->lo || acc != acc ? acc : s->lo;
                y[r] = y[r] < s->hi || y[r] != y[r] ? y[r] : s->hi;
            } else { /* 4 outputs += 4 weights * x[k] */
                __m128 q, lo = _mm_set1_ps(s->lo), hi = _mm_set1_ps(s->hi);
                for (; j + 2 <= j1; j += 2) {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + 4 * (ptrdiff_t)j),
                                         _mm256_set_m128(_mm_set1_ps(x[cols[j + 1]]), _mm_set1_ps(x[cols[j]])), a0);
                }
                q = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
                for (; j < j1; ++j) q = _mm_fmadd_ps(_mm_loadu_ps(values + 4 * (ptrdiff_t)j), _mm_set1_ps(x[cols[j]]), q);
                if (bias) q = _mm_add_ps(q, _mm_loadu_ps(bias + 4 * r));
                _mm_storeu_ps(y + 4 * r, _mm_min_ps(hi, _mm_max_ps(lo, q)));
            }
        }
}

static int8_t requant1(int32_t acc, int32_t c, const int32_t *bias2, const int32_t *m2, const int32_t *s2,
                       const edgec_sparse_shape *s) {
    const int32_t a = (int32_t)((uint32_t)acc + (uint32_t)bias2[c]); /* modulo 2^32, as sparse_gemm.h */
    return (int8_t)edgec_clamp_i32(edgec_mbqm(a, m2[c], s2[c]) + s->y_zp, s->q_min, s->q_max);
}

/* 8 sums of channels c..c+7 + bias', requantized, + y_zp, clamped (int32 lanes) */
static inline EDGEC_AVX2 __m256i requant8_lanes(__m256i acc, const int32_t *bias2, const int32_t *m2, const int32_t *s2,
                                                const edgec_sparse_shape *s) {
    __m256i v = _mm256_add_epi32(acc, _mm256_loadu_si256((const __m256i *)bias2));
    v = edgec_mbqm8_avx2(v, _mm256_loadu_si256((const __m256i *)m2), _mm256_loadu_si256((const __m256i *)s2));
    v = _mm256_add_epi32(v, _mm256_set1_epi32(s->y_zp));
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(s->q_min)), _mm256_set1_epi32(s->q_max));
}

static EDGEC_AVX2 void i8_rows(const edgec_sparse_shape *s, const uint8_t *packed, int32_t m, const int8_t *x,
                               int8_t *y, void *scratch) {
    const int32_t *restrict cols = s->cols, *restrict rowptr = s->rowptr;
    const int32_t *words = (const int32_t *)packed;
    const int32_t *bias2 = words + (size_t)s->nnzb * (s->bw == 4 ? 2 : 4), *m2 = bias2 + s->n, *s2 = m2 + s->n;
    int16_t *x16 = (int16_t *)align64(scratch); /* the row widened to int16 (1x4 blocks) */
    int32_t *xx = (int32_t *)x16;               /* or each x[k] in both int16 halves (4x1) */
    int32_t *accs = xx + s->k;                  /* sums of one row, requantized 8 at a time */
    int32_t i, r, j, e;
    for (i = 0; i < m; ++i, x += s->k, y += s->n) {
        if (s->bw == 4)
            for (e = 0; e < s->k; ++e) x16[e] = x[e];
        else
            for (e = 0; e < s->k; ++e) xx[e] = (int32_t)(((uint32_t)(uint16_t)x[e] << 16) | (uint16_t)x[e]);
        for (r = 0; r < s->n / s->bh; ++r) {
            const int32_t j1 = rowptr[r + 1];
            __m256i a0 = _mm256_setzero_si256();
            j = rowptr[r];
            if (s->bw == 4) { /* four blocks per register: (w0,w1)(w2,w3) pairs . the block's 4 inputs */
                int32_t acc, t[8];
                for (; j + 4 <= j1; j += 4) {
                    const __m128i x01 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(x16 + 4 * (ptrdiff_t)cols[j])),
                                                           _mm_loadl_epi64((const __m128i *)(x16 + 4 * (ptrdiff_t)cols[j + 1])));
                    const __m128i x23 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(x16 + 4 * (ptrdiff_t)cols[j + 2])),
                                                           _mm_loadl_epi64((const __m128i *)(x16 + 4 * (ptrdiff_t)cols[j + 3])));
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(words + 2 * (ptrdiff_t)j)),
                                                                _mm256_inserti128_si256(_mm256_castsi128_si256(x01), x23, 1)));
                }
                _mm256_storeu_si256((__m256i *)t, a0);
                acc = (int32_t)((uint32_t)t[0] + (uint32_t)t[1] + (uint32_t)t[2] + (uint32_t)t[3] + (uint32_t)t[4] +
                                (uint32_t)t[5] + (uint32_t)t[6] + (uint32_t)t[7]);
                for (; j < j1; ++j) {
                    const int16_t *w16 = (const int16_t *)(words + 2 * (ptrdiff_t)j);
                    for (e = 0; e < 4; ++e) acc += (int32_t)w16[e] * x16[4 * (ptrdiff_t)cols[j] + e];
                }
                accs[r] = acc;
            } else { /* 4 outputs: words hold w_i in the half matching k's parity, so x[k] in both halves */
                __m256i a1 = a0;
                __m128i q;
                for (; j + 4 <= j1; j += 4) {
                    const __m256i xa = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi32(xx[cols[j]])),
                                                               _mm_set1_epi32(xx[cols[j + 1]]), 1);
                    const __m256i xc = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi32(xx[cols[j + 2]])),
                                                               _mm_set1_epi32(xx[cols[j + 3]]), 1);
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(words + 4 * (ptrdiff_t)j)), xa));
                    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(words + 4 * (ptrdiff_t)j + 8)), xc));
                }
                a0 = _mm256_add_epi32(a0, a1);
                q = _mm_add_epi32(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a0, 1));
                for (; j < j1; ++j)
                    q = _mm_add_epi32(q, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(words + 4 * (ptrdiff_t)j)),
                                                        _mm_set1_epi32(xx[cols[j]])));
                _mm_storeu_si128((__m128i *)(accs + 4 * r), q);
            }
        }
        for (e = 0; e + 8 <= s->n; e += 8) {
            const __m256i v = requant8_lanes(_mm256_loadu_si256((const __m256i *)(accs + e)), bias2 + e, m2 + e, s2 + e, s);
            const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            _mm_storel_epi64((__m128i *)(y + e), _mm_packs_epi16(p16, p16));
        }
        for (; e < s->n; ++e) y[e] = requant1(accs[e], e, bias2, m2, s2, s);
    }
}

#define FMA2(acc0, acc1, wv, p) \
    (acc0 = _mm256_fmadd_ps(wv, _mm256_load_ps(p), acc0), acc1 = _mm256_fmadd_ps(wv, _mm256_load_ps((p) + 8), acc1))

void EDGEC_AVX2_FMA edgec_sparse_f32_tile(const edgec_sparse_shape *s, const float *values, const float *bias,
                                          int32_t m, const float *x, float *y, void *scratch) {
    const int32_t *restrict cols = s->cols, *restrict rowptr = s->rowptr;
    float *xt = (float *)align64(scratch);                                 /* [k][MT] */
    float *out = (float *)align64(xt + ((size_t)s->k + 2) * MT);           /* [n][MT] */
    const __m256 lo = _mm256_set1_ps(s->lo), hi = _mm256_set1_ps(s->hi);
    int32_t k = 0, i, r, j, j_end, h;
    if (m < MT) {
        f32_rows(s, values, bias, m, x, y);
        return;
    }
    if (m == MT)
        for (; k + 8 <= s->k; k += 8)
            for (h = 0; h < MT; h += 8) gather8x8(x + (ptrdiff_t)h * s->k + k, s->k, xt + (ptrdiff_t)k * MT + h);
    for (; k < s->k; ++k)
        for (i = 0; i < MT; ++i) xt[(ptrdiff_t)k * MT + i] = i < m ? x[(ptrdiff_t)i * s->k + k] : 0.0f;
    for (r = 0; r < s->n / s->bh; ++r) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        const float *w = values + (ptrdiff_t)rowptr[r] * 4;
        if (s->bw == 4) {
            for (j = rowptr[r], j_end = rowptr[r + 1]; j < j_end; ++j, w += 4) {
                const float *xb = xt + (ptrdiff_t)cols[j] * 4 * MT;
                FMA2(a0, b0, _mm256_broadcast_ss(w), xb);
                FMA2(a1, b1, _mm256_broadcast_ss(w + 1), xb + MT);
                FMA2(a2, b2, _mm256_broadcast_ss(w + 2), xb + 2 * MT);
                FMA2(a3, b3, _mm256_broadcast_ss(w + 3), xb + 3 * MT);
            }
            {
                const __m256 bv = _mm256_set1_ps(bias ? bias[r] : 0.0f);
                a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)), bv);
                b0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3)), bv);
                /* max then min, as edgec_clampf (NaN stays NaN: the NaN operand goes second) */
                _mm256_store_ps(out + (ptrdiff_t)r * MT, _mm256_min_ps(hi, _mm256_max_ps(lo, a0)));
                _mm256_store_ps(out + (ptrdiff_t)r * MT + 8, _mm256_min_ps(hi, _mm256_max_ps(lo, b0)));
            }
        } else {
            __m256 acc[8];
            for (j = rowptr[r], j_end = rowptr[r + 1]; j < j_end; ++j, w += 4) {
                const float *xb = xt + (ptrdiff_t)cols[j] * MT;
                FMA2(a0, b0, _mm256_broadcast_ss(w), xb);
                FMA2(a1, b1, _mm256_broadcast_ss(w + 1), xb);
                FMA2(a2, b2, _mm256_broadcast_ss(w + 2), xb);
                FMA2(a3, b3, _mm256_broadcast_ss(w + 3), xb);
            }
            acc[0] = a0, acc[1] = b0, acc[2] = a1, acc[3] = b1, acc[4] = a2, acc[5] = b2, acc[6] = a3, acc[7] = b3;
            for (i = 0; i < 8; ++i) {
                const __m256 v = _mm256_add_ps(acc[i], _mm256_set1_ps(bias ? bias[4 * r + i / 2] : 0.0f));
                _mm256_store_ps(out + (ptrdiff_t)(4 * r + i / 2) * MT + (i & 1) * 8, _mm256_min_ps(hi, _mm256_max_ps(lo, v)));
            }
        }
    }
    store_rows32((const uint32_t *)out, s->n, m, (uint32_t *)y);
}

static inline EDGEC_AVX2 __m256i requant8(__m256i acc, __m256i bias2, __m256i mult, __m256i shift,
                                          const edgec_sparse_shape *s) {
    __m256i v = edgec_mbqm8_avx2(_mm256_add_epi32(acc, bias2), mult, shift);
    v = _mm256_add_epi32(v, _mm256_set1_epi32(s->y_zp));
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(s->q_min)), _mm256_set1_epi32(s->q_max));
}

/* both 8-row halves of output channel c */
static inline EDGEC_AVX2 void requant16(__m256i a, __m256i b, int32_t c, const int32_t *bias2, const int32_t *m2,
                                        const int32_t *s2, const edgec_sparse_shape *s, int32_t *out) {
    const __m256i bv = _mm256_set1_epi32(bias2[c]), mv = _mm256_set1_epi32(m2[c]), sv = _mm256_set1_epi32(s2[c]);
    _mm256_store_si256((__m256i *)(out + (ptrdiff_t)c * MT), requant8(a, bv, mv, sv, s));
    _mm256_store_si256((__m256i *)(out + (ptrdiff_t)c * MT + 8), requant8(b, bv, mv, sv, s));
}

#define MADD2(acc0, acc1, wv, p)                                                                     \
    (acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(p)), wv)), \
     acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)((p) + 8)), wv)))

void EDGEC_AVX2 edgec_sparse_i8_tile(const edgec_sparse_shape *s, const uint8_t *packed, int32_t m,
                                     const int8_t *x, int8_t *y, void *scratch) {
    const int32_t kp = (s->k + 1) / 2;                                    /* k pairs */
    const int32_t *restrict cols = s->cols, *restrict rowptr = s->rowptr;
    int32_t *xp = (int32_t *)align64(scratch);                            /* [kp][MT] int16 pairs */
    int32_t *out = (int32_t *)align64(xp + ((size_t)s->k + 2) * MT);      /* [n][MT] */
    const int32_t *words = (const int32_t *)packed;
    const int32_t *bias2 = words + (size_t)s->nnzb * (s->bw == 4 ? 2 : 4), *m2 = bias2 + s->n, *s2 = m2 + s->n;
    int32_t k = 0, i, r, j, j_end, c, h;
    if (m < MT) {
        i8_rows(s, packed, m, x, y, scratch);
        return;
    }
    if (m == MT)
        for (; k + 16 <= s->k; k += 16)
            for (h = 0; h < MT; h += 8) {
                __m256 v[8];
                for (i = 0; i < 8; ++i)
                    v[i] = _mm256_castsi256_ps(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + (ptrdiff_t)(h + i) * s->k + k))));
                transpose8(v);
                for (i = 0; i < 8; ++i) _mm256_store_ps((float *)(xp + (ptrdiff_t)(k / 2 + i) * MT + h), v[i]);
            }
    for (; k < 2 * kp; ++k) {
        int16_t *d = (int16_t *)(xp + (ptrdiff_t)(k / 2) * MT) + (k & 1);
        for (i = 0; i < MT; ++i) d[2 * i] = i < m && k < s->k ? x[(ptrdiff_t)i * s->k + k] : 0;
    }
    for (r = 0; r < s->n / s->bh; ++r) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        if (s->bw == 4) {
            for (j = rowptr[r], j_end = rowptr[r + 1]; j < j_end; ++j) {
                const int32_t *xb = xp + (ptrdiff_t)cols[j] * 2 * MT;
                MADD2(a0, b0, _mm256_set1_epi32(words[2 * j]), xb);
                MADD2(a1, b1, _mm256_set1_epi32(words[2 * j + 1]), xb + MT);
            }
            requant16(_mm256_add_epi32(a0, a1), _mm256_add_epi32(b0, b1), r, bias2, m2, s2, s, out);
        } else { /* two blocks per pmaddwd: lanes hold (x[col a], x[col b]) pairs */
            const int32_t *pairptr = s2 + s->n, *recs = pairptr + s->n / 4 + 1;
            int32_t q;
            for (q = pairptr[r], j_end = pairptr[r + 1]; q < j_end; ++q) {
                const int32_t *rec = recs + 8 * (ptrdiff_t)q;
                const int32_t *xa = xp + (ptrdiff_t)rec[0] * MT, *xb = xp + (ptrdiff_t)rec[1] * MT;
                const __m128i la = _mm_cvtsi32_si128(rec[2]), rb = _mm_cvtsi32_si128(rec[3]);
                const __m256i x0 = _mm256_or_si256(
                    _mm256_srli_epi32(_mm256_sll_epi32(_mm256_load_si256((const __m256i *)xa), la), 16),
                    _mm256_slli_epi32(_mm256_srl_epi32(_mm256_load_si256((const __m256i *)xb), rb), 16));
                const __m256i x1 = _mm256_or_si256(
                    _mm256_srli_epi32(_mm256_sll_epi32(_mm256_load_si256((const __m256i *)(xa + 8)), la), 16),
                    _mm256_slli_epi32(_mm256_srl_epi32(_mm256_load_si256((const __m256i *)(xb + 8)), rb), 16));
                __m256i wv = _mm256_set1_epi32(rec[4]);
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, wv));
                b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(x1, wv));
                wv = _mm256_set1_epi32(rec[5]);
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x0, wv));
                b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(x1, wv));
                wv = _mm256_set1_epi32(rec[6]);
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x0, wv));
                b2 = _mm256_add_epi32(b2, _mm256_madd_epi16(x1, wv));
                wv = _mm256_set1_epi32(rec[7]);
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(x0, wv));
                b3 = _mm256_add_epi32(b3, _mm256_madd_epi16(x1, wv));
            }
            requant16(a0, b0, 4 * r, bias2, m2, s2, s, out);
            requant16(a1, b1, 4 * r + 1, bias2, m2, s2, s, out);
            requant16(a2, b2, 4 * r + 2, bias2, m2, s2, s, out);
            requant16(a3, b3, 4 * r + 3, bias2, m2, s2, s, out);
        }
    }
    /* transpose back 8 channels x 8 rows at a time; values are already clamped to int8 */
    c = 0;
    if (m == MT)
        for (; c + 8 <= s->n; c += 8)
            for (h = 0; h < MT; h += 8) {
                __m256 v[8];
                for (i = 0; i < 8; ++i) v[i] = _mm256_load_ps((const float *)(out + (ptrdiff_t)(c + i) * MT + h));
                transpose8(v);
                for (i = 0; i < 8; ++i) {
                    const __m256i q = _mm256_castps_si256(v[i]);
                    const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
                    _mm_storel_epi64((__m128i *)(y + (ptrdiff_t)(h + i) * s->n + c), _mm_packs_epi16(p16, p16));
                }
            }
    for (; c < s->n; ++c)
        for (i = 0; i < m; ++i) y[(ptrdiff_t)i * s->n + c] = (int8_t)out[(ptrdiff_t)c * MT + i];
}
#endif
