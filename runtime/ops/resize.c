/* RESIZE (NHWC, fp32): nearest or bilinear, with TFLite/ONNX coordinate rules
 * (runtime/OPS.md). Coordinate math in float32, as TFLite does. */
#include <math.h>

#include "edgec/kernel.h"

edgec_status edgec_resize_prepare(edgec_node *node, edgec_error *err) {
    const edgec_resize_params *p = (const edgec_resize_params *)node->params;
    const edgec_tensor *x, *y;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if ((s = edgec_check_dtype(x, EDGEC_DTYPE_FLOAT32, "input", err)) ||
        (s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err)))
        return s;
    if (x->rank != 4 || y->rank != 4 || x->dims[0] != y->dims[0] || x->dims[3] != y->dims[3])
        return edgec_fail(err, EDGEC_ERR_INVALID, "RESIZE maps [N,H,W,C] to [N,OH,OW,C]");
    if (p->mode < 0 || p->mode > 1 || p->coord < EDGEC_RESIZE_ASYMMETRIC || p->coord > EDGEC_RESIZE_PYTORCH_HALF_PIXEL ||
        p->nearest < EDGEC_RESIZE_ROUND_PREFER_FLOOR || p->nearest > EDGEC_RESIZE_CEIL)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "mode %d / coord %d / nearest %d not supported", p->mode,
                          p->coord, p->nearest);
    node->rows = y->dims[0] * y->dims[1];
    return EDGEC_OK;
}

static float axis_scale(int32_t in, int32_t out, int32_t coord) {
    if (coord == EDGEC_RESIZE_ALIGN_CORNERS) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)in / (float)out;
}

static float source(int32_t d, float scale, int32_t out, int32_t coord) {
    switch (coord) {
    case EDGEC_RESIZE_HALF_PIXEL: return ((float)d + 0.5f) * scale - 0.5f;
    case EDGEC_RESIZE_PYTORCH_HALF_PIXEL: return out > 1 ? ((float)d + 0.5f) * scale - 0.5f : 0.0f;
    default: return (float)d * scale;
    }
}

static int32_t nearest(float s, int32_t mode, int32_t n) {
    int32_t i;
    switch (mode) {
    case EDGEC_RESIZE_ROUND_PREFER_FLOOR: i = (int32_t)ceilf(s - 0.5f); break;
    case EDGEC_RESIZE_ROUND_PREFER_CEIL: i = (int32_t)floorf(s + 0.5f); break;
    case EDGEC_RESIZE_FLOOR: i = (int32_t)floorf(s); break;
    default: i = (int32_t)ceilf(s); break;
    }
    return i < 0 ? 0 : (i > n - 1 ? n - 1 : i);
}

void edgec_resize_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_resize_params *p = (const edgec_resize_params *)node->params;
    const edgec_tensor *tx = node->inputs[0], *ty = node->outputs[0];
    const int32_t H = tx->dims[1], W = tx->dims[2], C = tx->dims[3], OH = ty->dims[1], OW = ty->dims[2];
    const float sh = axis_scale(H, OH, p->coord), sw = axis_scale(W, OW, p->coord);
    const float *restrict x = (const float *)tx->data;
    float *restrict y = (float *)ty->data;
    int32_t row;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH;
        const float fy = source(oy, sh, OH, p->coord);
        const float *xn = x + (size_t)n * H * W * C;
        float *out = y + ((size_t)n * OH + oy) * OW * C;
        int32_t ox, c;
        if (p->mode == 0) {
            const int32_t iy = nearest(fy, p->nearest, H);
            for (ox = 0; ox < OW; ++ox) {
                const int32_t ix = nearest(source(ox, sw, OW, p->coord), p->nearest, W);
                const float *src = xn + ((size_t)iy * W + ix) * C;
                for (c = 0; c < C; ++c) out[(size_t)ox * C + c] = src[c];
            }
        } else {
            const float sy = fy < 0.0f ? 0.0f : fy;
            const int32_t y0 = (int32_t)floorf(sy) < H - 1 ? (int32_t)floorf(sy) : H - 1;
            const int32_t y1 = y0 + 1 < H - 1 ? y0 + 1 : H - 1;
            const float dy = y0 == H - 1 ? 0.0f : sy - floorf(sy);
            for (ox = 0; ox < OW; ++ox) {
                const float fx0 = source(ox, sw, OW, p->coord), sx = fx0 < 0.0f ? 0.0f : fx0;
                const int32_t x0 = (int32_t)floorf(sx) < W - 1 ? (int32_t)floorf(sx) : W - 1;
                const int32_t x1 = x0 + 1 < W - 1 ? x0 + 1 : W - 1;
                const float dx = x0 == W - 1 ? 0.0f : sx - floorf(sx);
                const float *a = xn + ((size_t)y0 * W + x0) * C, *b = xn + ((size_t)y0 * W + x1) * C;
                const float *d = xn + ((size_t)y1 * W + x0) * C, *e = xn + ((size_t)y1 * W + x1) * C;
                for (c = 0; c < C; ++c) {
                    const float top = a[c] + (b[c] - a[c]) * dx;
                    const float bottom = d[c] + (e[c] - d[c]) * dx;
                    out[(size_t)ox * C + c] = top + (bottom - top) * dy;
                }
            }
        }
    }
}
