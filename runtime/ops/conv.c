/* CONV2D (dense and grouped) and DEPTHWISE_CONV2D, fp32 reference kernels (NHWC; weights
 * [OC,KH,KW,IC/groups] and [1,KH,KW,C*M]). int8 tensors go to conv_int8.c after the shared
 * geometry checks here.
 *
 * Work unit (row): one output row (n, oy); rows = N * OH; on the SIMD 1x1 GEMM path
 * (A_FAST == 1) a unit is GEMM_PIXELS pixels instead, so threads split small maps evenly.
 * Numerics: each output is a float sum over (ky, kx, ic) in that order starting from 0,
 * then + bias, then the act clamp. Out-of-image taps are skipped (they contribute 0): the
 * valid tap range is computed once per output pixel, so inner loops carry no bounds checks.
 * CONV2D computes 4 output channels per pass over the window (same rounding as one at a
 * time); a 1x1, stride-1, unpadded dense conv runs as a plain GEMM.
 * Residual (fp32, optional input 3, fused by converters/passes/residual.py): sum + bias,
 * + the residual's RC <= OC channels (channels past RC add 0: a zero channel-pad of the
 * skip path folded in), then the act clamp. The SIMD path does it in the GEMM's epilogue;
 * the reference loops write the unclamped sum and add_residual() finishes the rows this
 * call computed, while they are still in cache.
 * The SIMD path of a non-1x1 conv is an implicit im2col: per output pixel KH row pointers
 * straight into the input (an im2col copy only at the left / right edges). */
#include <math.h>
#include <string.h>

#include "common.h"
#include "depthwise_f32.h"
#include "gemm_f32.h"
#include "im2col.h"
#include "int8.h"

/* aux layout shared by both ops and by conv_int8.c (A_N .. A_OCG) */
/* A_FAST: SIMD path (fp32 here, int8 in conv_int8.c): 1 = packed GEMM on the input rows,
 * 2 = packed GEMM on an im2col row, 0 = reference loops */
enum { A_N, A_H, A_W, A_C, A_OH, A_OW, A_OC, A_KH, A_KW, A_ICG, A_OCG, A_INT8, A_GEMM, A_FAST };

static int is_int8(const edgec_node *node) {
    return node->input_count > 0 && node->inputs[0] && node->inputs[0]->dtype == EDGEC_DTYPE_INT8;
}

/* Shapes and parameters common to both ops. Guarantees for eval: every input coordinate
 * oy*sh - pad_top + ky*dh (and likewise for x) lies in [-pad_top, H + pad_bottom), which
 * fits int32 because H + pad_top + pad_bottom <= INT32_MAX is checked here. */
static edgec_status check_geometry(edgec_node *node, int32_t sh, int32_t sw, int32_t dh,
                                   int32_t dw, int32_t pt, int32_t pl, int32_t pb, int32_t pr,
                                   int32_t kh, int32_t kw, edgec_error *err) {
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    int64_t eh, ew, oh, ow;
    if (x->rank != 4 || y->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "input and output must be NHWC (rank 4), got ranks %d and %d", (int)x->rank,
                          (int)y->rank);
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "stride %dx%d and dilation %dx%d must be >= 1",
                          (int)sh, (int)sw, (int)dh, (int)dw);
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0)
        return edgec_fail(err, EDGEC_ERR_INVALID, "negative padding (top %d, left %d, bottom %d, right %d)",
                          (int)pt, (int)pl, (int)pb, (int)pr);
    eh = (int64_t)x->dims[1] + pt + pb;
    ew = (int64_t)x->dims[2] + pl + pr;
    if (eh > INT32_MAX || ew > INT32_MAX)
        return edgec_fail(err, EDGEC_ERR_INVALID, "padded input %lldx%lld does not fit int32",
                          (long long)eh, (long long)ew);
    oh = eh - (int64_t)dh * (kh - 1) - 1;
    ow = ew - (int64_t)dw * (kw - 1) - 1;
    if (oh < 0 || ow < 0)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "kernel %dx%d with dilation %dx%d is larger than the padded input %lldx%lld",
                          (int)kh, (int)kw, (int)dh, (int)dw, (long long)eh, (long long)ew);
    oh = oh / sh + 1;
    ow = ow / sw + 1;
    if (y->dims[0] != x->dims[0] || y->dims[1] != oh || y->dims[2] != ow)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "output is [%d,%d,%d,%d], expected [%d,%lld,%lld,OC] for input [%d,%d,%d,%d]",
                          (int)y->dims[0], (int)y->dims[1], (int)y->dims[2], (int)y->dims[3],
                          (int)x->dims[0], (long long)oh, (long long)ow, (int)x->dims[0], (int)x->dims[1],
                          (int)x->dims[2], (int)x->dims[3]);
    node->aux[A_N] = x->dims[0];
    node->aux[A_H] = x->dims[1];
    node->aux[A_W] = x->dims[2];
    node->aux[A_C] = x->dims[3];
    node->aux[A_OH] = oh;
    node->aux[A_OW] = ow;
    node->aux[A_OC] = y->dims[3];
    node->aux[A_KH] = kh;
    node->aux[A_KW] = kw;
    return edgec_ops_set_rows(node, (int64_t)x->dims[0] * oh, err);
}

static edgec_status check_bias(const edgec_node *node, int64_t oc, edgec_error *err) {
    const edgec_tensor *b = node->input_count > 2 ? node->inputs[2] : 0;
    if (b && (int64_t)b->count != oc)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias has %llu values for %lld output channels",
                          (unsigned long long)b->count, (long long)oc);
    return EDGEC_OK;
}

static const float *bias_of(const edgec_node *node) {
    return node->input_count > 2 && node->inputs[2] ? (const float *)node->inputs[2]->data : 0;
}

static const edgec_tensor *residual_of(const edgec_node *node) {
    return !is_int8(node) && node->input_count > 3 ? node->inputs[3] : 0;
}

/* The clamp the conv kernels apply: none when a residual is added afterwards. */
static void kernel_clamp(const edgec_node *node, float *lo, float *hi) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    *lo = residual_of(node) ? -INFINITY : p->act_min;
    *hi = residual_of(node) ? INFINITY : p->act_max;
}

static edgec_status check_residual(const edgec_node *node, edgec_error *err) {
    const edgec_tensor *r = residual_of(node);
    const int64_t *a = node->aux;
    if (!r) return EDGEC_OK;
    if (r->dtype != EDGEC_DTYPE_FLOAT32 || r->rank != 4 || r->dims[0] != a[A_N] || r->dims[1] != a[A_OH] ||
        r->dims[2] != a[A_OW] || r->dims[3] > a[A_OC])
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "residual must be float32 [%lld,%lld,%lld,<=%lld], got %s rank %d [%d,%d,%d,%d]",
                          (long long)a[A_N], (long long)a[A_OH], (long long)a[A_OW], (long long)a[A_OC],
                          edgec_dtype_name(r->dtype), (int)r->rank, (int)r->dims[0], (int)r->dims[1],
                          (int)r->dims[2], (int)r->dims[3]);
    return EDGEC_OK;
}

static void add_residual(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const edgec_tensor *r = residual_of(node);
    const int32_t OW = (int32_t)node->aux[A_OW], OC = (int32_t)node->aux[A_OC], RC = r->dims[3];
    const float lo = p->act_min, hi = p->act_max;
    const ptrdiff_t px0 = (ptrdiff_t)row_begin * OW, px1 = (ptrdiff_t)row_end * OW;
    const float *res = (const float *)r->data;
    float *y = (float *)node->outputs[0]->data;
    ptrdiff_t px;
    int32_t c;
    for (px = px0; px < px1; ++px) {
        float *yp = y + px * OC;
        const float *rp = res + px * RC;
        for (c = 0; c < RC; ++c) yp[c] = edgec_clampf(yp[c] + rp[c], lo, hi);
        for (; c < OC; ++c) yp[c] = edgec_clampf(yp[c], lo, hi);
    }
}

#define IM2COL_PIXELS 48 /* fp32 implicit-im2col chunk: a multiple of the GEMM's 6-row tile */
#define GEMM_PIXELS 12   /* A_FAST == 1: a work unit ("row") is this many pixels (4- and 6-row tiles) */

/* The GEMM's shape with the op's act clamp; the fast path adds the residual in the GEMM's
 * epilogue (s.res, set per call), so its clamp is the op's own. */
static edgec_gemm_f32_shape f32_shape(const edgec_node *node) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    edgec_gemm_f32_shape s = {0};
    s.n = (int32_t)node->aux[A_OC];
    s.k = (int32_t)(node->aux[A_KH] * node->aux[A_KW] * node->aux[A_C]);
    s.n_pad = (s.n + 15) / 16 * 16;
    s.lo = p->act_min;
    s.hi = p->act_max;
    return s;
}

static void conv2d_f32_pack(edgec_node *node) {
    const edgec_gemm_f32_shape s = f32_shape(node);
    edgec_gemm_f32_pack(node->packed, &s, (const float *)node->inputs[1]->data, bias_of(node));
}

/* Scratch of the implicit im2col: IM2COL_PIXELS * KH row pointers, one kernel row of
 * zeros (taps above / below the image), and im2col rows for pixels whose kernel rows are
 * not contiguous in the input (left / right edges, dilation). */
static size_t implicit_scratch(const edgec_node *node) {
    const int64_t *a = node->aux;
    return (size_t)(IM2COL_PIXELS * a[A_KH]) * sizeof(float *) +
           (size_t)(a[A_KW] * a[A_C] + edgec_im2col_copies(node, IM2COL_PIXELS) * a[A_KH] * a[A_KW] * a[A_C]) *
               sizeof(float);
}

static void plan_f32_fast(edgec_node *node) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t k = node->aux[A_KH] * node->aux[A_KW] * node->aux[A_C];
    node->aux[A_FAST] = 0;
    if (!edgec_gemm_f32_simd() || p->groups != 1 || k > (1 << 20) || node->aux[A_KH] > EDGEC_IM2COL_MAX_KH) return;
    node->aux[A_FAST] = node->aux[A_GEMM] ? 1 : 2;
    if (node->aux[A_FAST] == 1) /* work units of GEMM_PIXELS pixels: threads split small maps evenly */
        node->rows = (int32_t)((node->aux[A_N] * node->aux[A_OH] * node->aux[A_OW] + GEMM_PIXELS - 1) / GEMM_PIXELS);
    node->packed_bytes = edgec_gemm_f32_packed_bytes((int32_t)node->aux[A_OC], (int32_t)k);
    node->pack = conv2d_f32_pack;
    node->scratch_bytes = node->aux[A_FAST] == 2 ? implicit_scratch(node) : 0;
}

/* Residual rows from output pixel px on (NULL when the op has none). */
static void set_residual(const edgec_node *node, edgec_gemm_f32_shape *s, ptrdiff_t px) {
    const edgec_tensor *r = residual_of(node);
    if (!r) return;
    s->rc = r->dims[3];
    s->ldr = s->rc;
    s->res = (const float *)r->data + px * s->ldr;
}

static void conv2d_f32_fast(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const int64_t *a = node->aux;
    const int32_t OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC], C = (int32_t)a[A_C], KH = (int32_t)a[A_KH];
    edgec_gemm_f32_shape s = f32_shape(node);
    const float *x = (const float *)node->inputs[0]->data;
    float *y = (float *)node->outputs[0]->data;
    const float **rows;
    float *zero, *col;
    int32_t row;
    if (a[A_FAST] == 1) { /* the units' pixels are consecutive in x and y: one GEMM */
        const ptrdiff_t total = (ptrdiff_t)a[A_N] * a[A_OH] * OW, px0 = (ptrdiff_t)row_begin * GEMM_PIXELS;
        const ptrdiff_t px1 = (ptrdiff_t)row_end * GEMM_PIXELS < total ? (ptrdiff_t)row_end * GEMM_PIXELS : total;
        set_residual(node, &s, px0);
        edgec_gemm_f32_run(&s, node->packed, (int32_t)(px1 - px0), x + px0 * C, C, y + px0 * OC, OC, 0, s.n);
        return;
    }
    rows = (const float **)scratch; /* layout: implicit_scratch() */
    zero = (float *)(rows + IM2COL_PIXELS * KH);
    col = zero + a[A_KW] * C;
    memset(zero, 0, sizeof(float) * (size_t)(a[A_KW] * C));
    for (row = row_begin; row < row_end; ++row) {
        int32_t ox, ox_end;
        for (ox = 0; ox < OW; ox = ox_end) {
            ox_end = OW - ox < IM2COL_PIXELS ? OW : ox + IM2COL_PIXELS;
            edgec_im2col_pointers(node, row, ox, ox_end, sizeof(float), 0, (const uint8_t *)zero, (uint8_t *)col,
                                  (const uint8_t **)rows);
            set_residual(node, &s, (ptrdiff_t)row * OW + ox);
            edgec_gemm_f32_run_rows(&s, node->packed, ox_end - ox, rows, KH, y + ((ptrdiff_t)row * OW + ox) * OC,
                                    OC, 0, s.n);
        }
    }
}

edgec_status edgec_conv2d_prepare(edgec_node *node, edgec_error *err) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const edgec_tensor *w;
    const int q = is_int8(node);
    edgec_status s = edgec_ops_check_node(node, 2, q ? 5 : 4, 1, err);
    if (s) return s;
    if (!q && (s = edgec_ops_check_float(node, "CONV2D", "float32, or int8 with int8 weights", err)))
        return s;
    w = node->inputs[1];
    if (w->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be [OC,KH,KW,IC/groups], got rank %d",
                          (int)w->rank);
    if ((s = check_geometry(node, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
                            p->pad_top, p->pad_left, p->pad_bottom, p->pad_right, w->dims[1],
                            w->dims[2], err)))
        return s;
    if (p->groups < 1 || node->aux[A_C] % p->groups || node->aux[A_OC] % p->groups ||
        (int64_t)w->dims[3] * p->groups != node->aux[A_C] || w->dims[0] != node->aux[A_OC])
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "weights [%d,%d,%d,%d] with groups=%d do not fit %lld input / %lld output channels",
                          (int)w->dims[0], (int)w->dims[1], (int)w->dims[2], (int)w->dims[3],
                          (int)p->groups, (long long)node->aux[A_C], (long long)node->aux[A_OC]);
    node->aux[A_ICG] = w->dims[3];
    node->aux[A_OCG] = node->aux[A_OC] / p->groups;
    node->aux[A_INT8] = q;
    node->aux[A_GEMM] = w->dims[1] == 1 && w->dims[2] == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                        p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 &&
                        p->pad_right == 0 && p->groups == 1;
    if (q) {
        if ((s = edgec_conv_int8_check(node, (int32_t)node->aux[A_OC], err))) return s;
        edgec_conv2d_int8_plan(node);
        return EDGEC_OK;
    }
    if ((s = edgec_ops_check_act(p->act_min, p->act_max, err))) return s;
    if ((s = check_bias(node, node->aux[A_OC], err))) return s;
    if ((s = check_residual(node, err))) return s;
    plan_f32_fast(node);
    return EDGEC_OK;
}

/* acc[0..nb) += the window sums of nb (4 or 1) output channels whose weights start at wo,
 * wstride apart. xg points at (row 0, column 0, first channel of the group) of one image;
 * only the taps [ky0, ky1) x [kx0, kx1), already clipped to the image, are read. */
static void window_sums(const float *xg, const float *wo, ptrdiff_t wstride, int nb, int32_t iy0,
                        int32_t ky0, int32_t ky1, int32_t ix0, int32_t kx0, int32_t kx1, int32_t dh,
                        int32_t dw, int32_t W, int32_t C, int32_t KW, int32_t ICG, float *acc) {
    int32_t ky, kx;
    for (ky = ky0; ky < ky1; ++ky) {
        const float *xk = xg + (ptrdiff_t)(iy0 + ky * dh) * W * C;
        const float *wk = wo + (ptrdiff_t)ky * KW * ICG;
        if (dw == 1 && ICG == C) { /* the valid taps of this kernel row are contiguous */
            const float *xp = xk + (ptrdiff_t)(ix0 + kx0) * C, *wp = wk + (ptrdiff_t)kx0 * ICG;
            const ptrdiff_t n = (ptrdiff_t)(kx1 - kx0) * ICG;
            if (nb == 4) edgec_ops_dot4(xp, wp, wstride, n, acc);
            else acc[0] = edgec_ops_dot1(xp, wp, n, acc[0]);
        } else {
            for (kx = kx0; kx < kx1; ++kx) {
                const float *xp = xk + (ptrdiff_t)(ix0 + kx * dw) * C, *wp = wk + (ptrdiff_t)kx * ICG;
                if (nb == 4) edgec_ops_dot4(xp, wp, wstride, ICG, acc);
                else acc[0] = edgec_ops_dot1(xp, wp, ICG, acc[0]);
            }
        }
    }
}

/* 1x1, stride 1, no padding, groups 1: out[pixel, oc] = dot(x[pixel, :], w[oc, :]) over the
 * row's OW pixels; 4 channels at a time so a weight block stays in L1 across pixels. */
static void conv2d_gemm(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const int64_t *a = node->aux;
    const int32_t C = (int32_t)a[A_C], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const float *x = (const float *)node->inputs[0]->data;
    const float *w = (const float *)node->inputs[1]->data;
    const float *bias = bias_of(node);
    float *y = (float *)node->outputs[0]->data;
    float lo, hi;
    int32_t row, px, oc, j;
    kernel_clamp(node, &lo, &hi);
    for (row = row_begin; row < row_end; ++row) {
        const float *xrow = x + (ptrdiff_t)row * OW * C;
        float *yrow = y + (ptrdiff_t)row * OW * OC;
        for (oc = 0; oc + 4 <= OC; oc += 4) {
            const float *wo = w + (ptrdiff_t)oc * C;
            for (px = 0; px < OW; ++px) {
                float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                float *out = yrow + (ptrdiff_t)px * OC + oc;
                edgec_ops_dot4(xrow + (ptrdiff_t)px * C, wo, C, C, acc);
                for (j = 0; j < 4; ++j) out[j] = edgec_clampf(bias ? acc[j] + bias[oc + j] : acc[j], lo, hi);
            }
        }
        for (; oc < OC; ++oc) {
            const float *wo = w + (ptrdiff_t)oc * C;
            for (px = 0; px < OW; ++px) {
                const float acc = edgec_ops_dot1(xrow + (ptrdiff_t)px * C, wo, C, 0.0f);
                yrow[(ptrdiff_t)px * OC + oc] = edgec_clampf(bias ? acc + bias[oc] : acc, lo, hi);
            }
        }
    }
}

/* The reference loops (any geometry, groups). */
static void conv2d_rows(const edgec_node *node, int32_t row_begin, int32_t row_end, float lo, float hi) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW];
    const int32_t ICG = (int32_t)a[A_ICG], OCG = (int32_t)a[A_OCG], G = OC / OCG;
    const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dilation_h, dw = p->dilation_w;
    const ptrdiff_t wstride = (ptrdiff_t)KH * KW * ICG; /* between output channels */
    const float *x = (const float *)node->inputs[0]->data;
    const float *w = (const float *)node->inputs[1]->data;
    const float *bias = bias_of(node);
    float *y = (float *)node->outputs[0]->data;
    int32_t row;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row - n * OH, iy0 = oy * sh - p->pad_top;
        float *yrow = y + (ptrdiff_t)row * OW * OC;
        int32_t ky0, ky1, g, oc, ox, j, nb;
        edgec_ops_tap_range(iy0, KH, dh, H, &ky0, &ky1);
        for (g = 0; g < G; ++g) {
            const float *xg = x + (ptrdiff_t)n * H * W * C + (ptrdiff_t)g * ICG;
            const int32_t oc_end = (g + 1) * OCG;
            for (oc = g * OCG; oc < oc_end; oc += nb) {
                const float *wo = w + (ptrdiff_t)oc * wstride;
                nb = oc + 4 <= oc_end ? 4 : 1; /* remainder channels go one at a time */
                for (ox = 0; ox < OW; ++ox) {
                    const int32_t ix0 = ox * sw - p->pad_left;
                    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                    float *out = yrow + (ptrdiff_t)ox * OC + oc;
                    int32_t kx0, kx1;
                    edgec_ops_tap_range(ix0, KW, dw, W, &kx0, &kx1);
                    window_sums(xg, wo, wstride, nb, iy0, ky0, ky1, ix0, kx0, kx1, dh, dw, W, C, KW,
                                ICG, acc);
                    for (j = 0; j < nb; ++j)
                        out[j] = edgec_clampf(bias ? acc[j] + bias[oc + j] : acc[j], lo, hi);
                }
            }
        }
    }
}

void edgec_conv2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    float lo, hi;
    if (node->aux[A_INT8]) {
        edgec_conv2d_int8_eval(node, row_begin, row_end, scratch);
        return;
    }
    if (node->aux[A_FAST]) { /* residual and clamp in the GEMM's epilogue */
        conv2d_f32_fast(node, row_begin, row_end, scratch);
        return;
    }
    kernel_clamp(node, &lo, &hi);
    if (node->aux[A_GEMM]) conv2d_gemm(node, row_begin, row_end);
    else conv2d_rows(node, row_begin, row_end, lo, hi);
    if (residual_of(node)) add_residual(node, row_begin, row_end);
}

edgec_status edgec_depthwise_conv2d_prepare(edgec_node *node, edgec_error *err) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const edgec_tensor *w;
    const int q = is_int8(node);
    edgec_status s = edgec_ops_check_node(node, 2, q ? 5 : 3, 1, err);
    if (s) return s;
    if (!q && (s = edgec_ops_check_float(node, "DEPTHWISE_CONV2D", "float32, or int8 with int8 weights", err)))
        return s;
    w = node->inputs[1];
    if (w->rank != 4 || w->dims[0] != 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be [1,KH,KW,C*M], got rank %d with dim 0 = %d",
                          (int)w->rank, (int)w->dims[0]);
    if ((s = check_geometry(node, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
                            p->pad_top, p->pad_left, p->pad_bottom, p->pad_right, w->dims[1],
                            w->dims[2], err)))
        return s;
    if (p->depth_multiplier < 1 || node->aux[A_C] * p->depth_multiplier != node->aux[A_OC] ||
        w->dims[3] != node->aux[A_OC])
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "%lld input channels x depth_multiplier %d != %lld output channels (weights have %d)",
                          (long long)node->aux[A_C], (int)p->depth_multiplier, (long long)node->aux[A_OC],
                          (int)w->dims[3]);
    node->aux[A_ICG] = 1;
    node->aux[A_OCG] = p->depth_multiplier;
    node->aux[A_INT8] = q;
    node->aux[A_GEMM] = 0;
    if (q) {
        if ((s = edgec_conv_int8_check(node, (int32_t)node->aux[A_OC], err))) return s;
        edgec_depthwise_conv2d_int8_plan(node);
        return EDGEC_OK;
    }
    if ((s = edgec_ops_check_act(p->act_min, p->act_max, err))) return s;
    node->aux[A_FAST] = p->depth_multiplier == 1 && edgec_dw_f32_simd();
    return check_bias(node, node->aux[A_OC], err);
}

/* The output pixel itself is the accumulator: zeroed, then += x * w for each valid tap in
 * (ky, kx) order with channels innermost (vectorizable), then + bias and clamp. */
void edgec_depthwise_conv2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end,
                                 void *scratch) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW], M = p->depth_multiplier;
    const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dilation_h, dw = p->dilation_w;
    const float *x = (const float *)node->inputs[0]->data;
    const float *w = (const float *)node->inputs[1]->data;
    const float *bias = bias_of(node);
    float *y = (float *)node->outputs[0]->data;
    const float lo = p->act_min, hi = p->act_max;
    int32_t row;
    (void)scratch;
    if (a[A_INT8]) {
        edgec_depthwise_conv2d_int8_eval(node, row_begin, row_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row - n * OH, iy0 = oy * sh - p->pad_top;
        const float *xn = x + (ptrdiff_t)n * H * W * C;
        int32_t ky0, ky1, ox;
        edgec_ops_tap_range(iy0, KH, dh, H, &ky0, &ky1);
        if (a[A_FAST]) {
            const edgec_dw_f32_row r = {xn, w, bias, W, C, KW, sw, dh, dw, p->pad_left, iy0, ky0, ky1, OW, lo, hi};
            edgec_dw_f32_run_row(&r, y + (ptrdiff_t)row * OW * OC);
            continue;
        }
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * sw - p->pad_left;
            float *restrict out = y + ((ptrdiff_t)row * OW + ox) * OC;
            int32_t kx0, kx1, ky, kx, c, m;
            edgec_ops_tap_range(ix0, KW, dw, W, &kx0, &kx1);
            memset(out, 0, sizeof(float) * (size_t)OC);
            for (ky = ky0; ky < ky1; ++ky) {
                for (kx = kx0; kx < kx1; ++kx) {
                    const float *restrict xp = xn + ((ptrdiff_t)(iy0 + ky * dh) * W + ix0 + kx * dw) * C;
                    const float *restrict wp = w + ((ptrdiff_t)ky * KW + kx) * OC;
                    if (M == 1) {
                        for (c = 0; c < C; ++c) out[c] += xp[c] * wp[c];
                    } else {
                        for (c = 0; c < C; ++c)
                            for (m = 0; m < M; ++m) out[c * M + m] += xp[c] * wp[c * M + m];
                    }
                }
            }
            if (bias)
                for (c = 0; c < OC; ++c) out[c] = edgec_clampf(out[c] + bias[c], lo, hi);
            else
                for (c = 0; c < OC; ++c) out[c] = edgec_clampf(out[c], lo, hi);
        }
    }
}
