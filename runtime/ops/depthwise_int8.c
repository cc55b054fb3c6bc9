/* SIMD int8 depthwise convolution (contract and layout in depthwise_int8.h): x86 AVX2. */
#include <stdlib.h>
#include <string.h>

#include "requant_terms.h"

#include "depthwise_int8.h"

#define CB 16 /* channels per block */

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

size_t edgec_dw_i8_packed_bytes(int32_t c, int32_t taps) {
    const size_t c_pad = round_up((size_t)c, CB), pairs = round_up((size_t)taps, 2) / 2;
    return c_pad / CB * pairs * 64 + 7 * sizeof(int32_t) * c_pad;
}

#if !defined(__aarch64__)
/* lane order of unpack{lo,hi}_epi16 on two rows of 16 channels (see the header) */
static const int8_t kLaneChannel[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};
#endif

void edgec_dw_i8_pack(uint8_t *dst, const edgec_dw_i8_shape *s, const int8_t *w, const int32_t *bias,
                      const int32_t *mult, const int32_t *shift) {
    int16_t *pw = (int16_t *)dst;
    int32_t *b2 = (int32_t *)(dst + (size_t)s->c_pad / CB * (size_t)(s->taps_pad / 2) * 64);
    int32_t *m2 = b2 + s->c_pad, *s2 = m2 + s->c_pad;
    int32_t cb, t, l, e, c;
#if defined(__aarch64__) /* NEON layout: per block and tap, 16 int16 weights in channel order */
    (void)l, (void)e;
    for (cb = 0; cb < s->c_pad; cb += CB)
        for (t = 0; t < s->taps; ++t)
            for (c = cb; c < cb + CB; ++c) *pw++ = (int16_t)(c < s->c ? w[(ptrdiff_t)t * s->c + c] : 0);
#else
    for (cb = 0; cb < s->c_pad; cb += CB)
        for (t = 0; t < s->taps_pad; t += 2)
            for (l = 0; l < 16; ++l)
                for (e = 0; e < 2; ++e) {
                    const int32_t ch = cb + kLaneChannel[l], tap = t + e;
                    *pw++ = (int16_t)(ch < s->c && tap < s->taps ? w[(ptrdiff_t)tap * s->c + ch] : 0);
                }
#endif
    for (c = 0; c < s->c_pad; ++c) {
        b2[c] = c < s->c && bias ? bias[c] : 0;
        m2[c] = c < s->c ? mult[c] : 0;
        s2[c] = c < s->c ? shift[c] : 0;
        /* left, right, mask, half (requant_avx2.h), 4 more arrays after shift */
        edgec_requant_terms(s2[c], s2 + s->c_pad + c, s2 + 2 * s->c_pad + c, s2 + 3 * s->c_pad + c,
                            s2 + 4 * s->c_pad + c);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "requant_avx2.h"

/* 16 channels of one tap row as int16 (x - x_zp); zeros for an outside tap; a partial
 * channel block is read by a masked load (whole int32 lanes) or copied first, so no load
 * crosses the tensor's end. */
static inline EDGEC_AVX2 __m256i tap16(const int8_t *row, int32_t c0, int32_t c, __m256i zp) {
    int8_t buf[16];
    if (!row) return _mm256_setzero_si256();
    if (c0 + 16 <= c) return _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(row + c0))), zp);
    if (((c - c0) & 3) == 0) { /* whole int32 lanes: a masked load reads only the block's channels */
        const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32((c - c0) >> 2), _mm_setr_epi32(0, 1, 2, 3));
        return _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_maskload_epi32((const int *)(row + c0), mask)), zp);
    }
    memset(buf, 0, sizeof(buf));
    memcpy(buf, row + c0, (size_t)(c - c0));
    return _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)buf)), zp);
}

/* How block16 reads a tap's 16 channels: straight (a full block, tap present), masked
 * (a partial block of whole int32 lanes, tap present), or through tap16 (anything). */
enum { LOAD_FULL, LOAD_MASKED, LOAD_ANY };

/* Channel block c0 of one pixel whose tap t starts at tap_rows[t] + off - c0: the int32
 * sums through pmaddwd on tap pairs, requantized to 16 int8 in channel order. */
static inline __attribute__((always_inline)) EDGEC_AVX2 __m128i block16(const edgec_dw_i8_shape *s,
                                                                        const uint8_t *packed,
                                                                        const int8_t *const *tap_rows,
                                                                        ptrdiff_t off, int32_t c0, __m128i mask,
                                                                        const int LOAD) {
    const int32_t pairs = s->taps_pad / 2;
    const int32_t *b2 = (const int32_t *)(packed + (size_t)s->c_pad / CB * (size_t)pairs * 64);
    const __m256i zp = _mm256_set1_epi16((int16_t)s->x_zp), zero = _mm256_setzero_si256();
    const __m256i *pw = (const __m256i *)packed + (ptrdiff_t)(c0 / CB) * pairs * 2;
    __m256i lo = zero, hi = zero;
    int32_t t;
#define TAP(row)                                                                                                \
    (LOAD == LOAD_ANY ? tap16((row) ? (row) + off - c0 : 0, c0, s->c, zp)                                       \
                      : _mm256_sub_epi16(_mm256_cvtepi8_epi16(LOAD == LOAD_FULL                                 \
                                                                  ? _mm_loadu_si128((const __m128i *)((row) + off)) \
                                                                  : _mm_maskload_epi32((const int *)((row) + off), mask)), \
                                         zp))
    for (t = 0; t < s->taps_pad; t += 2, pw += 2) {
        const __m256i a = TAP(tap_rows[t]);
        const __m256i b = t + 1 < s->taps ? TAP(tap_rows[t + 1]) : zero;
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), _mm256_load_si256(pw)));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), _mm256_load_si256(pw + 1)));
    }
#undef TAP
    return edgec_requant16_pre_avx2(_mm256_permute2x128_si256(lo, hi, 0x20), /* channels 0-7 */
                                    _mm256_permute2x128_si256(lo, hi, 0x31), /* channels 8-15 */
                                    b2 + c0, b2 + s->c_pad + c0, s->c_pad, s->y_zp, s->q_min, s->q_max);
}

/* The first n <= 16 bytes of q to dst. */
static inline EDGEC_AVX2 void store_n(int8_t *dst, __m128i q, int32_t n) {
    if (n == 16) {
        _mm_storeu_si128((__m128i *)dst, q);
        return;
    }
    if (n & 8) _mm_storel_epi64((__m128i *)dst, q), q = _mm_srli_si128(q, 8), dst += 8;
    if (n & 4) {
        const int32_t v = _mm_cvtsi128_si32(q);
        memcpy(dst, &v, 4);
        q = _mm_srli_si128(q, 4), dst += 4;
    }
    for (n &= 3; n > 0; --n, q = _mm_srli_si128(q, 1)) *dst++ = (int8_t)_mm_cvtsi128_si32(q);
}

static EDGEC_AVX2 void pixel_avx2(const edgec_dw_i8_shape *shape, const uint8_t *packed,
                                  const int8_t *const *tap_rows, int8_t *y) {
    const edgec_dw_i8_shape local = *shape, *s = &local; /* int8 stores to y cannot alias a local copy */
    const __m128i none = _mm_setzero_si128();
    int32_t t, c0, all = 1;
    for (t = 0; t < s->taps; ++t) all &= tap_rows[t] != 0;
    for (c0 = 0; c0 < s->c; c0 += CB) {
        const __m128i q = all && c0 + CB <= s->c ? block16(s, packed, tap_rows, c0, c0, none, LOAD_FULL)
                                                 : block16(s, packed, tap_rows, c0, c0, none, LOAD_ANY);
        store_n(y + c0, q, s->c - c0 < CB ? s->c - c0 : CB);
    }
}

/* n interior pixels (every tap present), pixel p's taps at tap_rows[t] + p * step: channel
 * blocks outermost, so one block's weights and requantization terms stay hot across the
 * pixels. A partial last block of whole int32 lanes loads masked; another partial one goes
 * pixel by pixel through tap16's copies. */
static EDGEC_AVX2 void run_avx2(const edgec_dw_i8_shape *shape, const uint8_t *packed,
                                const int8_t *const *tap_rows, ptrdiff_t step, int32_t n, int8_t *y) {
    const edgec_dw_i8_shape local = *shape, *s = &local; /* int8 stores to y cannot alias a local copy */
    const int32_t full = s->c / CB * CB, rem = s->c - full;
    const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(rem >> 2), _mm_setr_epi32(0, 1, 2, 3));
    int32_t c0, p;
    for (c0 = 0; c0 < full; c0 += CB)
        for (p = 0; p < n; ++p)
            store_n(y + (ptrdiff_t)p * s->c + c0, block16(s, packed, tap_rows, p * step + c0, c0, mask, LOAD_FULL), CB);
    if (rem)
        for (p = 0; p < n; ++p)
            store_n(y + (ptrdiff_t)p * s->c + full,
                    (rem & 3) == 0 ? block16(s, packed, tap_rows, p * step + full, full, mask, LOAD_MASKED)
                                   : block16(s, packed, tap_rows, p * step + full, full, mask, LOAD_ANY),
                    rem);
}

int edgec_dw_i8_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    return edgec_cpu_has_avx2();
}

void edgec_dw_i8_pixel(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                       int8_t *y) {
    pixel_avx2(s, packed, tap_rows, y);
}

void edgec_dw_i8_run(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                     ptrdiff_t step, int32_t n, int8_t *y) {
    run_avx2(s, packed, tap_rows, step, n, y);
}
#elif defined(__aarch64__)
#include "requant_neon.h"

int edgec_dw_i8_simd(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 0;
#endif
    return 1; /* NEON is part of armv8-a */
}

/* Channel block c0 of one pixel, its taps at tap_rows[t] + off (NULL: outside, adds 0);
 * FULL: a whole 16-channel block and every tap present (straight loads, no checks). */
static inline __attribute__((always_inline)) void block_neon(const edgec_dw_i8_shape *s, const uint8_t *packed,
                                                             const int8_t *const *tap_rows, ptrdiff_t off,
                                                             int32_t c0, int8_t *y, const int FULL) {
    const int32_t *b2 = (const int32_t *)(packed + (size_t)s->c_pad / CB * (size_t)(s->taps_pad / 2) * 64);
    const int32_t *m2 = b2 + s->c_pad, *s2 = m2 + s->c_pad;
    const int16x8_t zp = vdupq_n_s16((int16_t)s->x_zp);
    const int16_t *pw = (const int16_t *)packed + (ptrdiff_t)(c0 / CB) * s->taps * CB;
    int32x4_t acc[4];
    int8x16_t q;
    int32_t t, j;
    for (j = 0; j < 4; ++j) acc[j] = vdupq_n_s32(0);
    for (t = 0; t < s->taps; ++t, pw += CB) {
        const int16x8_t w0 = vld1q_s16(pw), w1 = vld1q_s16(pw + 8);
        int16x8_t xl, xh;
        int8x16_t x;
        if (FULL) {
            x = vld1q_s8(tap_rows[t] + off);
        } else {
            int8_t buf[CB] = {0};
            if (!tap_rows[t]) continue; /* outside the image: adds 0 */
            memcpy(buf, tap_rows[t] + off, (size_t)(s->c - c0 < CB ? s->c - c0 : CB));
            x = vld1q_s8(buf);
        }
        xl = vsubq_s16(vmovl_s8(vget_low_s8(x)), zp);
        xh = vsubq_s16(vmovl_high_s8(x), zp);
        acc[0] = vmlal_s16(acc[0], vget_low_s16(xl), vget_low_s16(w0));
        acc[1] = vmlal_high_s16(acc[1], xl, w0);
        acc[2] = vmlal_s16(acc[2], vget_low_s16(xh), vget_low_s16(w1));
        acc[3] = vmlal_high_s16(acc[3], xh, w1);
    }
    q = edgec_requant16_neon(acc, b2 + c0, m2 + c0, s2 + c0, s->y_zp, s->q_min, s->q_max);
    if (c0 + CB <= s->c) {
        vst1q_s8(y + c0, q);
    } else {
        int8_t tail[CB];
        vst1q_s8(tail, q);
        memcpy(y + c0, tail, (size_t)(s->c - c0));
    }
}

void edgec_dw_i8_pixel(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                       int8_t *y) {
    int32_t c0;
    for (c0 = 0; c0 < s->c; c0 += CB) block_neon(s, packed, tap_rows, c0, c0, y, 0);
}

/* As run_avx2: full channel blocks outermost over the run's pixels, the last partial
 * block per pixel. */
void edgec_dw_i8_run(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                     ptrdiff_t step, int32_t n, int8_t *y) {
    const int32_t full = s->c / CB * CB;
    int32_t c0, p;
    for (c0 = 0; c0 < full; c0 += CB)
        for (p = 0; p < n; ++p) block_neon(s, packed, tap_rows, p * step + c0, c0, y + (ptrdiff_t)p * s->c, 1);
    if (full < s->c)
        for (p = 0; p < n; ++p) block_neon(s, packed, tap_rows, p * step + full, full, y + (ptrdiff_t)p * s->c, 0);
}
#endif

#if !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))) && !defined(__aarch64__)
void edgec_dw_i8_run(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                     ptrdiff_t step, int32_t n, int8_t *y) {
    const int8_t *taps[EDGEC_DW_MAX_TAPS];
    int32_t p, t;
    for (p = 0; p < n; ++p) {
        for (t = 0; t < s->taps; ++t) taps[t] = tap_rows[t] + p * step;
        edgec_dw_i8_pixel(s, packed, taps, y + (ptrdiff_t)p * s->c);
    }
}
#endif

#if !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))) && !defined(__aarch64__)
int edgec_dw_i8_simd(void) { return 0; }

void edgec_dw_i8_pixel(const edgec_dw_i8_shape *s, const uint8_t *packed, const int8_t *const *tap_rows,
                       int8_t *y) {
    (void)s, (void)packed, (void)tap_rows, (void)y; /* never chosen: edgec_dw_i8_simd() is 0 */
}
#endif
