/* SOFTMAX along one axis, fp32: y = exp(beta * (x - max)) / sum, the sum in double.
 * Rows are the independent lines: rows = (elements before the axis) x (elements after). */
#include <math.h>

#include "common.h"
#include "vmath.h"

/* aux: [0] axis length, [1] inner (elements after the axis) */
edgec_status edgec_softmax_prepare(edgec_node *node, edgec_error *err) {
    const edgec_softmax_params *p = (const edgec_softmax_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t n, inner = 1;
    int32_t d;
    edgec_status s;
    if ((s = edgec_ops_check_node(node, 1, 1, 1, err)) ||
        (s = edgec_ops_check_float(node, "SOFTMAX", "float32 only in this version", err)))
        return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->count != y->count)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input has %llu elements, output %llu",
                          (unsigned long long)x->count, (unsigned long long)y->count);
    if (p->axis < 0 || p->axis >= x->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "axis %d out of range for rank %d", (int)p->axis, (int)x->rank);
    if (p->beta != p->beta)
        return edgec_fail(err, EDGEC_ERR_INVALID, "beta is NaN");
    n = x->dims[p->axis];
    for (d = p->axis + 1; d < x->rank; ++d) inner *= x->dims[d];
    node->aux[0] = n;
    node->aux[1] = inner;
    return edgec_ops_set_rows(node, (int64_t)x->count / n, err);
}

void edgec_softmax_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const float beta = ((const edgec_softmax_params *)node->params)->beta;
    const ptrdiff_t n = (ptrdiff_t)node->aux[0];
    const int32_t inner = (int32_t)node->aux[1];
    const float *x = (const float *)node->inputs[0]->data;
    float *y = (float *)node->outputs[0]->data;
    int32_t row;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t outer = row / inner, k = row - outer * inner;
        const ptrdiff_t base = (ptrdiff_t)outer * n * inner + k;
        const float *restrict xr = x + base;
        float *restrict yr = y + base;
        float mx = xr[0];
        double sum = 0.0; /* double: a float running sum over thousands of classes drifts ~1e-4 */
        ptrdiff_t i;
        for (i = 1; i < n; ++i) mx = edgec_maxf(xr[i * inner], mx);
        if (inner == 1) { /* contiguous line: vectorized exp (vmath.h) */
            const float inv = (float)(1.0 / edgec_vexp_sum(xr, yr, (size_t)n, beta, mx));
            for (i = 0; i < n; ++i) yr[i] *= inv;
            continue;
        }
        for (i = 0; i < n; ++i) {
            const float e = expf(beta * (xr[i * inner] - mx));
            yr[i * inner] = e;
            sum += e;
        }
        for (i = 0; i < n; ++i) yr[i * inner] = (float)(yr[i * inner] / sum);
    }
}
