/* CONCAT along one axis, any element size: a sequence of contiguous block copies. */
#include <string.h>

#include "edgec/kernel.h"

edgec_status edgec_concat_prepare(edgec_node *node, edgec_error *err) {
    const edgec_concat_params *p = (const edgec_concat_params *)node->params;
    const edgec_tensor *y;
    int64_t total = 0;
    int32_t i, d;
    edgec_status s = edgec_check_counts(node, 1, EDGEC_MAX_OP_INPUTS, 1, err);
    if (s) return s;
    y = node->outputs[0];
    if (p->axis < 0 || p->axis >= y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d out of range for rank %d", p->axis, y->rank);
    for (i = 0; i < node->input_count; ++i) {
        const edgec_tensor *x = node->inputs[i];
        if (!x) return edgec_fail(err, EDGEC_ERR_INVALID, "input %d is absent", i);
        if (x->dtype != y->dtype || x->rank != y->rank)
            return edgec_fail(err, EDGEC_ERR_INVALID, "input %d has type %s rank %d, output %s rank %d", i,
                              edgec_dtype_name(x->dtype), x->rank, edgec_dtype_name(y->dtype), y->rank);
        if (x->dtype != EDGEC_DTYPE_FLOAT32 && (x->scale != y->scale || x->zero_point != y->zero_point))
            return edgec_fail(err, EDGEC_ERR_INVALID, "quantized input %d has different scale/zero point than the output", i);
        for (d = 0; d < y->rank; ++d)
            if (d != p->axis && x->dims[d] != y->dims[d])
                return edgec_fail(err, EDGEC_ERR_INVALID, "input %d dim %d is %d, output %d", i, d, x->dims[d], y->dims[d]);
        total += x->dims[p->axis];
    }
    if (total != y->dims[p->axis])
        return edgec_fail(err, EDGEC_ERR_INVALID, "inputs sum to %lld along axis %d, output has %d", (long long)total,
                          p->axis, y->dims[p->axis]);
    node->rows = 1;
    return EDGEC_OK;
}

void edgec_concat_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_concat_params *p = (const edgec_concat_params *)node->params;
    const edgec_tensor *y = node->outputs[0];
    const size_t es = y->nbytes / y->count;
    size_t outer = 1, inner = es, out_block, offset = 0, o;
    int32_t d, i;
    (void)row_begin; (void)row_end; (void)scratch;
    for (d = 0; d < p->axis; ++d) outer *= (size_t)y->dims[d];
    for (d = p->axis + 1; d < y->rank; ++d) inner *= (size_t)y->dims[d];
    out_block = (size_t)y->dims[p->axis] * inner;
    for (i = 0; i < node->input_count; ++i) {
        const edgec_tensor *x = node->inputs[i];
        const size_t block = (size_t)x->dims[p->axis] * inner;
        for (o = 0; o < outer; ++o) memcpy(y->data + o * out_block + offset, x->data + o * block, block);
        offset += block;
    }
}
