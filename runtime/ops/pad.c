/* PAD: constant / reflect / edge padding of rank <= 6 tensors of any element type.
 * pads[2i], pads[2i+1] are the before/after counts of axis i. Constant mode fills `value`
 * converted to the tensor's type (prepare refuses a value the type cannot hold exactly;
 * float16 takes only 0). Reflect mirrors without repeating the edge (numpy "reflect"), so
 * its pads must be < the axis size.
 * Trailing axes without padding are folded into blocks, so the innermost padded axis is
 * the row axis (NHWC padding of H and W: rows are (n, h), blocks are pixels). Each row is
 * a fill, or a left border, one memcpy of the source row and a right border. */
#include <math.h>
#include <string.h>

#include "common.h"

/* aux: [0] row axis (innermost padded axis, or the last), [1] fill bytes (8, native order),
 * [2] element size, [3] fill is 0, [4] elements per block (product of the axes after the
 * row axis) */
enum { A_AXIS, A_FILL, A_ES, A_ZERO, A_BLOCK };

static int32_t dim(const edgec_tensor *t, int32_t i) { return i < t->rank ? t->dims[i] : 1; }

static edgec_status fill_bytes(edgec_node *node, int32_t dtype, float value, edgec_error *err) {
    const double v = value;
    uint8_t bytes[8];
    int ok = v == floor(v);
    memset(bytes, 0, sizeof(bytes));
    switch (dtype) {
    case EDGEC_DTYPE_FLOAT32: memcpy(bytes, &value, 4); ok = 1; break;
    case EDGEC_DTYPE_INT8:
        ok = ok && v >= -128.0 && v <= 127.0;
        if (ok) { const int8_t q = (int8_t)v; memcpy(bytes, &q, 1); }
        break;
    case EDGEC_DTYPE_UINT8:
        ok = ok && v >= 0.0 && v <= 255.0;
        if (ok) bytes[0] = (uint8_t)v;
        break;
    case EDGEC_DTYPE_BOOL:
        ok = v == 0.0 || v == 1.0;
        bytes[0] = (uint8_t)(v == 1.0);
        break;
    case EDGEC_DTYPE_INT16:
        ok = ok && v >= -32768.0 && v <= 32767.0;
        if (ok) { const int16_t q = (int16_t)v; memcpy(bytes, &q, 2); }
        break;
    case EDGEC_DTYPE_INT32:
        ok = ok && v >= -2147483648.0 && v <= 2147483647.0;
        if (ok) { const int32_t q = (int32_t)v; memcpy(bytes, &q, 4); }
        break;
    case EDGEC_DTYPE_INT64:
        ok = ok && v >= -9223372036854775808.0 && v < 9223372036854775808.0;
        if (ok) { const int64_t q = (int64_t)v; memcpy(bytes, &q, 8); }
        break;
    default: /* FLOAT16 */
        if (v != 0.0)
            return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "float16 PAD fills 0 only, value is %g", v);
        ok = 1;
        break;
    }
    if (!ok)
        return edgec_fail(err, EDGEC_ERR_INVALID, "pad value %g is not representable as %s", v,
                          edgec_dtype_name(dtype));
    memcpy(&node->aux[A_FILL], bytes, 8);
    node->aux[A_ZERO] = dtype == EDGEC_DTYPE_FLOAT32 ? (value == 0.0f && !signbit(value)) : v == 0.0;
    return EDGEC_OK;
}

edgec_status edgec_pad_prepare(edgec_node *node, edgec_error *err) {
    const edgec_pad_params *p = (const edgec_pad_params *)node->params;
    const edgec_tensor *x, *y;
    int32_t i;
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->dtype != y->dtype || x->rank != y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input %s rank %d, output %s rank %d: type and rank must match",
                          edgec_dtype_name(x->dtype), (int)x->rank, edgec_dtype_name(y->dtype),
                          (int)y->rank);
    if (x->dtype != EDGEC_DTYPE_FLOAT32 && (x->scale != y->scale || x->zero_point != y->zero_point))
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output quantization differ (%g, %d vs %g, %d)",
                          (double)x->scale, (int)x->zero_point, (double)y->scale, (int)y->zero_point);
    if (p->mode < 0 || p->mode > 2)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "unknown pad mode %d (0 constant, 1 reflect, 2 edge)",
                          (int)p->mode);
    for (i = 0; i < EDGEC_MAX_RANK; ++i) {
        const int32_t before = p->pads[2 * i], after = p->pads[2 * i + 1];
        if (i >= x->rank) {
            if (before || after)
                return edgec_fail(err, EDGEC_ERR_INVALID, "pads (%d, %d) given for axis %d of a rank %d tensor",
                                  (int)before, (int)after, (int)i, (int)x->rank);
            continue;
        }
        if (before < 0 || after < 0 || (int64_t)x->dims[i] + before + after != y->dims[i])
            return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d: %d + pads (%d, %d) != output %d", (int)i,
                              (int)x->dims[i], (int)before, (int)after, (int)y->dims[i]);
        if (p->mode == 1 && (before >= x->dims[i] || after >= x->dims[i]))
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "axis %d: reflect pads (%d, %d) must be smaller than the axis size %d",
                              (int)i, (int)before, (int)after, (int)x->dims[i]);
    }
    node->aux[A_AXIS] = x->rank > 0 ? x->rank - 1 : 0;
    while (node->aux[A_AXIS] > 0 && !p->pads[2 * node->aux[A_AXIS]] && !p->pads[2 * node->aux[A_AXIS] + 1])
        --node->aux[A_AXIS];
    node->aux[A_BLOCK] = 1;
    for (i = (int32_t)node->aux[A_AXIS] + 1; i < x->rank; ++i) node->aux[A_BLOCK] *= x->dims[i];
    node->aux[A_ES] = (int64_t)edgec_dtype_size(x->dtype);
    node->aux[A_FILL] = 0;
    node->aux[A_ZERO] = 1;
    if (p->mode == 0 && (s = fill_bytes(node, x->dtype, p->value, err))) return s;
    return edgec_ops_set_rows(node, (int64_t)y->count / (dim(y, (int32_t)node->aux[A_AXIS]) * node->aux[A_BLOCK]),
                              err);
}

/* source index along one axis, -1 for constant padding */
static int32_t source_index(int32_t o, int32_t before, int32_t n, int32_t mode) {
    const int32_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (mode == 0) return -1;
    if (mode == 2) return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

static void fill(uint8_t *dst, ptrdiff_t n, const edgec_node *node) {
    const size_t es = (size_t)node->aux[A_ES];
    ptrdiff_t k;
    if (node->aux[A_ZERO]) {
        memset(dst, 0, (size_t)n * es);
        return;
    }
    for (k = 0; k < n; ++k) memcpy(dst + (size_t)k * es, &node->aux[A_FILL], es);
}

void edgec_pad_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_pad_params *p = (const edgec_pad_params *)node->params;
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const int32_t last = (int32_t)node->aux[A_AXIS], mode = p->mode;
    const ptrdiff_t block = (ptrdiff_t)node->aux[A_BLOCK];
    const size_t unit = (size_t)node->aux[A_ES] * (size_t)block; /* bytes per block */
    const int32_t X = dim(x, last), Y = dim(y, last), before = p->pads[2 * last];
    const int32_t after = Y - X - before;
    ptrdiff_t xstride[EDGEC_MAX_RANK], s = (ptrdiff_t)X * block;
    int32_t row, d, k;
    (void)scratch;
    for (d = last - 1; d >= 0; --d) {
        xstride[d] = s;
        s *= dim(x, d);
    }
    for (row = row_begin; row < row_end; ++row) {
        uint8_t *dst = y->data + (size_t)row * Y * unit;
        const uint8_t *src;
        ptrdiff_t off = 0;
        int32_t rem = row, inside = 1;
        for (d = last - 1; d >= 0; --d) { /* source row of this output row */
            const int32_t i = source_index(rem % dim(y, d), p->pads[2 * d], dim(x, d), mode);
            rem /= dim(y, d);
            if (i < 0) inside = 0;
            else off += i * xstride[d];
        }
        if (!inside) {
            fill(dst, (ptrdiff_t)Y * block, node);
            continue;
        }
        src = x->data + (size_t)off * (size_t)node->aux[A_ES];
        if (mode == 0) {
            fill(dst, (ptrdiff_t)before * block, node);
            fill(dst + (size_t)(before + X) * unit, (ptrdiff_t)after * block, node);
        } else {
            for (k = 0; k < before; ++k) /* edge: x[0]; reflect: x[before - k] */
                memcpy(dst + (size_t)k * unit, src + (size_t)(mode == 2 ? 0 : before - k) * unit, unit);
            for (k = 0; k < after; ++k) /* edge: x[X-1]; reflect: x[X-2-k] */
                memcpy(dst + (size_t)(before + X + k) * unit, src + (size_t)(mode == 2 ? X - 1 : X - 2 - k) * unit,
                       unit);
        }
        memcpy(dst + (size_t)before * unit, src, (size_t)X * unit);
    }
}
