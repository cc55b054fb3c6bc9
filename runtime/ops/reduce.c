/* REDUCE (mean/sum/max/min over a set of axes, fp32). The output keeps or drops the
 * reduced axes; only its element count matters. The input is viewed as the product of
 * up to 6 axes; for each output element the reduced sub-box is walked. */
#include <math.h>

#include "edgec/kernel.h"
#include "int8.h"

/* aux: [0] rank, [1..6] dims, [7] reduced count, [8] kind, [9] axes mask */

edgec_status edgec_reduce_prepare(edgec_node *node, edgec_error *err) {
    const edgec_reduce_params *p = (const edgec_reduce_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t kept = 1, reduced = 1;
    int32_t i;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->dtype != EDGEC_DTYPE_INT8 && ((s = edgec_check_dtype(x, EDGEC_DTYPE_FLOAT32, "input", err)) ||
                                         (s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err))))
        return s;
    if (p->kind < EDGEC_REDUCE_MEAN || p->kind > EDGEC_REDUCE_MIN)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "unknown reduce kind %d", p->kind);
    if (p->axes_mask <= 0 || p->axes_mask >= (1 << (x->rank > 0 ? x->rank : 1)))
        return edgec_fail(err, EDGEC_ERR_INVALID, "axes mask 0x%x does not fit rank %d", p->axes_mask, x->rank);
    for (i = 0; i < x->rank; ++i) {
        if (p->axes_mask & (1 << i)) reduced *= x->dims[i];
        else kept *= x->dims[i];
    }
    if ((int64_t)y->count != kept)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output has %llu elements, reducing leaves %lld",
                          (unsigned long long)y->count, (long long)kept);
    node->aux[0] = x->rank;
    for (i = 0; i < EDGEC_MAX_RANK; ++i) node->aux[1 + i] = i < x->rank ? x->dims[i] : 1;
    node->aux[7] = reduced;
    node->aux[8] = p->kind;
    node->aux[9] = p->axes_mask;
    node->aux[10] = x->dtype == EDGEC_DTYPE_INT8;
    node->rows = 1;
    return node->aux[10] ? edgec_reduce_int8_prepare(node, err) : EDGEC_OK;
}

void edgec_reduce_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const int32_t rank = (int32_t)node->aux[0], kind = (int32_t)node->aux[8], mask = (int32_t)node->aux[9];
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    const size_t n_out = node->outputs[0]->count;
    int64_t stride[EDGEC_MAX_RANK], s = 1;
    int32_t d, idx[EDGEC_MAX_RANK] = {0};
    size_t o, i;
    (void)row_begin; (void)row_end; (void)scratch;
    if (node->aux[10]) {
        edgec_reduce_int8_eval(node);
        return;
    }
    for (d = rank - 1; d >= 0; --d) {
        stride[d] = s;
        s *= node->aux[1 + d];
    }
    for (o = 0; o < n_out; ++o) y[o] = kind == EDGEC_REDUCE_MAX ? -INFINITY : (kind == EDGEC_REDUCE_MIN ? INFINITY : 0.0f);
    /* walk the input once in order; map each element to its output slot */
    for (i = 0; i < node->inputs[0]->count; ++i) {
        size_t out = 0;
        const float v = x[i];
        for (d = 0; d < rank; ++d)
            if (!(mask & (1 << d))) out = out * (size_t)node->aux[1 + d] + (size_t)idx[d];
        switch (kind) {
        case EDGEC_REDUCE_MAX: y[out] = v > y[out] ? v : y[out]; break;
        case EDGEC_REDUCE_MIN: y[out] = v < y[out] ? v : y[out]; break;
        default: y[out] += v; break;
        }
        for (d = rank - 1; d >= 0; --d) {
            if (++idx[d] < node->aux[1 + d]) break;
            idx[d] = 0;
        }
    }
    if (kind == EDGEC_REDUCE_MEAN)
        for (o = 0; o < n_out; ++o) y[o] /= (float)node->aux[7];
    (void)stride;
}
