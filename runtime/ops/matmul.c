/* FULLY_CONNECTED ([M,K] x [N,K]^T + bias) and BATCH_MATMUL (broadcast batches), fp32. */
#include "edgec/kernel.h"
#include "int8.h"

edgec_status edgec_fully_connected_prepare(edgec_node *node, edgec_error *err) {
    const edgec_tensor *x, *w, *b, *y;
    int64_t k, m, n;
    int i;
    edgec_status s;
    if (node->input_count > 0 && node->inputs[0] && node->inputs[0]->dtype == EDGEC_DTYPE_INT8)
        return edgec_fully_connected_int8_prepare(node, err);
    s = edgec_check_counts(node, 2, 3, 1, err);
    if (s) return s;
    x = node->inputs[0];
    w = node->inputs[1];
    b = node->input_count > 2 ? node->inputs[2] : 0;
    y = node->outputs[0];
    for (i = 0; i < node->input_count; ++i)
        if (node->inputs[i] && (s = edgec_check_dtype(node->inputs[i], EDGEC_DTYPE_FLOAT32, "input", err))) return s;
    if ((s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err))) return s;
    if (w->rank != 2) return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be [N, K], rank %d", w->rank);
    n = w->dims[0];
    k = w->dims[1];
    if ((int64_t)x->count % k)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input of %llu elements is not a multiple of K=%lld",
                          (unsigned long long)x->count, (long long)k);
    m = (int64_t)x->count / k;
    if ((int64_t)y->count != m * n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output has %llu elements, expected %lld x %lld",
                          (unsigned long long)y->count, (long long)m, (long long)n);
    if (b && (int64_t)b->count != n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias has %llu values for N=%lld", (unsigned long long)b->count, (long long)n);
    node->aux[0] = m;
    node->aux[1] = n;
    node->aux[2] = k;
    node->aux[3] = 0; /* float */
    node->rows = (int32_t)m;
    return EDGEC_OK;
}

void edgec_fully_connected_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
    const int64_t n = node->aux[1], k = node->aux[2];
    const float *restrict x = (const float *)node->inputs[0]->data;
    const float *restrict w = (const float *)node->inputs[1]->data;
    const float *restrict b = (node->input_count > 2 && node->inputs[2]) ? (const float *)node->inputs[2]->data : 0;
    float *restrict y = (float *)node->outputs[0]->data;
    int32_t row;
    int64_t j, i;
    (void)scratch;
    if (node->aux[3]) {
        edgec_fully_connected_int8_eval(node, row_begin, row_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const float *xr = x + (int64_t)row * k;
        for (j = 0; j < n; ++j) {
            const float *wr = w + j * k;
            float acc = 0.0f, v;
            for (i = 0; i < k; ++i) acc += xr[i] * wr[i];
            v = b ? acc + b[j] : acc;
            y[(int64_t)row * n + j] = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
        }
    }
}

/* aux: [0] M, [1] N, [2] K, [3] batches, [4] out rank, [5..] per-batch-axis strides of a, b */
edgec_status edgec_batch_matmul_prepare(edgec_node *node, edgec_error *err) {
    const edgec_batch_matmul_params *p = (const edgec_batch_matmul_params *)node->params;
    const edgec_tensor *a, *b, *y;
    int64_t m, k, kb, n, batches = 1;
    int32_t d, r;
    edgec_status s = edgec_check_counts(node, 2, 2, 1, err);
    if (s) return s;
    a = node->inputs[0];
    b = node->inputs[1];
    y = node->outputs[0];
    if ((s = edgec_check_dtype(a, EDGEC_DTYPE_FLOAT32, "input 0", err)) ||
        (s = edgec_check_dtype(b, EDGEC_DTYPE_FLOAT32, "input 1", err)) ||
        (s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err)))
        return s;
    if (a->rank < 2 || b->rank < 2 || y->rank < 2 || y->rank < a->rank || y->rank < b->rank || y->rank > 6)
        return edgec_fail(err, EDGEC_ERR_INVALID, "ranks %d x %d -> %d are not a batched matmul", a->rank, b->rank, y->rank);
    m = p->transpose_a ? a->dims[a->rank - 1] : a->dims[a->rank - 2];
    k = p->transpose_a ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
    kb = p->transpose_b ? b->dims[b->rank - 1] : b->dims[b->rank - 2];
    n = p->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    if (k != kb || y->dims[y->rank - 2] != m || y->dims[y->rank - 1] != n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "[%lld x %lld] x [%lld x %lld] does not give the output's last dims",
                          (long long)m, (long long)k, (long long)kb, (long long)n);
    r = y->rank - 2;
    {
        int64_t sa = m * k, sb = k * n;
        for (d = r - 1; d >= 0; --d) {
            int32_t ia = d - (r - (a->rank - 2)), ib = d - (r - (b->rank - 2));
            int32_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
            if ((da != y->dims[d] && da != 1) || (db != y->dims[d] && db != 1) || y->dims[d] != (da > db ? da : db))
                return edgec_fail(err, EDGEC_ERR_INVALID, "batch dim %d: %d and %d do not broadcast to %d", d, da, db, y->dims[d]);
            node->aux[5 + d] = da == 1 ? 0 : sa;
            node->aux[11 + d] = db == 1 ? 0 : sb;
            sa *= da;
            sb *= db;
            batches *= y->dims[d];
        }
    }
    node->aux[0] = m;
    node->aux[1] = n;
    node->aux[2] = k;
    node->aux[3] = batches;
    node->aux[4] = r;
    node->rows = (int32_t)batches;
    return EDGEC_OK;
}

void edgec_batch_matmul_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_batch_matmul_params *p = (const edgec_batch_matmul_params *)node->params;
    const int64_t m = node->aux[0], n = node->aux[1], k = node->aux[2];
    const int32_t r = (int32_t)node->aux[4];
    const float *a = (const float *)node->inputs[0]->data, *b = (const float *)node->inputs[1]->data;
    float *y = (float *)node->outputs[0]->data;
    const edgec_tensor *ty = node->outputs[0];
    int32_t bt;
    (void)scratch;
    for (bt = row_begin; bt < row_end; ++bt) {
        int64_t oa = 0, ob = 0, rem = bt, i, j, q;
        int32_t d;
        for (d = r - 1; d >= 0; --d) {
            int64_t idx = rem % ty->dims[d];
            rem /= ty->dims[d];
            oa += idx * node->aux[5 + d];
            ob += idx * node->aux[11 + d];
        }
        for (i = 0; i < m; ++i)
            for (j = 0; j < n; ++j) {
                float acc = 0.0f;
                for (q = 0; q < k; ++q) {
                    float av = p->transpose_a ? a[oa + q * m + i] : a[oa + i * k + q];
                    float bv = p->transpose_b ? b[ob + j * k + q] : b[ob + q * n + j];
                    acc += av * bv;
                }
                y[(int64_t)bt * m * n + i * n + j] = acc;
            }
    }
}
