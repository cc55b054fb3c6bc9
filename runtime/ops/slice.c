/* SLICE (any element size): out[i] = x[begin + i * step] per axis, rank <= 6; the output
 * record gives the extent. prepare proves the first and last index of every axis lie in
 * the input, so eval indexes without checks. */
#include <string.h>

#include "common.h"

edgec_status edgec_slice_prepare(edgec_node *node, edgec_error *err) {
    const edgec_slice_params *p = (const edgec_slice_params *)node->params;
    const edgec_tensor *x, *y;
    int32_t d;
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->dtype != y->dtype || x->rank != y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output must have the same type and rank");
    for (d = 0; d < x->rank; ++d) {
        const int64_t last = (int64_t)p->begin[d] + (int64_t)(y->dims[d] - 1) * p->step[d];
        if (p->step[d] == 0 || p->begin[d] < 0 || p->begin[d] >= x->dims[d] || last < 0 || last >= x->dims[d])
            return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d: begin %d step %d for %d outputs leaves the input (%d)",
                              (int)d, (int)p->begin[d], (int)p->step[d], (int)y->dims[d], (int)x->dims[d]);
    }
    return edgec_ops_set_rows(node, 1, err);
}

void edgec_slice_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_slice_params *p = (const edgec_slice_params *)node->params;
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const size_t es = y->nbytes / y->count;
    const int32_t rank = y->rank;
    ptrdiff_t xstride[EDGEC_MAX_RANK], step[EDGEC_MAX_RANK], s = 1, src = 0;
    int32_t idx[EDGEC_MAX_RANK] = {0}, d;
    size_t o;
    (void)row_begin; (void)row_end; (void)scratch;
    for (d = rank - 1; d >= 0; --d) {
        xstride[d] = s;
        s *= x->dims[d];
    }
    for (d = 0; d < rank; ++d) {
        src += (ptrdiff_t)p->begin[d] * xstride[d];
        step[d] = (ptrdiff_t)p->step[d] * xstride[d];
    }
    for (o = 0; o < y->count; ++o) {
        memcpy(y->data + o * es, x->data + (size_t)src * es, es);
        for (d = rank - 1; d >= 0; --d) {
            src += step[d];
            if (++idx[d] < y->dims[d]) break;
            src -= step[d] * y->dims[d];
            idx[d] = 0;
        }
    }
}
