/* MAX_POOL2D and AVG_POOL2D (NHWC, fp32). Padding never wins a max and, unless
 * count_include_pad, is not counted in an average. */
#include <math.h>

#include "edgec/kernel.h"
#include "int8.h"

enum { A_H, A_W, A_C, A_OH, A_OW, A_AVG, A_INT8 };

static edgec_status prepare(edgec_node *node, int avg, edgec_error *err) {
    const edgec_pool2d_params *p = (const edgec_pool2d_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t oh, ow;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    node->aux[A_INT8] = x->dtype == EDGEC_DTYPE_INT8;
    if (node->aux[A_INT8]) {
        if (y->dtype != EDGEC_DTYPE_INT8 || x->scale != y->scale || x->zero_point != y->zero_point)
            return edgec_fail(err, EDGEC_ERR_INVALID, "int8 pooling needs an int8 output with the input's quantization");
    } else if ((s = edgec_check_dtype(x, EDGEC_DTYPE_FLOAT32, "input", err)) ||
               (s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err))) {
        return s;
    }
    if (x->rank != 4 || y->rank != 4) return edgec_fail(err, EDGEC_ERR_INVALID, "pooling takes NHWC tensors");
    if (p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1 || p->pad_top < 0 ||
        p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 || p->pad_top >= p->filter_h ||
        p->pad_bottom >= p->filter_h || p->pad_left >= p->filter_w || p->pad_right >= p->filter_w)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bad filter %dx%d / stride %dx%d / padding", p->filter_h,
                          p->filter_w, p->stride_h, p->stride_w);
    oh = ((int64_t)x->dims[1] + p->pad_top + p->pad_bottom - p->filter_h);
    ow = ((int64_t)x->dims[2] + p->pad_left + p->pad_right - p->filter_w);
    if (oh < 0 || ow < 0) return edgec_fail(err, EDGEC_ERR_INVALID, "filter larger than the padded input");
    oh = oh / p->stride_h + 1;
    ow = ow / p->stride_w + 1;
    if (y->dims[0] != x->dims[0] || y->dims[1] != oh || y->dims[2] != ow || y->dims[3] != x->dims[3])
        return edgec_fail(err, EDGEC_ERR_INVALID, "output is [%d,%d,%d,%d], expected [%d,%lld,%lld,%d]", y->dims[0],
                          y->dims[1], y->dims[2], y->dims[3], x->dims[0], (long long)oh, (long long)ow, x->dims[3]);
    node->aux[A_H] = x->dims[1];
    node->aux[A_W] = x->dims[2];
    node->aux[A_C] = x->dims[3];
    node->aux[A_OH] = oh;
    node->aux[A_OW] = ow;
    node->aux[A_AVG] = avg;
    node->rows = (int32_t)(x->dims[0] * oh);
    return EDGEC_OK;
}

static void eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_pool2d_params *p = (const edgec_pool2d_params *)node->params;
    const int32_t H = (int32_t)node->aux[A_H], W = (int32_t)node->aux[A_W], C = (int32_t)node->aux[A_C];
    const int32_t OH = (int32_t)node->aux[A_OH], OW = (int32_t)node->aux[A_OW];
    const int avg = (int)node->aux[A_AVG];
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    int32_t row;
    if (node->aux[A_INT8]) {
        edgec_pool2d_int8_eval(node, row_begin, row_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH, iy0 = oy * p->stride_h - p->pad_top;
        const int32_t y0 = iy0 < 0 ? 0 : iy0, y1 = iy0 + p->filter_h > H ? H : iy0 + p->filter_h;
        int32_t ox;
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            const int32_t x0 = ix0 < 0 ? 0 : ix0, x1 = ix0 + p->filter_w > W ? W : ix0 + p->filter_w;
            float *restrict out = y + (((int64_t)n * OH + oy) * OW + ox) * C;
            const float count = p->count_include_pad ? (float)(p->filter_h * p->filter_w) : (float)((y1 - y0) * (x1 - x0));
            int32_t c, iy, ix;
            for (c = 0; c < C; ++c) out[c] = avg ? 0.0f : -INFINITY;
            for (iy = y0; iy < y1; ++iy)
                for (ix = x0; ix < x1; ++ix) {
                    const float *restrict xp = x + (((int64_t)n * H + iy) * W + ix) * C;
                    if (avg)
                        for (c = 0; c < C; ++c) out[c] += xp[c];
                    else
                        for (c = 0; c < C; ++c) out[c] = xp[c] > out[c] ? xp[c] : out[c];
                }
            for (c = 0; c < C; ++c) {
                float v = avg ? out[c] / count : out[c];
                out[c] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
            }
        }
    }
}

edgec_status edgec_max_pool2d_prepare(edgec_node *node, edgec_error *err) { return prepare(node, 0, err); }
edgec_status edgec_avg_pool2d_prepare(edgec_node *node, edgec_error *err) { return prepare(node, 1, err); }
void edgec_max_pool2d_eval(const edgec_node *node, int32_t rb, int32_t re, void *s) { (void)s; eval(node, rb, re); }
void edgec_avg_pool2d_eval(const edgec_node *node, int32_t rb, int32_t re, void *s) { (void)s; eval(node, rb, re); }
