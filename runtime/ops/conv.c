/* CONV2D (dense and grouped) and DEPTHWISE_CONV2D, fp32 reference kernels (NHWC); int8
 * tensors go to conv_int8.c after the shared geometry checks here.
 * Out-of-image taps contribute nothing; the valid kernel window is computed once per
 * output pixel so inner loops carry no bounds checks. */
#include <stdint.h>
#include <string.h>

#include "edgec/kernel.h"
#include "int8.h"

/* aux layout shared by both ops */
enum { A_N, A_H, A_W, A_C, A_OH, A_OW, A_OC, A_KH, A_KW, A_ICG, A_OCG, A_INT8 };

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static edgec_status check_geometry(edgec_node *node, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                                   int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t kh,
                                   int32_t kw, edgec_error *err) {
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    int64_t oh, ow;
    if (x->rank != 4 || y->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output must be NHWC (rank 4), got ranks %d and %d",
                          x->rank, y->rank);
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || pt < 0 || pl < 0 || pb < 0 || pr < 0)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bad stride %dx%d / dilation %dx%d / padding %d,%d,%d,%d",
                          sh, sw, dh, dw, pt, pl, pb, pr);
    oh = ((int64_t)x->dims[1] + pt + pb - (int64_t)dh * (kh - 1) - 1);
    ow = ((int64_t)x->dims[2] + pl + pr - (int64_t)dw * (kw - 1) - 1);
    if (oh < 0 || ow < 0)
        return edgec_fail(err, EDGEC_ERR_INVALID, "kernel %dx%d (dilated) is larger than the padded input %dx%d",
                          kh, kw, x->dims[1], x->dims[2]);
    oh = oh / sh + 1;
    ow = ow / sw + 1;
    if (y->dims[0] != x->dims[0] || y->dims[1] != oh || y->dims[2] != ow)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output is [%d,%d,%d,%d], expected [%d,%lld,%lld,*]",
                          y->dims[0], y->dims[1], y->dims[2], y->dims[3], x->dims[0], (long long)oh,
                          (long long)ow);
    node->aux[A_N] = x->dims[0];
    node->aux[A_H] = x->dims[1];
    node->aux[A_W] = x->dims[2];
    node->aux[A_C] = x->dims[3];
    node->aux[A_OH] = oh;
    node->aux[A_OW] = ow;
    node->aux[A_OC] = y->dims[3];
    node->aux[A_KH] = kh;
    node->aux[A_KW] = kw;
    node->rows = (int32_t)(x->dims[0] * oh);
    return EDGEC_OK;
}

static edgec_status check_float_io(const edgec_node *node, const char *op, edgec_error *err) {
    int i;
    for (i = 0; i < node->input_count; ++i)
        if (node->inputs[i] && node->inputs[i]->dtype != EDGEC_DTYPE_FLOAT32)
            return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "input %d is %s; %s takes float32 here (int8 lands with the int8 kernels)",
                              i, edgec_dtype_name(node->inputs[i]->dtype), op);
    return edgec_check_dtype(node->outputs[0], EDGEC_DTYPE_FLOAT32, "output", err);
}

static int is_int8(const edgec_node *node) {
    return node->input_count > 0 && node->inputs[0] && node->inputs[0]->dtype == EDGEC_DTYPE_INT8;
}

static edgec_status check_bias(const edgec_node *node, int64_t oc, edgec_error *err) {
    const edgec_tensor *b = node->input_count > 2 ? node->inputs[2] : 0;
    if (b && (int64_t)b->count != oc)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias has %llu values for %lld output channels",
                          (unsigned long long)b->count, (long long)oc);
    return EDGEC_OK;
}

edgec_status edgec_conv2d_prepare(edgec_node *node, edgec_error *err) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const edgec_tensor *w;
    const int q = is_int8(node);
    edgec_status s = edgec_check_counts(node, 2, q ? 5 : 3, 1, err);
    if (s || (!q && (s = check_float_io(node, "CONV2D", err)))) return s;
    w = node->inputs[1];
    if (w->rank != 4) return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be [OC,KH,KW,IC/groups], rank %d", w->rank);
    if ((s = check_geometry(node, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->pad_top,
                            p->pad_left, p->pad_bottom, p->pad_right, w->dims[1], w->dims[2], err)))
        return s;
    if (p->groups < 1 || node->aux[A_C] % p->groups || node->aux[A_OC] % p->groups ||
        w->dims[3] * (int64_t)p->groups != node->aux[A_C] || w->dims[0] != node->aux[A_OC])
        return edgec_fail(err, EDGEC_ERR_INVALID, "weights [%d,%d,%d,%d] with groups=%d do not fit %lld input / %lld output channels",
                          w->dims[0], w->dims[1], w->dims[2], w->dims[3], p->groups,
                          (long long)node->aux[A_C], (long long)node->aux[A_OC]);
    node->aux[A_ICG] = w->dims[3];
    node->aux[A_OCG] = node->aux[A_OC] / p->groups;
    node->aux[A_INT8] = q;
    return q ? edgec_conv_int8_check(node, (int32_t)node->aux[A_OC], err) : check_bias(node, node->aux[A_OC], err);
}

void edgec_conv2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW], ICG = (int32_t)a[A_ICG], OCG = (int32_t)a[A_OCG];
    const float *restrict x = (const float *)node->inputs[0]->data;
    const float *restrict w = (const float *)node->inputs[1]->data;
    const float *restrict bias = (node->input_count > 2 && node->inputs[2]) ? (const float *)node->inputs[2]->data : 0;
    float *restrict y = (float *)node->outputs[0]->data;
    int32_t row;
    (void)scratch;
    if (a[A_INT8]) {
        edgec_conv2d_int8_eval(node, row_begin, row_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH;
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0 = 0, ky1 = KH, ox;
        while (ky0 < KH && iy0 + ky0 * p->dilation_h < 0) ++ky0;
        while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dilation_h >= H) --ky1;
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0 = 0, kx1 = KW, oc;
            float *restrict out = y + (((int64_t)n * OH + oy) * OW + ox) * OC;
            while (kx0 < KW && ix0 + kx0 * p->dilation_w < 0) ++kx0;
            while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dilation_w >= W) --kx1;
            for (oc = 0; oc < OC; ++oc) {
                const int32_t g = oc / OCG;
                const float *restrict wo = w + (int64_t)oc * KH * KW * ICG;
                float acc = 0.0f;
                int32_t ky, kx, ic;
                for (ky = ky0; ky < ky1; ++ky) {
                    const float *restrict xr = x + (((int64_t)n * H + iy0 + ky * p->dilation_h) * W) * C + (int64_t)g * ICG;
                    const float *restrict wr = wo + (int64_t)ky * KW * ICG;
                    for (kx = kx0; kx < kx1; ++kx) {
                        const float *restrict xp = xr + (int64_t)(ix0 + kx * p->dilation_w) * C;
                        const float *restrict wp = wr + (int64_t)kx * ICG;
                        for (ic = 0; ic < ICG; ++ic) acc += xp[ic] * wp[ic];
                    }
                }
                if (bias) acc += bias[oc];
                out[oc] = clampf(acc, p->act_min, p->act_max);
            }
        }
    }
}

edgec_status edgec_depthwise_conv2d_prepare(edgec_node *node, edgec_error *err) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const edgec_tensor *w;
    const int q = is_int8(node);
    edgec_status s = edgec_check_counts(node, 2, q ? 5 : 3, 1, err);
    if (s || (!q && (s = check_float_io(node, "DEPTHWISE_CONV2D", err)))) return s;
    w = node->inputs[1];
    if (w->rank != 4 || w->dims[0] != 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be [1,KH,KW,C*M]");
    if ((s = check_geometry(node, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->pad_top,
                            p->pad_left, p->pad_bottom, p->pad_right, w->dims[1], w->dims[2], err)))
        return s;
    if (p->depth_multiplier < 1 || node->aux[A_C] * p->depth_multiplier != node->aux[A_OC] ||
        w->dims[3] != node->aux[A_OC])
        return edgec_fail(err, EDGEC_ERR_INVALID, "%lld input channels x multiplier %d != %lld output channels (weights have %d)",
                          (long long)node->aux[A_C], p->depth_multiplier, (long long)node->aux[A_OC], w->dims[3]);
    node->aux[A_INT8] = q;
    if (q) return edgec_conv_int8_check(node, (int32_t)node->aux[A_OC], err);
    node->scratch_bytes = sizeof(float) * (size_t)node->aux[A_OC];
    return check_bias(node, node->aux[A_OC], err);
}

void edgec_depthwise_conv2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW], OC = (int32_t)a[A_OC];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW], M = p->depth_multiplier;
    const float *restrict x = (const float *)node->inputs[0]->data;
    const float *restrict w = (const float *)node->inputs[1]->data;
    const float *restrict bias = (node->input_count > 2 && node->inputs[2]) ? (const float *)node->inputs[2]->data : 0;
    float *restrict y = (float *)node->outputs[0]->data;
    float *restrict acc = (float *)scratch; /* OC accumulators */
    int32_t row;
    if (a[A_INT8]) {
        edgec_depthwise_conv2d_int8_eval(node, row_begin, row_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH;
        const int32_t iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0 = 0, ky1 = KH, ox;
        while (ky0 < KH && iy0 + ky0 * p->dilation_h < 0) ++ky0;
        while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dilation_h >= H) --ky1;
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0 = 0, kx1 = KW, ky, kx, c, m, oc;
            float *restrict out = y + (((int64_t)n * OH + oy) * OW + ox) * OC;
            while (kx0 < KW && ix0 + kx0 * p->dilation_w < 0) ++kx0;
            while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dilation_w >= W) --kx1;
            memset(acc, 0, sizeof(float) * (size_t)OC);
            for (ky = ky0; ky < ky1; ++ky) {
                for (kx = kx0; kx < kx1; ++kx) {
                    const float *restrict xp = x + (((int64_t)n * H + iy0 + ky * p->dilation_h) * W + ix0 + kx * p->dilation_w) * C;
                    const float *restrict wp = w + ((int64_t)ky * KW + kx) * OC;
                    if (M == 1) {
                        for (c = 0; c < C; ++c) acc[c] += xp[c] * wp[c];
                    } else {
                        for (c = 0; c < C; ++c)
                            for (m = 0; m < M; ++m) acc[c * M + m] += xp[c] * wp[c * M + m];
                    }
                }
            }
            for (oc = 0; oc < OC; ++oc) out[oc] = clampf(bias ? acc[oc] + bias[oc] : acc[oc], p->act_min, p->act_max);
        }
    }
}
