/* SOFTMAX along one axis (fp32): exp(beta * (x - max)) / sum. */
#include <math.h>

#include "edgec/kernel.h"

edgec_status edgec_softmax_prepare(edgec_node *node, edgec_error *err) {
    const edgec_softmax_params *p = (const edgec_softmax_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t outer = 1;
    int32_t d;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if ((s = edgec_check_dtype(x, EDGEC_DTYPE_FLOAT32, "input", err)) ||
        (s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err)))
        return s;
    if (x->count != y->count) return edgec_fail(err, EDGEC_ERR_INVALID, "input and output sizes differ");
    if (p->axis < 0 || p->axis >= x->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d out of range for rank %d", p->axis, x->rank);
    for (d = 0; d < p->axis; ++d) outer *= x->dims[d];
    node->aux[0] = x->dims[p->axis];
    node->aux[1] = (int64_t)x->count / (outer * x->dims[p->axis]); /* inner */
    node->rows = (int32_t)outer;
    return EDGEC_OK;
}

void edgec_softmax_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const float beta = ((const edgec_softmax_params *)node->params)->beta;
    const int64_t n = node->aux[0], inner = node->aux[1];
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    int32_t row;
    int64_t i, k;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        for (k = 0; k < inner; ++k) {
            const float *xr = x + (int64_t)row * n * inner + k;
            float *yr = y + (int64_t)row * n * inner + k;
            float mx = xr[0], sum = 0.0f;
            for (i = 1; i < n; ++i) mx = xr[i * inner] > mx ? xr[i * inner] : mx;
            for (i = 0; i < n; ++i) {
                yr[i * inner] = expf(beta * (xr[i * inner] - mx));
                sum += yr[i * inner];
            }
            for (i = 0; i < n; ++i) yr[i * inner] /= sum;
        }
    }
}
