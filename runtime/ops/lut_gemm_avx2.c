/* x86 AVX2 (+F16C) block kernel of the T-MAC LUT GEMM (contract in lut_gemm.h): one
 * 32-byte load holds the 4-bit table indices of 32 columns for two groups of 4
 * activations; pshufb looks up the low and high bytes of the int16 partial sums, an
 * unpack joins them exactly, and int16 sums per bit plane stay exact for a whole group
 * (<= 16 k pairs * 1024). Per group: planes combined in int32, zero point, then
 * acc += scale * float(I) with a separate multiply and add (same rounding as the reference). */
#include "lut_gemm.h"

#if defined(EDGEC_LUT_HAVE_AVX2)
#include <cpuid.h>
#include <immintrin.h>

#define LUT_AVX2 __attribute__((target("avx2,f16c")))

int edgec_lut_avx2_supported(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d;
        int avx2 = 0, f16c = 0;
        if (__get_cpuid(1, &a, &b, &c, &d)) f16c = (c & bit_F16C) != 0 && (c & bit_AVX) != 0;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) avx2 = (b & bit_AVX2) != 0;
        cached = avx2 && f16c;
    }
    return cached;
}

/* int32 lanes of columns [8c, 8c + 8) from the two int16 accumulators of one plane:
 * lo holds columns [0,8) | [16,24), hi holds [8,16) | [24,32) (pshufb/unpack lane order) */
static inline LUT_AVX2 __m256i widen(__m256i lo, __m256i hi, int c) {
    switch (c) {
    case 0: return _mm256_cvtepi16_epi32(_mm256_castsi256_si128(lo));
    case 1: return _mm256_cvtepi16_epi32(_mm256_castsi256_si128(hi));
    case 2: return _mm256_cvtepi16_epi32(_mm256_extracti128_si256(lo, 1));
    default: return _mm256_cvtepi16_epi32(_mm256_extracti128_si256(hi, 1));
    }
}

/* One plane's lookups for k pair p: two groups of 4 activations, 32 columns, added into
 * the plane's int16 accumulators (lo: columns [0,8)|[16,24), hi: [8,16)|[24,32)). */
#define LUT_PLANE(PTR, LO, HI)                                                                            \
    do {                                                                                                  \
        const __m256i v = _mm256_loadu_si256((const __m256i *)(PTR));                                     \
        const __m256i i0 = _mm256_and_si256(v, nib), i1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib); \
        const __m256i l0 = _mm256_shuffle_epi8(tl0, i0), h0 = _mm256_shuffle_epi8(th0, i0);              \
        const __m256i l1 = _mm256_shuffle_epi8(tl1, i1), h1 = _mm256_shuffle_epi8(th1, i1);              \
        LO = _mm256_add_epi16(LO, _mm256_add_epi16(_mm256_unpacklo_epi8(l0, h0), _mm256_unpacklo_epi8(l1, h1))); \
        HI = _mm256_add_epi16(HI, _mm256_add_epi16(_mm256_unpackhi_epi8(l0, h0), _mm256_unpackhi_epi8(l1, h1))); \
    } while (0)

/* Planes are visited two at a time (all k pairs of the group for planes b0, b0 + 1), so
 * four accumulators, four tables and the temporaries fit the 16 ymm registers. */
/* f += scale * (P - zero * sum(a)) for group g of one 32-column block (sz: the block's
 * offset in the scale / zero arrays), in the reference's float order (runtime/lowbit.py). */
static inline __attribute__((always_inline)) LUT_AVX2 void group_terms(const edgec_lut_weights *w, size_t sz,
                                                                       int32_t g, int32_t gsum, const __m256i *P,
                                                                       __m256 *f0, __m256 *f1, __m256 *f2,
                                                                       __m256 *f3) {
    const __m256i A = _mm256_set1_epi32(gsum);
    const uint8_t *z = w->zeros + sz + (size_t)g * EDGEC_LUT_NB;
    const uint16_t *s = w->scales + sz + (size_t)g * EDGEC_LUT_NB;
    __m256 *f[4];
    int c;
    f[0] = f0, f[1] = f1, f[2] = f2, f[3] = f3;
    for (c = 0; c < 4; ++c) {
        const __m256i zc = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(z + 8 * c)));
        const __m256i I = _mm256_sub_epi32(P[c], _mm256_mullo_epi32(zc, A));
        const __m256 sc = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 8 * c)));
        *f[c] = _mm256_add_ps(*f[c], _mm256_mul_ps(sc, _mm256_cvtepi32_ps(I)));
    }
}

static inline __attribute__((always_inline)) LUT_AVX2 void block_bits(const edgec_lut_weights *w, int32_t nb,
                                                                     const uint8_t *row, float *out,
                                                                     const int bits) {
    const int32_t *gsum = (const int32_t *)(const void *)(row + (size_t)w->k8 * 8);
    const uint8_t *base = w->planes + (size_t)nb * w->kpairs * bits * EDGEC_LUT_NB;
    const size_t sz = (size_t)nb * w->groups * EDGEC_LUT_NB;
    const int32_t ppg = w->group / 8;
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    int32_t g, p;
    int b0, c;
    for (g = 0; g < w->groups; ++g) {
        const int32_t p_begin = g * ppg, p_end = (g + 1) * ppg < w->kpairs ? (g + 1) * ppg : w->kpairs;
        __m256i P[4];
        for (c = 0; c < 4; ++c) P[c] = _mm256_setzero_si256();
        for (b0 = 0; b0 < bits; b0 += 2) {
            const int two = bits - b0 >= 2;
            const uint8_t *pl = base + ((size_t)p_begin * bits + (size_t)b0) * EDGEC_LUT_NB;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0lo = a0, b0hi = a0;
            for (p = p_begin; p < p_end; ++p, pl += bits * EDGEC_LUT_NB) {
                const uint8_t *t = row + (size_t)p * 64;
                const __m256i tl0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
                const __m256i th0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
                const __m256i tl1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 32)));
                const __m256i th1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 48)));
                LUT_PLANE(pl, a0, a1);
                if (two) LUT_PLANE(pl + EDGEC_LUT_NB, b0lo, b0hi);
            }
            for (c = 0; c < 4; ++c) {
                P[c] = _mm256_add_epi32(P[c], _mm256_slli_epi32(widen(a0, a1, c), b0));
                if (two) P[c] = _mm256_add_epi32(P[c], _mm256_slli_epi32(widen(b0lo, b0hi, c), b0 + 1));
            }
        }
        group_terms(w, sz, g, gsum[g], P, &f0, &f1, &f2, &f3);
    }
    _mm256_storeu_ps(out, f0);
    _mm256_storeu_ps(out + 8, f1);
    _mm256_storeu_ps(out + 16, f2);
    _mm256_storeu_ps(out + 24, f3);
}

/* round(v / 2^s) ties to even on 8 int16 lanes, as round_shift in lut_gemm.c */
static inline LUT_AVX2 __m128i round_shift8(__m128i v, int32_t s) {
    const __m128i cnt = _mm_cvtsi32_si128(s);
    const __m128i odd = _mm_and_si128(_mm_sra_epi16(v, cnt), _mm_set1_epi16(1));
    if (s == 0) return v;
    return _mm_sra_epi16(_mm_add_epi16(_mm_add_epi16(v, _mm_set1_epi16((int16_t)((1 << (s - 1)) - 1))), odd), cnt);
}

/* edgec_lut_int8_tables after max |T| per group sits in the shifts slots (same bytes) */
static LUT_AVX2 void int8_tables(const edgec_lut_weights *w, uint8_t *row) {
    int32_t *shift = (int32_t *)(void *)(row + (size_t)w->k8 * 8) + w->groups;
    const int32_t kgs = w->k8 / 4;
    int32_t kg, g;
    for (g = 0; g < w->groups; ++g) {
        int32_t s = 0;
        while (s < 7 && (s == 0 ? shift[g] : (shift[g] + (1 << (s - 1)) - 1 + ((shift[g] >> s) & 1)) >> s) > 127) ++s;
        shift[g] = s;
    }
    for (kg = 0; kg < kgs; ++kg) { /* in place, forwards: kg's 16 bytes land below its 32 */
        const int32_t gg = kg * 4 / w->group < w->groups ? kg * 4 / w->group : w->groups - 1;
        const __m128i lo = _mm_loadu_si128((const __m128i *)(row + (size_t)kg * 32));
        const __m128i hi = _mm_loadu_si128((const __m128i *)(row + (size_t)kg * 32 + 16));
        const __m128i t0 = round_shift8(_mm_unpacklo_epi8(lo, hi), shift[gg]);
        const __m128i t1 = round_shift8(_mm_unpackhi_epi8(lo, hi), shift[gg]);
        _mm_storeu_si128((__m128i *)(row + (size_t)kg * 16), _mm_packs_epi16(t0, t1));
    }
}

/* edgec_lut_prepare_row with the same bytes: max |x| (max is exact in any order; max_ps
 * returns its second operand for a NaN first one, so NaN is skipped as in the scalar loop),
 * x * inv clamped with max_ps/min_ps (NaN -> -127 likewise), cvtps rounds ties to even
 * (MXCSR default) as lrintf; integer group sums and tables are exact. */
LUT_AVX2 void edgec_lut_prepare_row_avx2(const edgec_lut_weights *w, const float *x, uint8_t *row, float *sx) {
    int32_t *gsum = (int32_t *)(void *)(row + (size_t)w->k8 * 8);
    int16_t a16[64];
    const __m256i bit0 = _mm256_setr_epi16(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
    const __m256i bit1 = _mm256_setr_epi16(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1);
    const __m256i bit2 = _mm256_setr_epi16(0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1);
    const __m256i bit3 = _mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1);
    /* even bytes (low halves) then odd bytes (high halves) in each 128-bit lane */
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                           0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 vmax = _mm256_setzero_ps(), vinv;
    float amax, lanes[8], inv;
    int32_t k, g, i, c, gm;
    for (k = 0; k + 8 <= w->k; k += 8)
        vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + k), absmask), vmax);
    _mm256_storeu_ps(lanes, vmax);
    amax = 0.0f;
    for (i = 0; i < 8; ++i)
        if (lanes[i] > amax) amax = lanes[i];
    for (; k < w->k; ++k) {
        const float v = x[k] < 0 ? -x[k] : x[k];
        if (v > amax) amax = v;
    }
    *sx = amax / 127.0f;
    inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    vinv = _mm256_set1_ps(inv);
    for (g = 0; g < w->groups * (w->table_mode == 1 ? 2 : 1); ++g) gsum[g] = 0; /* sums (and max |T|) */
    for (c = 0; c < w->k8; c += 64) { /* chunks of 64 activations: quantize, then tables */
        const int32_t n = w->k8 - c < 64 ? w->k8 - c : 64;
        for (k = 0; k < n; k += 8) {
            __m256 v;
            __m256i q;
            if (c + k + 8 <= w->k) {
                v = _mm256_loadu_ps(x + c + k);
            } else {
                float tail[8];
                for (i = 0; i < 8; ++i) tail[i] = c + k + i < w->k ? x[c + k + i] : 0.0f;
                v = _mm256_loadu_ps(tail);
            }
            v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, vinv), lo), hi);
            q = _mm256_cvtps_epi32(v);
            _mm_storeu_si128((__m128i *)(a16 + k), _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
        }
        for (k = 0; k < n; k += 8) { /* a group is a multiple of 8 activations */
            const int32_t gi = (c + k) / w->group;
            int32_t sum = 0;
            for (i = 0; i < 8; ++i) sum += a16[k + i];
            gsum[gi < w->groups ? gi : w->groups - 1] += sum;
        }
        if (w->table_mode == 1) /* max |T| of a group of 4 = max(sum of positives, -sum of negatives) */
            for (k = 0; k < n; k += 4) {
                int32_t pos = 0, neg = 0, m;
                for (i = 0; i < 4; ++i) {
                    if (a16[k + i] > 0) pos += a16[k + i];
                    else neg -= a16[k + i];
                }
                m = pos > neg ? pos : neg;
                gm = (c + k) / w->group < w->groups ? (c + k) / w->group : w->groups - 1;
                if (m > gsum[w->groups + gm]) gsum[w->groups + gm] = m;
            }
        for (k = 0; k < n; k += 4) {
            __m256i t = _mm256_and_si256(_mm256_set1_epi16(a16[k]), bit0);
            t = _mm256_add_epi16(t, _mm256_and_si256(_mm256_set1_epi16(a16[k + 1]), bit1));
            t = _mm256_add_epi16(t, _mm256_and_si256(_mm256_set1_epi16(a16[k + 2]), bit2));
            t = _mm256_add_epi16(t, _mm256_and_si256(_mm256_set1_epi16(a16[k + 3]), bit3));
            t = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(t, split), 0xD8); /* lo 16 | hi 16 */
            _mm256_storeu_si256((__m256i *)(row + (size_t)(c + k) * 8), t);
        }
    }
    if (w->table_mode == 1) int8_tables(w, row);
}

/* table_mode 1: one pshufb per group of 4 (int8 tables), the two groups of a k pair
 * interleaved per column by an unpack and summed exactly to int16 by pmaddubsw with
 * ones (|lookup| <= 127, so no saturation). */
#define LUT_PLANE8(PTR, LO, HI)                                                                           \
    do {                                                                                                  \
        const __m256i v = _mm256_loadu_si256((const __m256i *)(PTR));                                     \
        const __m256i i0 = _mm256_and_si256(v, nib), i1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib); \
        const __m256i l0 = _mm256_shuffle_epi8(t0, i0), l1 = _mm256_shuffle_epi8(t1, i1);                \
        LO = _mm256_add_epi16(LO, _mm256_maddubs_epi16(ones, _mm256_unpacklo_epi8(l0, l1)));            \
        HI = _mm256_add_epi16(HI, _mm256_maddubs_epi16(ones, _mm256_unpackhi_epi8(l0, l1)));            \
    } while (0)

static inline __attribute__((always_inline)) LUT_AVX2 void block_bits8(const edgec_lut_weights *w, int32_t nb,
                                                                      const uint8_t *row, float *out,
                                                                      const int bits) {
    const int32_t *gsum = (const int32_t *)(const void *)(row + (size_t)w->k8 * 8);
    const uint8_t *base = w->planes + (size_t)nb * w->kpairs * bits * EDGEC_LUT_NB;
    const size_t sz = (size_t)nb * w->groups * EDGEC_LUT_NB;
    const int32_t ppg = w->group / 8;
    const __m256i nib = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi8(1);
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
    int32_t g, p;
    int b0, c;
    for (g = 0; g < w->groups; ++g) {
        const int32_t p_begin = g * ppg, p_end = (g + 1) * ppg < w->kpairs ? (g + 1) * ppg : w->kpairs;
        const __m128i sh = _mm_cvtsi32_si128(gsum[w->groups + g]);
        __m256i P[4];
        for (c = 0; c < 4; ++c) P[c] = _mm256_setzero_si256();
        for (b0 = 0; b0 < bits; b0 += 2) {
            const int two = bits - b0 >= 2;
            const uint8_t *pl = base + ((size_t)p_begin * bits + (size_t)b0) * EDGEC_LUT_NB;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0lo = a0, b0hi = a0;
            for (p = p_begin; p < p_end; ++p, pl += bits * EDGEC_LUT_NB) {
                const uint8_t *t = row + (size_t)p * 32;
                const __m256i t0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
                const __m256i t1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
                LUT_PLANE8(pl, a0, a1);
                if (two) LUT_PLANE8(pl + EDGEC_LUT_NB, b0lo, b0hi);
            }
            for (c = 0; c < 4; ++c) {
                P[c] = _mm256_add_epi32(P[c], _mm256_slli_epi32(widen(a0, a1, c), b0));
                if (two) P[c] = _mm256_add_epi32(P[c], _mm256_slli_epi32(widen(b0lo, b0hi, c), b0 + 1));
            }
        }
        for (c = 0; c < 4; ++c) P[c] = _mm256_sll_epi32(P[c], sh);
        group_terms(w, sz, g, gsum[g], P, &f0, &f1, &f2, &f3);
    }
    _mm256_storeu_ps(out, f0);
    _mm256_storeu_ps(out + 8, f1);
    _mm256_storeu_ps(out + 16, f2);
    _mm256_storeu_ps(out + 24, f3);
}

LUT_AVX2 void edgec_lut_block_avx2(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc) {
    if (w->table_mode == 1) {
        switch (w->bits) {
        case 1: block_bits8(w, nb, row, acc, 1); break;
        case 2: block_bits8(w, nb, row, acc, 2); break;
        case 3: block_bits8(w, nb, row, acc, 3); break;
        default: block_bits8(w, nb, row, acc, 4); break;
        }
        return;
    }
    switch (w->bits) {
    case 1: block_bits(w, nb, row, acc, 1); break;
    case 2: block_bits(w, nb, row, acc, 2); break;
    case 3: block_bits(w, nb, row, acc, 3); break;
    default: block_bits(w, nb, row, acc, 4); break;
    }
}
#else
typedef int edgec_lut_avx2_unused; /* ISO C forbids an empty translation unit */
#endif
