/* CONCAT along one axis, any element type (quantized inputs must share the output's
 * scale and zero point): per outer index, one contiguous block copy per input.
 * Rows are outer indices: rows = product of the output dims before the axis. */
#include <string.h>

#include "common.h"

/* aux: [0] bytes per element x product of the dims after the axis (one "slice") */
edgec_status edgec_concat_prepare(edgec_node *node, edgec_error *err) {
    const edgec_concat_params *p = (const edgec_concat_params *)node->params;
    const edgec_tensor *y;
    int64_t total = 0, outer = 1, slice;
    int32_t i, d;
    edgec_status s = edgec_ops_check_node(node, 1, EDGEC_MAX_OP_INPUTS, 1, err);
    if (s) return s;
    y = node->outputs[0];
    if (p->axis < 0 || p->axis >= y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d out of range for rank %d", (int)p->axis, (int)y->rank);
    for (i = 0; i < node->input_count; ++i) {
        const edgec_tensor *x = node->inputs[i];
        if (!x) return edgec_fail(err, EDGEC_ERR_INVALID, "input %d is absent", (int)i);
        if (x->dtype != y->dtype || x->rank != y->rank)
            return edgec_fail(err, EDGEC_ERR_INVALID, "input %d is %s rank %d, output %s rank %d", (int)i,
                              edgec_dtype_name(x->dtype), (int)x->rank, edgec_dtype_name(y->dtype),
                              (int)y->rank);
        if (x->dtype != EDGEC_DTYPE_FLOAT32 && (x->scale != y->scale || x->zero_point != y->zero_point))
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "quantized input %d (%g, %d) differs from the output (%g, %d)", (int)i,
                              (double)x->scale, (int)x->zero_point, (double)y->scale, (int)y->zero_point);
        for (d = 0; d < y->rank; ++d)
            if (d != p->axis && x->dims[d] != y->dims[d])
                return edgec_fail(err, EDGEC_ERR_INVALID, "input %d dim %d is %d, output %d", (int)i,
                                  (int)d, (int)x->dims[d], (int)y->dims[d]);
        total += x->dims[p->axis];
    }
    if (total != y->dims[p->axis])
        return edgec_fail(err, EDGEC_ERR_INVALID, "inputs sum to %lld along axis %d, output has %d",
                          (long long)total, (int)p->axis, (int)y->dims[p->axis]);
    slice = (int64_t)edgec_dtype_size(y->dtype);
    for (d = 0; d < p->axis; ++d) outer *= y->dims[d];
    for (d = p->axis + 1; d < y->rank; ++d) slice *= y->dims[d];
    node->aux[0] = slice;
    return edgec_ops_set_rows(node, outer, err);
}

void edgec_concat_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_concat_params *p = (const edgec_concat_params *)node->params;
    const size_t slice = (size_t)node->aux[0];
    const edgec_tensor *y = node->outputs[0];
    const size_t out_block = (size_t)y->dims[p->axis] * slice;
    int32_t row, i;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        uint8_t *dst = y->data + (size_t)row * out_block;
        for (i = 0; i < node->input_count; ++i) {
            const edgec_tensor *x = node->inputs[i];
            const size_t block = (size_t)x->dims[p->axis] * slice;
            memcpy(dst, x->data + (size_t)row * block, block);
            dst += block;
        }
    }
}
