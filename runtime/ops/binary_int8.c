/* int8 ADD / SUB / MUL with broadcasting, TFLite's reference integer arithmetic:
 * ADD/SUB rescale both inputs to a common scale after << left_shift (20), add, rescale
 * the sum; MUL multiplies the offset inputs and rescales once. */
#include "edgec/fixedpoint.h"
#include "int8.h"
#include "iterate.h"

#define CHUNK 4096
enum { K_ADD = 0, K_SUB = 1, K_MUL = 2 };

edgec_status edgec_binary_int8_prepare(edgec_node *node, int kind, edgec_error *err) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const edgec_tensor *a = node->inputs[0], *b = node->inputs[1], *y = node->outputs[0];
    if (kind > K_MUL)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 is supported for ADD, SUB and MUL only");
    if (a->dtype != EDGEC_DTYPE_INT8 || b->dtype != EDGEC_DTYPE_INT8 || y->dtype != EDGEC_DTYPE_INT8)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 binary op needs int8 inputs and output, got %s, %s -> %s",
                          edgec_dtype_name(a->dtype), edgec_dtype_name(b->dtype), edgec_dtype_name(y->dtype));
    if (p->left_shift < 0 || p->left_shift > 20 || p->in1_shift > 0 || p->in2_shift > 0 || p->out_shift > 30 ||
        p->in1_shift < -31 || p->in2_shift < -31 || p->out_shift < -31 || (kind != K_MUL && p->out_shift > 0))
        return edgec_fail(err, EDGEC_ERR_INVALID, "requantization shifts out of range");
    return EDGEC_OK;
}

static int32_t apply(const edgec_binary_params *p, int kind, int32_t a, int32_t b, int32_t za, int32_t zb, int32_t zy) {
    int32_t v;
    if (kind == K_MUL) {
        v = edgec_mbqm((a - za) * (b - zb), p->out_multiplier, p->out_shift) + zy;
    } else {
        const int32_t sa = edgec_mbqm_small((a - za) * (1 << p->left_shift), p->in1_multiplier, p->in1_shift);
        const int32_t sb = edgec_mbqm_small((b - zb) * (1 << p->left_shift), p->in2_multiplier, p->in2_shift);
        v = edgec_mbqm_small(kind == K_ADD ? sa + sb : sa - sb, p->out_multiplier, p->out_shift) + zy;
    }
    return edgec_clamp_i32(v, p->q_min, p->q_max);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <stdlib.h>
#include <string.h>

#include "requant_avx2.h"

static int use_avx2(void) {
    const char *force = getenv("EDGEC_KERNELS");
    return edgec_cpu_has_avx2() && !(force && strcmp(force, "reference") == 0);
}

static inline EDGEC_AVX2 __m256i load8(const int8_t *p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/* apply() on n contiguous elements, 8 at a time with the same integer steps (mbqm8 is
 * exact); returns how many it did (a multiple of 8), the caller finishes the rest. */
static EDGEC_AVX2 size_t run_avx2(const edgec_binary_params *p, int kind, const int8_t *a, const int8_t *b,
                                  int8_t *y, size_t n, int32_t za, int32_t zb, int32_t zy) {
    const __m256i vza = _mm256_set1_epi32(za), vzb = _mm256_set1_epi32(zb), vzy = _mm256_set1_epi32(zy);
    const __m256i lo = _mm256_set1_epi32(p->q_min), hi = _mm256_set1_epi32(p->q_max);
    const __m256i om = _mm256_set1_epi32(p->out_multiplier), os = _mm256_set1_epi32(p->out_shift);
    const __m256i m1 = _mm256_set1_epi32(p->in1_multiplier), s1 = _mm256_set1_epi32(p->in1_shift);
    const __m256i m2 = _mm256_set1_epi32(p->in2_multiplier), s2 = _mm256_set1_epi32(p->in2_shift);
    size_t i;
    if (p->out_multiplier < 0 || p->in1_multiplier < 0 || p->in2_multiplier < 0) return 0;
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256i da = _mm256_sub_epi32(load8(a + i), vza), db = _mm256_sub_epi32(load8(b + i), vzb);
        __m256i v;
        __m128i h;
        if (kind == K_MUL) {
            v = edgec_mbqm8_avx2(_mm256_mullo_epi32(da, db), om, os);
        } else {
            const __m256i sa = edgec_mbqm8_avx2(_mm256_slli_epi32(da, p->left_shift), m1, s1);
            const __m256i sb = edgec_mbqm8_avx2(_mm256_slli_epi32(db, p->left_shift), m2, s2);
            v = edgec_mbqm8_avx2(kind == K_ADD ? _mm256_add_epi32(sa, sb) : _mm256_sub_epi32(sa, sb), om, os);
        }
        v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, vzy), lo), hi);
        h = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(y + i), _mm_packs_epi16(h, h));
    }
    return i;
}
#else
static int use_avx2(void) { return 0; }
static size_t run_avx2(const edgec_binary_params *p, int kind, const int8_t *a, const int8_t *b,
                       int8_t *y, size_t n, int32_t za, int32_t zb, int32_t zy) {
    (void)p, (void)kind, (void)a, (void)b, (void)y, (void)n, (void)za, (void)zb, (void)zy;
    return 0;
}
#endif

/* aux layout from binary.c: [0] kind, [1] mode (0 same, 1 periodic b, 2 general), [2] period,
 * [4..9] a strides, [10..15] b strides */
void edgec_binary_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const edgec_tensor *ta = node->inputs[0], *tb = node->inputs[1], *ty = node->outputs[0];
    const int8_t *a = (const int8_t *)ta->data, *b = (const int8_t *)tb->data;
    int8_t *y = (int8_t *)ty->data;
    const int kind = (int)node->aux[0];
    const int32_t za = ta->zero_point, zb = tb->zero_point, zy = ty->zero_point;
    size_t i = (size_t)row_begin * CHUNK, end = (size_t)row_end * CHUNK;
    if (end > ty->count) end = ty->count;
    if (node->aux[1] < 2) {
        const size_t period = node->aux[1] == 0 ? ty->count : (size_t)node->aux[2];
        size_t j = i % period;
        if (use_avx2())
            while (i < end) { /* runs where a and b are both contiguous */
                const size_t run = (end - i < period - j ? end - i : period - j);
                const size_t done = run_avx2(p, kind, a + i, b + j, y + i, run, za, zb, zy);
                size_t k;
                for (k = done; k < run; ++k) y[i + k] = (int8_t)apply(p, kind, a[i + k], b[j + k], za, zb, zy);
                i += run;
                j = 0;
            }
        for (; i < end; ++i) {
            y[i] = (int8_t)apply(p, kind, a[i], b[j], za, zb, zy);
            if (++j == period) j = 0;
        }
    } else {
        edgec_broadcast_iter it;
        edgec_broadcast_begin(&it, ty, &node->aux[4], &node->aux[10], i);
        for (; i < end; ++i) {
            y[i] = (int8_t)apply(p, kind, a[it.a], b[it.b], za, zb, zy);
            edgec_broadcast_next(&it, ty, &node->aux[4], &node->aux[10]);
        }
    }
}
