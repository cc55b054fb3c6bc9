/* RESIZE, fp32 (NHWC): nearest or bilinear with the coordinate rules of runtime/OPS.md
 * (TFLite and ONNX variants). Coordinate math is float32, as reference.py and TFLite do;
 * only the align_corners scale is rounded once from a double quotient, as reference.py
 * computes it. Rows are output rows (n, oy); rows = N * OH. */
#include <math.h>

#include "common.h"

#define MAX_SPATIAL (1 << 24) /* every coordinate is an exact float32 integer */

static float axis_scale(int32_t in, int32_t out, int32_t coord) {
    if (coord == EDGEC_RESIZE_ALIGN_CORNERS)
        return out > 1 ? (float)((double)(in - 1) / (double)(out - 1)) : 0.0f;
    return (float)in / (float)out;
}

edgec_status edgec_resize_prepare(edgec_node *node, edgec_error *err) {
    const edgec_resize_params *p = (const edgec_resize_params *)node->params;
    const edgec_tensor *x, *y;
    edgec_status s;
    if ((s = edgec_ops_check_node(node, 1, 1, 1, err)) ||
        (s = edgec_ops_check_float(node, "RESIZE", "float32 only in this version", err)))
        return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->rank != 4 || y->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output must be NHWC (rank 4), got ranks %d and %d",
                          (int)x->rank, (int)y->rank);
    if (x->dims[0] != y->dims[0] || x->dims[3] != y->dims[3])
        return edgec_fail(err, EDGEC_ERR_INVALID, "[%d,%d,%d,%d] -> [%d,%d,%d,%d]: batch and channels must match",
                          (int)x->dims[0], (int)x->dims[1], (int)x->dims[2], (int)x->dims[3],
                          (int)y->dims[0], (int)y->dims[1], (int)y->dims[2], (int)y->dims[3]);
    if (p->mode < 0 || p->mode > 1 || p->coord < EDGEC_RESIZE_ASYMMETRIC ||
        p->coord > EDGEC_RESIZE_PYTORCH_HALF_PIXEL || p->nearest < EDGEC_RESIZE_ROUND_PREFER_FLOOR ||
        p->nearest > EDGEC_RESIZE_CEIL)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "mode %d / coord %d / nearest %d not supported",
                          (int)p->mode, (int)p->coord, (int)p->nearest);
    if (x->dims[1] > MAX_SPATIAL || x->dims[2] > MAX_SPATIAL || y->dims[1] > MAX_SPATIAL ||
        y->dims[2] > MAX_SPATIAL)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "spatial sizes %dx%d -> %dx%d exceed 2^24",
                          (int)x->dims[1], (int)x->dims[2], (int)y->dims[1], (int)y->dims[2]);
    return edgec_ops_set_rows(node, (int64_t)y->dims[0] * y->dims[1], err);
}

static float source(int32_t d, float scale, int32_t out, int32_t coord) {
    switch (coord) {
    case EDGEC_RESIZE_HALF_PIXEL: return ((float)d + 0.5f) * scale - 0.5f;
    case EDGEC_RESIZE_PYTORCH_HALF_PIXEL: return out > 1 ? ((float)d + 0.5f) * scale - 0.5f : 0.0f;
    default: return (float)d * scale;
    }
}

static int32_t nearest(float s, int32_t mode, int32_t n) {
    float r;
    switch (mode) {
    case EDGEC_RESIZE_ROUND_PREFER_FLOOR: r = ceilf(s - 0.5f); break;
    case EDGEC_RESIZE_ROUND_PREFER_CEIL: r = floorf(s + 0.5f); break;
    case EDGEC_RESIZE_FLOOR: r = floorf(s); break;
    default: r = ceilf(s); break;
    }
    return r < 0.0f ? 0 : (r > (float)(n - 1) ? n - 1 : (int32_t)r);
}

/* bilinear taps along one axis: i0, i1 and the weight f of i1 */
static void linear(float s, int32_t n, int32_t *i0, int32_t *i1, float *f) {
    const float fl = floorf(s < 0.0f ? 0.0f : s);
    *i0 = fl < (float)(n - 1) ? (int32_t)fl : n - 1;
    *i1 = *i0 + 1 < n - 1 ? *i0 + 1 : n - 1;
    *f = *i0 == n - 1 ? 0.0f : (s < 0.0f ? 0.0f : s) - fl;
}

void edgec_resize_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_resize_params *p = (const edgec_resize_params *)node->params;
    const edgec_tensor *tx = node->inputs[0], *ty = node->outputs[0];
    const int32_t H = tx->dims[1], W = tx->dims[2], C = tx->dims[3], OH = ty->dims[1], OW = ty->dims[2];
    const float sh = axis_scale(H, OH, p->coord), sw = axis_scale(W, OW, p->coord);
    const float *x = (const float *)tx->data;
    float *y = (float *)ty->data;
    int32_t row;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row - n * OH;
        const float fy = source(oy, sh, OH, p->coord);
        const float *xn = x + (ptrdiff_t)n * H * W * C;
        float *out = y + (ptrdiff_t)row * OW * C;
        int32_t ox, c;
        if (p->mode == 0) {
            const float *xr = xn + (ptrdiff_t)nearest(fy, p->nearest, H) * W * C;
            for (ox = 0; ox < OW; ++ox, out += C) {
                const float *restrict src = xr + (ptrdiff_t)nearest(source(ox, sw, OW, p->coord), p->nearest, W) * C;
                float *restrict dst = out;
                for (c = 0; c < C; ++c) dst[c] = src[c];
            }
        } else {
            int32_t y0, y1;
            float dy;
            linear(fy, H, &y0, &y1, &dy);
            for (ox = 0; ox < OW; ++ox, out += C) {
                int32_t x0, x1;
                float dx;
                const float *restrict a, *restrict b, *restrict d, *restrict e;
                float *restrict dst = out;
                linear(source(ox, sw, OW, p->coord), W, &x0, &x1, &dx);
                a = xn + ((ptrdiff_t)y0 * W + x0) * C;
                b = xn + ((ptrdiff_t)y0 * W + x1) * C;
                d = xn + ((ptrdiff_t)y1 * W + x0) * C;
                e = xn + ((ptrdiff_t)y1 * W + x1) * C;
                for (c = 0; c < C; ++c) {
                    const float top = a[c] + (b[c] - a[c]) * dx;
                    const float bottom = d[c] + (e[c] - d[c]) * dx;
                    dst[c] = top + (bottom - top) * dy;
                }
            }
        }
    }
}
