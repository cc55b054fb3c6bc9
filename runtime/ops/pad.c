/* PAD: constant / reflect / edge padding of any rank <= 6, any element size (constant mode
 * fills float32 `value`, or the integer value for integer tensors). */
#include <string.h>

#include "edgec/kernel.h"

edgec_status edgec_pad_prepare(edgec_node *node, edgec_error *err) {
    const edgec_pad_params *p = (const edgec_pad_params *)node->params;
    const edgec_tensor *x, *y;
    int32_t i;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->dtype != y->dtype || x->rank != y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output must have the same type and rank");
    if (p->mode < 0 || p->mode > 2) return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "unknown pad mode %d", p->mode);
    for (i = 0; i < x->rank; ++i) {
        int32_t before = p->pads[2 * i], after = p->pads[2 * i + 1];
        if (before < 0 || after < 0 || (int64_t)x->dims[i] + before + after != y->dims[i])
            return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d: %d + pads (%d, %d) != output %d", i, x->dims[i],
                              before, after, y->dims[i]);
        if (p->mode == 1 && (before >= x->dims[i] || after >= x->dims[i]))
            return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d: reflect padding %d/%d needs more than %d elements", i,
                              before, after, x->dims[i]);
    }
    for (; i < EDGEC_MAX_RANK; ++i)
        if (p->pads[2 * i] || p->pads[2 * i + 1])
            return edgec_fail(err, EDGEC_ERR_INVALID, "padding given for axis %d beyond rank %d", i, x->rank);
    node->rows = 1;
    return EDGEC_OK;
}

static int32_t source_index(int32_t o, int32_t before, int32_t n, int32_t mode) {
    int32_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (mode == 0) return -1;
    if (mode == 2) return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i; /* reflect without repeating the edge */
}

void edgec_pad_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_pad_params *p = (const edgec_pad_params *)node->params;
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const size_t es = y->nbytes / y->count;
    const int32_t rank = y->rank;
    uint8_t fill[8];
    int32_t idx[EDGEC_MAX_RANK] = {0}, d;
    int64_t xstride[EDGEC_MAX_RANK], s = 1;
    size_t o;
    (void)row_begin; (void)row_end; (void)scratch;
    memset(fill, 0, sizeof(fill));
    if (y->dtype == EDGEC_DTYPE_FLOAT32) memcpy(fill, &p->value, 4);
    else if (y->dtype == EDGEC_DTYPE_INT8 || y->dtype == EDGEC_DTYPE_UINT8) fill[0] = (uint8_t)(int32_t)p->value;
    else if (y->dtype == EDGEC_DTYPE_INT32) { int32_t v = (int32_t)p->value; memcpy(fill, &v, 4); }
    for (d = rank - 1; d >= 0; --d) {
        xstride[d] = s;
        s *= x->dims[d];
    }
    for (o = 0; o < y->count; ++o) {
        int64_t src = 0;
        int inside = 1;
        for (d = 0; d < rank; ++d) {
            int32_t i = source_index(idx[d], p->pads[2 * d], x->dims[d], p->mode);
            if (i < 0) { inside = 0; break; }
            src += i * xstride[d];
        }
        memcpy(y->data + o * es, inside ? x->data + (size_t)src * es : fill, es);
        for (d = rank - 1; d >= 0; --d) {
            if (++idx[d] < y->dims[d]) break;
            idx[d] = 0;
        }
    }
}
