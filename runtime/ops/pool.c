/* MAX_POOL2D and AVG_POOL2D, fp32 (NHWC); int8 goes to pool_int8.c.
 * Rows are output rows (n, oy); rows = N * OH.
 * Padding never wins a max; an average divides the sum of the in-image taps (in (ky, kx)
 * order) by their count, or by filter_h * filter_w with count_include_pad. prepare requires
 * every padding < its filter size, which guarantees each window has an in-image tap. */
#include <math.h>

#include "common.h"
#include "int8.h"
#include "maxpool_f32.h"

/* aux: A_H .. A_AVG are also read by pool_int8.c */
/* A_SIMD: fp32 max pooling on maxpool_f32.c's kernel */
enum { A_H, A_W, A_C, A_OH, A_OW, A_AVG, A_INT8, A_SIMD };

static edgec_status prepare(edgec_node *node, int avg, const char *op, edgec_error *err) {
    const edgec_pool2d_params *p = (const edgec_pool2d_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t eh, ew, oh, ow;
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    node->aux[A_INT8] = x->dtype == EDGEC_DTYPE_INT8;
    if (node->aux[A_INT8]) {
        if (y->dtype != EDGEC_DTYPE_INT8 || x->scale != y->scale || x->zero_point != y->zero_point)
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "int8 pooling needs an int8 output with the input's quantization");
    } else if ((s = edgec_ops_check_float(node, op, "float32 and int8", err)) ||
               (s = edgec_ops_check_act(p->act_min, p->act_max, err))) {
        return s;
    }
    if (x->rank != 4 || y->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output must be NHWC (rank 4), got ranks %d and %d",
                          (int)x->rank, (int)y->rank);
    if (p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "filter %dx%d and stride %dx%d must be >= 1",
                          (int)p->filter_h, (int)p->filter_w, (int)p->stride_h, (int)p->stride_w);
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 ||
        p->pad_top >= p->filter_h || p->pad_bottom >= p->filter_h || p->pad_left >= p->filter_w ||
        p->pad_right >= p->filter_w)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "padding (top %d, left %d, bottom %d, right %d) must be in [0, filter) for filter %dx%d",
                          (int)p->pad_top, (int)p->pad_left, (int)p->pad_bottom, (int)p->pad_right,
                          (int)p->filter_h, (int)p->filter_w);
    if (p->count_include_pad != 0 && p->count_include_pad != 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "count_include_pad is %d, expected 0 or 1",
                          (int)p->count_include_pad);
    eh = (int64_t)x->dims[1] + p->pad_top + p->pad_bottom;
    ew = (int64_t)x->dims[2] + p->pad_left + p->pad_right;
    if (eh > INT32_MAX || ew > INT32_MAX)
        return edgec_fail(err, EDGEC_ERR_INVALID, "padded input %lldx%lld does not fit int32",
                          (long long)eh, (long long)ew);
    if (eh < p->filter_h || ew < p->filter_w)
        return edgec_fail(err, EDGEC_ERR_INVALID, "filter %dx%d is larger than the padded input %lldx%lld",
                          (int)p->filter_h, (int)p->filter_w, (long long)eh, (long long)ew);
    oh = (eh - p->filter_h) / p->stride_h + 1;
    ow = (ew - p->filter_w) / p->stride_w + 1;
    if (y->dims[0] != x->dims[0] || y->dims[1] != oh || y->dims[2] != ow || y->dims[3] != x->dims[3])
        return edgec_fail(err, EDGEC_ERR_INVALID, "output is [%d,%d,%d,%d], expected [%d,%lld,%lld,%d]",
                          (int)y->dims[0], (int)y->dims[1], (int)y->dims[2], (int)y->dims[3],
                          (int)x->dims[0], (long long)oh, (long long)ow, (int)x->dims[3]);
    node->aux[A_H] = x->dims[1];
    node->aux[A_W] = x->dims[2];
    node->aux[A_C] = x->dims[3];
    node->aux[A_OH] = oh;
    node->aux[A_OW] = ow;
    node->aux[A_AVG] = avg;
    node->aux[A_SIMD] = !avg && !node->aux[A_INT8] && edgec_maxpool_f32_simd();
    return edgec_ops_set_rows(node, (int64_t)x->dims[0] * oh, err);
}

/* The output pixel is the accumulator; channels innermost (vectorizable). */
static void eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_pool2d_params *p = (const edgec_pool2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C];
    const int32_t OH = (int32_t)a[A_OH], OW = (int32_t)a[A_OW];
    const int avg = (int)a[A_AVG];
    const float full = (float)p->filter_h * (float)p->filter_w;
    const float *x = (const float *)node->inputs[0]->data;
    float *y = (float *)node->outputs[0]->data;
    const float lo = p->act_min, hi = p->act_max;
    int32_t row;
    if (a[A_INT8]) {
        edgec_pool2d_int8_eval(node, row_begin, row_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row - n * OH, iy0 = oy * p->stride_h - p->pad_top;
        const float *xn = x + (ptrdiff_t)n * H * W * C;
        int32_t ky0, ky1, ox;
        edgec_ops_tap_range(iy0, p->filter_h, 1, H, &ky0, &ky1);
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            float *restrict out = y + ((ptrdiff_t)row * OW + ox) * C;
            int32_t kx0, kx1, iy, ix, c;
            edgec_ops_tap_range(ix0, p->filter_w, 1, W, &kx0, &kx1);
            if (a[A_SIMD]) {
                edgec_maxpool_f32_pixel(xn, W, C, iy0 + ky0, iy0 + ky1, ix0 + kx0, ix0 + kx1, lo, hi, out);
                continue;
            }
            for (c = 0; c < C; ++c) out[c] = avg ? 0.0f : -INFINITY;
            for (iy = iy0 + ky0; iy < iy0 + ky1; ++iy) {
                for (ix = ix0 + kx0; ix < ix0 + kx1; ++ix) {
                    const float *restrict xp = xn + ((ptrdiff_t)iy * W + ix) * C;
                    if (avg)
                        for (c = 0; c < C; ++c) out[c] += xp[c];
                    else
                        for (c = 0; c < C; ++c) out[c] = edgec_maxf(xp[c], out[c]);
                }
            }
            if (avg) {
                const float count = p->count_include_pad ? full : (float)(ky1 - ky0) * (float)(kx1 - kx0);
                for (c = 0; c < C; ++c) out[c] = edgec_clampf(out[c] / count, lo, hi);
            } else {
                for (c = 0; c < C; ++c) out[c] = edgec_clampf(out[c], lo, hi);
            }
        }
    }
}

edgec_status edgec_max_pool2d_prepare(edgec_node *node, edgec_error *err) {
    return prepare(node, 0, "MAX_POOL2D", err);
}
edgec_status edgec_avg_pool2d_prepare(edgec_node *node, edgec_error *err) {
    return prepare(node, 1, "AVG_POOL2D", err);
}
void edgec_max_pool2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *s) {
    (void)s;
    eval(node, row_begin, row_end);
}
void edgec_avg_pool2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *s) {
    (void)s;
    eval(node, row_begin, row_end);
}
