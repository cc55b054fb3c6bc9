/* int8 CONV2D and DEPTHWISE_CONV2D: TFLite's reference ConvPerChannel /
 * DepthwiseConvPerChannel. acc = sum w * (x - x_zp) over in-image taps (+ int32 bias),
 * then per-channel requantization (multiplier, shift inputs 3 and 4), + y_zp, clamp to
 * [q_min, q_max]. Weights are symmetric (zero point 0). */
#include <string.h>

#include "edgec/fixedpoint.h"
#include "depthwise_int8.h"
#include "gemm_int8.h"
#include "im2col.h"
#include "int8.h"
#include "common.h"

/* conv.c's aux layout; A_FAST (after conv.c's A_INT8, A_GEMM): 1 = packed GEMM on the
 * input rows (1x1, stride 1, no padding), 2 = packed GEMM on an im2col row */
enum { A_N, A_H, A_W, A_C, A_OH, A_OW, A_OC, A_KH, A_KW, A_ICG, A_OCG, A_FAST = 13 };

/* inputs: x int8, w int8, bias int32 (optional), multiplier int32[OC], shift int32[OC] */
/* The int32 accumulator holds taps * 255 * 128 (+ bias) without overflow below this. */
#define EDGEC_INT8_MAX_TAPS 65000

edgec_status edgec_conv_int8_check(edgec_node *node, int32_t channels, edgec_error *err) {
    const edgec_tensor *b, *m, *s;
    const edgec_tensor *w = node->inputs[1];
    edgec_status st = edgec_check_counts(node, 2, 5, 1, err); /* bias (input 2) is optional */
    if (st) return st;
    if (node->input_count != 5 || !node->inputs[3] || !node->inputs[4])
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 op needs requantization multiplier and shift (inputs 3, 4)");
    b = node->inputs[2];
    m = node->inputs[3];
    s = node->inputs[4];
    if ((int64_t)w->dims[1] * w->dims[2] * w->dims[3] > EDGEC_INT8_MAX_TAPS)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 kernel of %lld taps per output would overflow int32",
                          (long long)w->dims[1] * w->dims[2] * w->dims[3]);
    if (node->inputs[1]->dtype != EDGEC_DTYPE_INT8 || node->outputs[0]->dtype != EDGEC_DTYPE_INT8)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 input needs int8 weights and output");
    if (b && (b->dtype != EDGEC_DTYPE_INT32 || (int64_t)b->count != channels))
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias must be int32[%d]", (int)channels);
    if (!m || !s || m->dtype != EDGEC_DTYPE_INT32 || s->dtype != EDGEC_DTYPE_INT32 ||
        (int64_t)m->count != channels || (int64_t)s->count != channels)
        return edgec_fail(err, EDGEC_ERR_INVALID, "requantization multiplier/shift must be int32[%d]", (int)channels);
    {
        const int32_t *sh = (const int32_t *)s->data;
        int32_t i;
        if (s->storage != EDGEC_STORAGE_CONSTANT || m->storage != EDGEC_STORAGE_CONSTANT)
            return edgec_fail(err, EDGEC_ERR_INVALID, "multiplier/shift must be constants");
        for (i = 0; i < channels; ++i)
            if (sh[i] < -31 || sh[i] > 30)
                return edgec_fail(err, EDGEC_ERR_INVALID, "shift %d of channel %d is out of [-31, 30]", (int)sh[i], (int)i);
    }
    return EDGEC_OK;
}

/* acc + sum w[i] * (x[i] + x_offset): the reference inner loop. On Cortex-M cores with
 * the DSP extension (M4, M7, M33) four taps at a time as CMSIS-NN does: SXTB16 splits
 * four int8 into two pairs of int16 (adding the offset, |x + offset| <= 255), SMLAD
 * multiplies both pairs and accumulates, exact in int32 like the scalar loop. */
#if defined(__ARM_FEATURE_SIMD32) && defined(__ARM_FEATURE_DSP) && !defined(__aarch64__)
#include <arm_acle.h>
static inline uint32_t ror8(uint32_t v) { return (v >> 8) | (v << 24); }
static int32_t dot_offset(const int8_t *w, const int8_t *x, int32_t n, int32_t x_offset, int32_t acc) {
    const uint32_t off2 = ((uint32_t)(uint16_t)x_offset << 16) | (uint16_t)x_offset;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t xw, ww;
        memcpy(&xw, x + i, 4);
        memcpy(&ww, w + i, 4);
        acc = __smlad(__sxtab16(off2, xw), __sxtb16(ww), acc);
        acc = __smlad(__sxtab16(off2, ror8(xw)), __sxtb16(ror8(ww)), acc);
    }
    for (; i < n; ++i) acc += (int32_t)w[i] * ((int32_t)x[i] + x_offset);
    return acc;
}
#else
static int32_t dot_offset(const int8_t *w, const int8_t *x, int32_t n, int32_t x_offset, int32_t acc) {
    int32_t i;
    for (i = 0; i < n; ++i) acc += (int32_t)w[i] * ((int32_t)x[i] + x_offset);
    return acc;
}
#endif

static int32_t requantize(int32_t acc, const edgec_node *node, int32_t oc) {
    const int32_t *mult = (const int32_t *)node->inputs[3]->data, *shift = (const int32_t *)node->inputs[4]->data;
    return edgec_mbqm(acc, mult[oc], shift[oc]) + node->outputs[0]->zero_point;
}

static void conv2d_int8_reference(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW], ICG = (int32_t)a[A_ICG], OCG = (int32_t)a[A_OCG];
    const int8_t *restrict x = (const int8_t *)node->inputs[0]->data;
    const int8_t *restrict w = (const int8_t *)node->inputs[1]->data;
    const int32_t *restrict bias = node->inputs[2] ? (const int32_t *)node->inputs[2]->data : 0;
    int8_t *restrict y = (int8_t *)node->outputs[0]->data;
    const int32_t x_offset = -node->inputs[0]->zero_point;
    int32_t row;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH, iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0, ky1, ox;
        edgec_ops_tap_range(iy0, KH, p->dilation_h, H, &ky0, &ky1);
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0, kx1, oc;
            int8_t *restrict out = y + (((int64_t)n * OH + oy) * OW + ox) * OC;
            edgec_ops_tap_range(ix0, KW, p->dilation_w, W, &kx0, &kx1);
            for (oc = 0; oc < OC; ++oc) {
                const int32_t g = oc / OCG;
                const int8_t *restrict wo = w + (int64_t)oc * KH * KW * ICG;
                int32_t acc = 0, ky, kx;
                for (ky = ky0; ky < ky1; ++ky) {
                    const int8_t *restrict xr = x + (((int64_t)n * H + iy0 + ky * p->dilation_h) * W) * C + (int64_t)g * ICG;
                    const int8_t *restrict wr = wo + (int64_t)ky * KW * ICG;
                    for (kx = kx0; kx < kx1; ++kx) {
                        const int8_t *restrict xp = xr + (int64_t)(ix0 + kx * p->dilation_w) * C;
                        const int8_t *restrict wp = wr + (int64_t)kx * ICG;
                        acc = dot_offset(wp, xp, ICG, x_offset, acc);
                    }
                }
                if (bias) acc = (int32_t)((int64_t)acc + bias[oc]); /* no signed overflow on corrupt biases */
                out[oc] = (int8_t)edgec_clamp_i32(requantize(acc, node, oc), p->q_min, p->q_max);
            }
        }
    }
}

/* ---- fast path: packed GEMM (gemm_int8.h), bit-identical to the loops above ---- */

#define IM2COL_PIXELS 64 /* int8 im2col chunk: a multiple of the GEMM's 4-row tile */
#define GEMM_PIXELS 8    /* A_FAST == 1: a work unit ("row") is this many pixels (4-row tiles) */

static edgec_gemm_i8_shape gemm_shape(const edgec_node *node) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    return edgec_gemm_i8_make_shape((int32_t)a[A_OC], (int32_t)(a[A_KH] * a[A_KW] * a[A_C]),
                                    node->outputs[0]->zero_point, p->q_min, p->q_max);
}

static void conv2d_int8_pack(edgec_node *node) {
    const edgec_gemm_i8_shape s = gemm_shape(node);
    edgec_gemm_i8_pack(node->packed, &s, (const int8_t *)node->inputs[1]->data,
                       node->inputs[2] ? (const int32_t *)node->inputs[2]->data : 0,
                       (const int32_t *)node->inputs[3]->data, (const int32_t *)node->inputs[4]->data,
                       node->inputs[0]->zero_point);
}

void edgec_conv2d_int8_plan(edgec_node *node) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t *mult = (const int32_t *)node->inputs[3]->data;
    const int32_t k = (int32_t)(a[A_KH] * a[A_KW] * a[A_C]);
    int32_t i;
    node->aux[A_FAST] = 0;
    if (!edgec_gemm_i8_simd() || p->groups != 1) return;
    for (i = 0; i < (int32_t)a[A_OC]; ++i)
        if (mult[i] < 0) return; /* the SIMD requantization assumes multipliers >= 0 */
    node->aux[A_FAST] = a[A_KH] == 1 && a[A_KW] == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                        p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0
                            ? 1 : 2;
    if (node->aux[A_FAST] == 1) /* work units of GEMM_PIXELS pixels: threads split small maps evenly */
        node->rows = (int32_t)((a[A_N] * a[A_OH] * a[A_OW] + GEMM_PIXELS - 1) / GEMM_PIXELS);
    node->packed_bytes = edgec_gemm_i8_packed_bytes((int32_t)a[A_OC], k);
    node->pack = conv2d_int8_pack;
    if (node->aux[A_FAST] == 2 && a[A_KH] > EDGEC_IM2COL_MAX_KH) node->aux[A_FAST] = 0;
    /* GEMM scratch, then for the implicit im2col: row pointers, the zero-point row, edge copies */
    node->scratch_bytes = edgec_gemm_i8_scratch_bytes(k) +
                          (node->aux[A_FAST] == 2 ? IM2COL_PIXELS * (size_t)a[A_KH] * sizeof(int8_t *) +
                                                        (size_t)(a[A_KW] * a[A_C]) +
                                                        (size_t)k * (size_t)edgec_im2col_copies(node, IM2COL_PIXELS)
                                                  : 0);
}


void edgec_conv2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const int64_t *a = node->aux;
    const int32_t OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC], C = (int32_t)a[A_C];
    const int8_t *x = (const int8_t *)node->inputs[0]->data;
    int8_t *y = (int8_t *)node->outputs[0]->data;
    edgec_gemm_i8_shape s;
    int32_t row;
    if (!a[A_FAST]) {
        conv2d_int8_reference(node, row_begin, row_end);
        return;
    }
    s = gemm_shape(node);
    if (a[A_FAST] == 1) { /* the units' pixels are consecutive in x and y: one GEMM */
        const int64_t total = a[A_N] * a[A_OH] * OW, px0 = (int64_t)row_begin * GEMM_PIXELS;
        const int64_t px1 = (int64_t)row_end * GEMM_PIXELS < total ? (int64_t)row_end * GEMM_PIXELS : total;
        edgec_gemm_i8_run(&s, node->packed, (int32_t)(px1 - px0), x + px0 * C, C, y + px0 * OC, OC, scratch);
        return;
    }
    { /* implicit im2col: padding taps read the input zero point (they then add 0) */
        const uint8_t zp = (uint8_t)node->inputs[0]->zero_point;
        const uint8_t **rows = (const uint8_t **)((uint8_t *)scratch + edgec_gemm_i8_scratch_bytes(s.k));
        uint8_t *zp_row = (uint8_t *)(rows + IM2COL_PIXELS * a[A_KH]), *col = zp_row + a[A_KW] * C;
        memset(zp_row, zp, (size_t)(a[A_KW] * C));
        for (row = row_begin; row < row_end; ++row) {
            int32_t ox, ox_end;
            for (ox = 0; ox < OW; ox = ox_end) {
                ox_end = OW - ox < IM2COL_PIXELS ? OW : ox + IM2COL_PIXELS;
                edgec_im2col_pointers(node, row, ox, ox_end, 1, zp, zp_row, col, rows);
                edgec_gemm_i8_run_rows(&s, node->packed, ox_end - ox, (const int8_t *const *)rows, (int32_t)a[A_KH],
                                       y + ((int64_t)row * OW + ox) * OC, OC, scratch);
            }
        }
    }
}

static void depthwise_int8_reference(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW], M = p->depth_multiplier;
    const int8_t *restrict x = (const int8_t *)node->inputs[0]->data;
    const int8_t *restrict w = (const int8_t *)node->inputs[1]->data;
    const int32_t *restrict bias = node->inputs[2] ? (const int32_t *)node->inputs[2]->data : 0;
    int8_t *restrict y = (int8_t *)node->outputs[0]->data;
    const int32_t x_offset = -node->inputs[0]->zero_point;
    int32_t row;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH, iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0, ky1, ox;
        edgec_ops_tap_range(iy0, KH, p->dilation_h, H, &ky0, &ky1);
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0, kx1, oc;
            int8_t *restrict out = y + (((int64_t)n * OH + oy) * OW + ox) * OC;
            edgec_ops_tap_range(ix0, KW, p->dilation_w, W, &kx0, &kx1);
            for (oc = 0; oc < OC; ++oc) {
                const int32_t c = oc / M;
                int32_t acc = 0, ky, kx;
                for (ky = ky0; ky < ky1; ++ky)
                    for (kx = kx0; kx < kx1; ++kx) {
                        const int32_t xv = x[(((int64_t)n * H + iy0 + ky * p->dilation_h) * W + ix0 + kx * p->dilation_w) * C + c];
                        acc += (int32_t)w[((int64_t)ky * KW + kx) * OC + oc] * (xv + x_offset);
                    }
                if (bias) acc = (int32_t)((int64_t)acc + bias[oc]); /* no signed overflow on corrupt biases */
                out[oc] = (int8_t)edgec_clamp_i32(requantize(acc, node, oc), p->q_min, p->q_max);
            }
        }
    }
}

/* ---- depthwise fast path (depthwise_int8.h), bit-identical to the loops above ---- */


static edgec_dw_i8_shape dw_shape(const edgec_node *node) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    edgec_dw_i8_shape s;
    s.c = (int32_t)node->aux[A_OC];
    s.c_pad = (s.c + 15) / 16 * 16;
    s.taps = (int32_t)(node->aux[A_KH] * node->aux[A_KW]);
    s.taps_pad = (s.taps + 1) & ~1;
    s.x_zp = node->inputs[0]->zero_point;
    s.y_zp = node->outputs[0]->zero_point;
    s.q_min = p->q_min;
    s.q_max = p->q_max;
    return s;
}

static void depthwise_int8_pack(edgec_node *node) {
    const edgec_dw_i8_shape s = dw_shape(node);
    edgec_dw_i8_pack(node->packed, &s, (const int8_t *)node->inputs[1]->data,
                     node->inputs[2] ? (const int32_t *)node->inputs[2]->data : 0,
                     (const int32_t *)node->inputs[3]->data, (const int32_t *)node->inputs[4]->data);
}

void edgec_depthwise_conv2d_int8_plan(edgec_node *node) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const int32_t *mult = (const int32_t *)node->inputs[3]->data;
    const int64_t taps = node->aux[A_KH] * node->aux[A_KW];
    int32_t i;
    node->aux[A_FAST] = 0;
    if (!edgec_dw_i8_simd() || p->depth_multiplier != 1 || taps > EDGEC_DW_MAX_TAPS) return;
    for (i = 0; i < (int32_t)node->aux[A_OC]; ++i)
        if (mult[i] < 0) return; /* the SIMD requantization assumes multipliers >= 0 */
    node->aux[A_FAST] = 1;
    node->packed_bytes = edgec_dw_i8_packed_bytes((int32_t)node->aux[A_OC], (int32_t)taps);
    node->pack = depthwise_int8_pack;
}

void edgec_depthwise_conv2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW];
    const int8_t *x = (const int8_t *)node->inputs[0]->data;
    int8_t *y = (int8_t *)node->outputs[0]->data;
    const int8_t *taps[EDGEC_DW_MAX_TAPS];
    edgec_dw_i8_shape s;
    int32_t row, ox, ky, kx;
    if (!a[A_FAST]) {
        depthwise_int8_reference(node, row_begin, row_end);
        return;
    }
    s = dw_shape(node);
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH;
        const int8_t *rows[EDGEC_DW_MAX_TAPS]; /* input row of each ky, NULL above / below the image */
        for (ky = 0; ky < KH; ++ky) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            rows[ky] = iy < 0 || iy >= H ? 0 : x + ((int64_t)n * H + iy) * W * C;
        }
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t all = 1, run = 0;
            for (kx = 0; kx < KW; ++kx) {
                const int32_t ix = ix0 + kx * p->dilation_w;
                const int inside = ix >= 0 && ix < W;
                for (ky = 0; ky < KH; ++ky) {
                    taps[ky * KW + kx] = rows[ky] && inside ? rows[ky] + (int64_t)ix * C : 0;
                    all &= taps[ky * KW + kx] != 0;
                }
            }
            if (all) /* this and the following pixels whose last tap stays inside: one run */
                while (ox + run < OW && (ox + run) * p->stride_w - p->pad_left + (KW - 1) * p->dilation_w < W) ++run;
            if (run > 1) {
                edgec_dw_i8_run(&s, node->packed, taps, (ptrdiff_t)p->stride_w * C, run,
                                y + ((int64_t)row * OW + ox) * C);
                ox += run - 1;
            } else {
                edgec_dw_i8_pixel(&s, node->packed, taps, y + ((int64_t)row * OW + ox) * C);
            }
        }
    }
}
