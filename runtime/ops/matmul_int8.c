/* int8 FULLY_CONNECTED (TFLite reference_integer_ops::FullyConnected[PerChannel]):
 * acc = sum w * (x - x_zp) + bias, requantize, + y_zp, clamp. Requantization is integer
 * (multiplier, shift) or, for TFLite's per-channel path, round(acc * scale) in double. */
#include <math.h>

#include "edgec/fixedpoint.h"
#include "int8.h"

edgec_status edgec_fully_connected_int8_prepare(edgec_node *node, edgec_error *err) {
    const edgec_tensor *x, *w, *b, *m, *s, *y;
    int64_t k, n;
    edgec_status st = edgec_check_counts(node, 2, 5, 1, err); /* bias (input 2) is optional */
    if (st) return st;
    if (node->input_count != 5 || !node->inputs[3] ||
        (!node->inputs[4] && ((const edgec_fully_connected_params *)node->params)->requant != 1))
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 op needs requantization multiplier and shift (inputs 3, 4)");
    x = node->inputs[0];
    w = node->inputs[1];
    b = node->inputs[2];
    m = node->inputs[3];
    s = node->inputs[4];
    y = node->outputs[0];
    if (w->dtype != EDGEC_DTYPE_INT8 || y->dtype != EDGEC_DTYPE_INT8 || w->rank != 2)
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 FULLY_CONNECTED needs int8 [N,K] weights and int8 output");
    n = w->dims[0];
    k = w->dims[1];
    if (k > 65000) /* the int32 accumulator holds k * 255 * 128 without overflow below this */
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 FULLY_CONNECTED with K=%lld would overflow int32", (long long)k);
    if ((int64_t)x->count % k || (int64_t)y->count != (int64_t)x->count / k * n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input of %llu values and weights [%lld,%lld] do not give %llu outputs",
                          (unsigned long long)x->count, (long long)n, (long long)k, (unsigned long long)y->count);
    if (b && (b->dtype != EDGEC_DTYPE_INT32 || (int64_t)b->count != n))
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias must be int32[%lld]", (long long)n);
    if (((const edgec_fully_connected_params *)node->params)->requant == 1) {
        if (m->dtype != EDGEC_DTYPE_FLOAT32 || (int64_t)m->count != n || m->storage != EDGEC_STORAGE_CONSTANT ||
            !(x->scale > 0.0f) || !(y->scale > 0.0f))
            return edgec_fail(err, EDGEC_ERR_INVALID, "float requantization needs float32[%lld] weight scales", (long long)n);
    } else if (m->dtype != EDGEC_DTYPE_INT32 || s->dtype != EDGEC_DTYPE_INT32 || (int64_t)m->count != n ||
        (int64_t)s->count != n || m->storage != EDGEC_STORAGE_CONSTANT || s->storage != EDGEC_STORAGE_CONSTANT)
        return edgec_fail(err, EDGEC_ERR_INVALID, "multiplier/shift must be int32[%lld] constants", (long long)n);
    else {
        const int32_t *sh = (const int32_t *)s->data;
        int64_t i;
        for (i = 0; i < n; ++i)
            if (sh[i] < -31 || sh[i] > 30) return edgec_fail(err, EDGEC_ERR_INVALID, "shift %d out of range", (int)sh[i]);
    }
    node->aux[0] = (int64_t)x->count / k;
    node->aux[1] = n;
    node->aux[2] = k;
    node->aux[3] = 1; /* int8 */
    node->rows = (int32_t)node->aux[0];
    return EDGEC_OK;
}

void edgec_fully_connected_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
    const int64_t n = node->aux[1], k = node->aux[2];
    const int8_t *restrict x = (const int8_t *)node->inputs[0]->data;
    const int8_t *restrict w = (const int8_t *)node->inputs[1]->data;
    const int32_t *restrict b = node->inputs[2] ? (const int32_t *)node->inputs[2]->data : 0;
    const int32_t *mult = (const int32_t *)node->inputs[3]->data;
    const int32_t *shift = node->inputs[4] ? (const int32_t *)node->inputs[4]->data : 0;
    int8_t *restrict y = (int8_t *)node->outputs[0]->data;
    const int32_t x_offset = -node->inputs[0]->zero_point, y_zp = node->outputs[0]->zero_point;
    int32_t row;
    int64_t j, i;
    for (row = row_begin; row < row_end; ++row) {
        const int8_t *xr = x + (int64_t)row * k;
        for (j = 0; j < n; ++j) {
            const int8_t *wr = w + j * k;
            int32_t acc = 0;
            for (i = 0; i < k; ++i) acc += (int32_t)wr[i] * ((int32_t)xr[i] + x_offset);
            if (b) acc = (int32_t)((int64_t)acc + b[j]); /* no signed overflow on corrupt biases */
            if (p->requant == 1) {
                const double scale = (double)node->inputs[0]->scale * (double)((const float *)mult)[j] /
                                     (double)node->outputs[0]->scale;
                acc = (int32_t)round((double)acc * scale) + y_zp;
            } else {
                acc = edgec_mbqm(acc, mult[j], shift[j]) + y_zp;
            }
            y[(int64_t)row * n + j] = (int8_t)edgec_clamp_i32(acc, p->q_min, p->q_max);
        }
    }
}
