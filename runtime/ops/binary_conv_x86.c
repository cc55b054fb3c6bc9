/* x86 variants of the XNOR-popcount dots (binary_conv.h): hardware POPCNT, AVX2 (Mula's
 * pshufb nibble table: byte counts summed for up to 31 words, then psadbw into 64-bit
 * lanes), and AVX-512 VPOPCNTQ where CPUID reports AVX512F + AVX512_VPOPCNTDQ (compiled
 * everywhere, chosen only on such CPUs: not exercised on a machine without them); plus an
 * AVX2 binarization with movemask. EDGEC_KERNELS=popcnt forces the scalar POPCNT variant
 * (differential tests). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "binary_conv.h"

#define T_POPCNT __attribute__((target("popcnt")))
#define T_AVX2 __attribute__((target("avx2,popcnt")))
#define T_AVX512 __attribute__((target("avx512f,avx512vpopcntdq")))

static T_POPCNT void dots_popcnt(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                                 const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense) {
    (void)dense;
    int32_t o, t, c;
    for (o = 0; o < oc_pad; ++o) d[o] = 0;
    for (t = 0; t < ntaps; ++t)
        for (c = 0; c < cw; ++c) {
            const uint64_t neg = px[t][c], nz = px[t][cw + c];
            const uint64_t *wr = w + ((ptrdiff_t)tap[t] * cw + c) * oc_pad;
            for (o = 0; o < oc_pad; ++o) d[o] += (int32_t)__builtin_popcountll(nz & (neg ^ wr[o]));
        }
}

static inline T_AVX2 __m256i popcnt_bytes(__m256i v, __m256i table, __m256i low) {
    return _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(v, low)),
                           _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), low)));
}

/* nb registers of 4 channels (4 * nb channels from o) over every tap and word; use_nz = 0
 * when every binarized input value is nonzero (the mask is all ones: skip the AND) */
static inline __attribute__((always_inline)) T_AVX2 void dots_avx2_block(
    const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw, const uint64_t *w, int32_t oc_pad,
    int32_t o, int32_t *d, const int nb, const int use_nz) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    __m256i sum[4], bytes[4];
    int32_t t, c, i, pending = 0;
    for (i = 0; i < nb; ++i) sum[i] = bytes[i] = zero;
    for (t = 0; t < ntaps; ++t)
        for (c = 0; c < cw; ++c) {
            const __m256i neg = _mm256_set1_epi64x((long long)px[t][c]);
            const __m256i nz = _mm256_set1_epi64x((long long)px[t][cw + c]);
            const uint64_t *wr = w + ((ptrdiff_t)tap[t] * cw + c) * oc_pad + o;
            for (i = 0; i < nb; ++i) {
                __m256i v = _mm256_xor_si256(neg, _mm256_loadu_si256((const __m256i *)(wr + 4 * i)));
                if (use_nz) v = _mm256_and_si256(nz, v);
                bytes[i] = _mm256_add_epi8(bytes[i], popcnt_bytes(v, table, low));
            }
            if (++pending == 31) { /* a byte holds at most 31 * 8 = 248 */
                for (i = 0; i < nb; ++i) {
                    sum[i] = _mm256_add_epi64(sum[i], _mm256_sad_epu8(bytes[i], zero));
                    bytes[i] = zero;
                }
                pending = 0;
            }
        }
    for (i = 0; i < nb; ++i) {
        /* 64-bit lane sums < 2^31: keep the low 32 bits of each lane, in channel order */
        const __m256i v = _mm256_add_epi64(sum[i], _mm256_sad_epu8(bytes[i], zero));
        const __m256i lo32 = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
        _mm_storeu_si128((__m128i *)(d + o + 4 * i), _mm256_castsi256_si128(lo32));
    }
}

static T_AVX2 void dots_avx2(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                             const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense) {
    int32_t o = 0;
    if (dense) { /* bits past C are 0 in w and neg, so they add nothing without the mask */
        for (; o + 16 <= oc_pad; o += 16) dots_avx2_block(px, tap, ntaps, cw, w, oc_pad, o, d, 4, 0);
        for (; o < oc_pad; o += 8) dots_avx2_block(px, tap, ntaps, cw, w, oc_pad, o, d, 2, 0);
    } else {
        for (; o + 16 <= oc_pad; o += 16) dots_avx2_block(px, tap, ntaps, cw, w, oc_pad, o, d, 4, 1);
        for (; o < oc_pad; o += 8) dots_avx2_block(px, tap, ntaps, cw, w, oc_pad, o, d, 2, 1);
    }
}

static T_AVX512 void dots_avx512(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                                 const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense) {
    (void)dense;
    int32_t o, t, c, i;
    for (o = 0; o < oc_pad; o += 8) {
        __m512i s = _mm512_setzero_si512();
        for (t = 0; t < ntaps; ++t)
            for (c = 0; c < cw; ++c) {
                const __m512i neg = _mm512_set1_epi64((long long)px[t][c]), nz = _mm512_set1_epi64((long long)px[t][cw + c]);
                const __m512i wv = _mm512_loadu_si512((const void *)(w + ((ptrdiff_t)tap[t] * cw + c) * oc_pad + o));
                s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_and_si512(nz, _mm512_xor_si512(neg, wv))));
            }
        {
            int64_t tmp[8];
            _mm512_storeu_si512((void *)tmp, s);
            for (i = 0; i < 8; ++i) d[o + i] = (int32_t)tmp[i];
        }
    }
}

static T_AVX2 void binarize_avx2(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px) {
    const __m256 zero = _mm256_setzero_ps();
    int32_t p, i;
    for (p = 0; p < n; ++p, x += c, px += 2 * cw) {
        memset(px, 0, sizeof(uint64_t) * 2 * (size_t)cw);
        for (i = 0; i + 8 <= c; i += 8) {
            const __m256 v = _mm256_loadu_ps(x + i);
            const uint64_t neg = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ));
            const uint64_t nz = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_OQ)); /* NaN: 0 */
            px[i >> 6] |= neg << (i & 63);
            px[cw + (i >> 6)] |= nz << (i & 63);
        }
        for (; i < c; ++i) {
            const uint64_t bit = (uint64_t)1 << (i & 63);
            if (x[i] < 0.0f) px[i >> 6] |= bit;
            if (x[i] < 0.0f || x[i] > 0.0f) px[cw + (i >> 6)] |= bit;
        }
    }
}

static T_AVX2 void finish_avx2(const int32_t *d, int32_t nonzero, const float *scale, const float *bias, float lo,
                               float hi, int32_t n, float *y) {
    const __m256i nzv = _mm256_set1_epi32(nonzero);
    const __m256 lov = _mm256_set1_ps(lo), hiv = _mm256_set1_ps(hi);
    int32_t oc = 0;
    for (; oc + 8 <= n; oc += 8) {
        const __m256i acc = _mm256_sub_epi32(nzv, _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(d + oc)), 1));
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(scale + oc));
        if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + oc));
        /* max then min with the NaN operand second, as edgec_clampf */
        _mm256_storeu_ps(y + oc, _mm256_min_ps(hiv, _mm256_max_ps(lov, v)));
    }
    edgec_bconv_finish_ref(d + oc, nonzero, scale + oc, bias ? bias + oc : 0, lo, hi, n - oc, y + oc);
}

edgec_bconv_finish_fn edgec_bconv_finish(int variant) {
    return variant == EDGEC_BCONV_AVX2 || variant == EDGEC_BCONV_AVX512 ? finish_avx2 : edgec_bconv_finish_ref;
}

/* EDGEC_KERNELS=reference keeps the scalar reference (read per call, as the other ops) */
int edgec_bconv_best(void) {
    const char *force = getenv("EDGEC_KERNELS");
    __builtin_cpu_init();
    if (force && strcmp(force, "reference") == 0) return EDGEC_BCONV_REF;
    if (force && strcmp(force, "popcnt") == 0 && __builtin_cpu_supports("popcnt")) return EDGEC_BCONV_POPCNT;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) return EDGEC_BCONV_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) return EDGEC_BCONV_AVX2;
    if (__builtin_cpu_supports("popcnt")) return EDGEC_BCONV_POPCNT;
    return EDGEC_BCONV_REF;
}

edgec_bconv_dots_fn edgec_bconv_dots(int variant) {
    switch (variant) {
    case EDGEC_BCONV_POPCNT: return dots_popcnt;
    case EDGEC_BCONV_AVX2: return dots_avx2;
    case EDGEC_BCONV_AVX512: return dots_avx512;
    default: return edgec_bconv_dots_ref;
    }
}

void edgec_bconv_binarize(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px, int variant) {
    if (variant == EDGEC_BCONV_AVX2 || variant == EDGEC_BCONV_AVX512)
        binarize_avx2(x, n, c, cw, px);
    else
        edgec_bconv_binarize_ref(x, n, c, cw, px);
}
#endif
