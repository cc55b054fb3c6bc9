/* int8 CONV2D and DEPTHWISE_CONV2D: TFLite's reference ConvPerChannel /
 * DepthwiseConvPerChannel. acc = sum w * (x - x_zp) over in-image taps (+ int32 bias),
 * then per-channel requantization (multiplier, shift inputs 3 and 4), + y_zp, clamp to
 * [q_min, q_max]. Weights are symmetric (zero point 0). */
#include "edgec/fixedpoint.h"
#include "int8.h"
#include "common.h"

enum { A_N, A_H, A_W, A_C, A_OH, A_OW, A_OC, A_KH, A_KW, A_ICG, A_OCG };

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

static int32_t requantize(int32_t acc, const edgec_node *node, int32_t oc) {
    const int32_t *mult = (const int32_t *)node->inputs[3]->data, *shift = (const int32_t *)node->inputs[4]->data;
    return edgec_mbqm(acc, mult[oc], shift[oc]) + node->outputs[0]->zero_point;
}

void edgec_conv2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
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
                int32_t acc = 0, ky, kx, ic;
                for (ky = ky0; ky < ky1; ++ky) {
                    const int8_t *restrict xr = x + (((int64_t)n * H + iy0 + ky * p->dilation_h) * W) * C + (int64_t)g * ICG;
                    const int8_t *restrict wr = wo + (int64_t)ky * KW * ICG;
                    for (kx = kx0; kx < kx1; ++kx) {
                        const int8_t *restrict xp = xr + (int64_t)(ix0 + kx * p->dilation_w) * C;
                        const int8_t *restrict wp = wr + (int64_t)kx * ICG;
                        for (ic = 0; ic < ICG; ++ic) acc += (int32_t)wp[ic] * ((int32_t)xp[ic] + x_offset);
                    }
                }
                if (bias) acc = (int32_t)((int64_t)acc + bias[oc]); /* no signed overflow on corrupt biases */
                out[oc] = (int8_t)edgec_clamp_i32(requantize(acc, node, oc), p->q_min, p->q_max);
            }
        }
    }
}

void edgec_depthwise_conv2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
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
