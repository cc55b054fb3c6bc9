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
                                 const uint64_t *w, int32_t oc_pad, int32_t *d) {
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

/* 8 output channels per pass: two registers of 4 64-bit words */
static T_AVX2 void dots_avx2(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                             const uint64_t *w, int32_t oc_pad, int32_t *d) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                           0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
    int32_t o, t, c, i;
    for (o = 0; o < oc_pad; o += 8) {
        __m256i s0 = zero, s1 = zero, b0 = zero, b1 = zero;
        int32_t pending = 0;
        for (t = 0; t < ntaps; ++t)
            for (c = 0; c < cw; ++c) {
                const __m256i neg = _mm256_set1_epi64x((long long)px[t][c]);
                const __m256i nz = _mm256_set1_epi64x((long long)px[t][cw + c]);
                const uint64_t *wr = w + ((ptrdiff_t)tap[t] * cw + c) * oc_pad + o;
                const __m256i v0 = _mm256_and_si256(nz, _mm256_xor_si256(neg, _mm256_loadu_si256((const __m256i *)wr)));
                const __m256i v1 = _mm256_and_si256(nz, _mm256_xor_si256(neg, _mm256_loadu_si256((const __m256i *)(wr + 4))));
                b0 = _mm256_add_epi8(b0, popcnt_bytes(v0, table, low));
                b1 = _mm256_add_epi8(b1, popcnt_bytes(v1, table, low));
                if (++pending == 31) { /* a byte holds at most 31 * 8 = 248 */
                    s0 = _mm256_add_epi64(s0, _mm256_sad_epu8(b0, zero));
                    s1 = _mm256_add_epi64(s1, _mm256_sad_epu8(b1, zero));
                    b0 = b1 = zero;
                    pending = 0;
                }
            }
        s0 = _mm256_add_epi64(s0, _mm256_sad_epu8(b0, zero));
        s1 = _mm256_add_epi64(s1, _mm256_sad_epu8(b1, zero));
        {
            int64_t tmp[8];
            _mm256_storeu_si256((__m256i *)tmp, s0);
            _mm256_storeu_si256((__m256i *)(tmp + 4), s1);
            for (i = 0; i < 8; ++i) d[o + i] = (int32_t)tmp[i];
        }
    }
}

static T_AVX512 void dots_avx512(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                                 const uint64_t *w, int32_t oc_pad, int32_t *d) {
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
