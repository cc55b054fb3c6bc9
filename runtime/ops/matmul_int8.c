/* int8 FULLY_CONNECTED (TFLite reference_integer_ops::FullyConnected[PerChannel]):
 * acc = sum w * (x - x_zp) + bias, requantize, + y_zp, clamp. Requantization is integer
 * (multiplier, shift) or, for TFLite's per-channel path, round(acc * scale) in double.
 * The integer path runs on the packed int8 GEMM (gemm_int8.h: bit-identical) where the CPU
 * has one; aux[4] = 1 then. */
#include <math.h>

#include "edgec/fixedpoint.h"
#include "gemm_int8.h"
#include "int8.h"

static edgec_gemm_i8_shape fc_shape(const edgec_node *node) {
    const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
    return edgec_gemm_i8_make_shape((int32_t)node->aux[1], (int32_t)node->aux[2], node->outputs[0]->zero_point,
                                    p->q_min, p->q_max);
}

static void fc_int8_pack(edgec_node *node) {
    const edgec_gemm_i8_shape s = fc_shape(node);
    edgec_gemm_i8_pack(node->packed, &s, (const int8_t *)node->inputs[1]->data,
                       node->inputs[2] ? (const int32_t *)node->inputs[2]->data : 0,
                       (const int32_t *)node->inputs[3]->data, (const int32_t *)node->inputs[4]->data,
                       node->inputs[0]->zero_point);
}

/* sum_k w[n, k] per output: x_offset * sum_k w folds the input zero point out of the dot */
static void fc_int8_row_sums(edgec_node *node) {
    const int64_t n = node->aux[1], k = node->aux[2];
    const int8_t *w = (const int8_t *)node->inputs[1]->data;
    int32_t *sums = (int32_t *)node->packed;
    int64_t j, i;
    for (j = 0; j < n; ++j) {
        int32_t s = 0;
        for (i = 0; i < k; ++i) s += w[j * k + i];
        sums[j] = s;
    }
}

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
    node->aux[4] = 0;
    node->rows = (int32_t)node->aux[0];
    if (((const edgec_fully_connected_params *)node->params)->requant == 1 && edgec_gemm_i8_simd()) {
        node->aux[4] = 2; /* SIMD dot products, TFLite's double requantization */
        node->packed_bytes = (size_t)n * sizeof(int32_t);
        node->pack = fc_int8_row_sums;
    } else if (((const edgec_fully_connected_params *)node->params)->requant == 0 && edgec_gemm_i8_simd()) {
        const int32_t *mult = (const int32_t *)m->data;
        int64_t i;
        for (i = 0; i < n && mult[i] >= 0; ++i) {}
        if (i == n) { /* the SIMD requantization assumes multipliers >= 0 */
            node->aux[4] = 1;
            node->packed_bytes = edgec_gemm_i8_packed_bytes((int32_t)n, (int32_t)k);
            node->pack = fc_int8_pack;
            node->scratch_bytes = edgec_gemm_i8_scratch_bytes((int32_t)k);
        }
    }
    return EDGEC_OK;
}

void edgec_fully_connected_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
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
    if (node->aux[4] == 2) { /* same int32 sum as below, modulo 2^32 (unsigned: no UB) */
        const int32_t *sums = (const int32_t *)node->packed;
        for (row = row_begin; row < row_end; ++row)
            for (j = 0; j < n; ++j) {
                const int64_t wide = (int64_t)edgec_dot_i8(w + j * k, x + (int64_t)row * k, (int32_t)k) +
                                     (int64_t)x_offset * sums[j];
                int32_t acc = (int32_t)(uint32_t)((uint64_t)wide & 0xffffffffu);
                const double scale = (double)node->inputs[0]->scale * (double)((const float *)mult)[j] /
                                     (double)node->outputs[0]->scale;
                if (b) acc = (int32_t)((int64_t)acc + b[j]);
                acc = (int32_t)round((double)acc * scale) + y_zp;
                y[(int64_t)row * n + j] = (int8_t)edgec_clamp_i32(acc, p->q_min, p->q_max);
            }
        return;
    }
    if (node->aux[4] == 1) {
        const edgec_gemm_i8_shape s = fc_shape(node);
        edgec_gemm_i8_run(&s, node->packed, row_end - row_begin, x + (int64_t)row_begin * k, (ptrdiff_t)k,
                          y + (int64_t)row_begin * n, (ptrdiff_t)n, scratch);
        return;
    }
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
