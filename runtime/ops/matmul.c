/* FULLY_CONNECTED (y[m, n] = act(bias[n] + x[m, :] . w[n, :]), weights [N, K]) and
 * BATCH_MATMUL (numpy matmul with broadcast batch axes and transpose flags), fp32.
 * int8 FULLY_CONNECTED goes to matmul_int8.c.
 * Numerics: every output is a float sum over k in order from 0, then + bias, then clamp. */
#include <string.h>

#include "common.h"
#include "gemm_f32.h"
#include "int8.h"

#define FC_BLOCK 64 /* output features per FULLY_CONNECTED row */

/* FULLY_CONNECTED aux: [0] M, [1] N, [2] K, [3] int8 (set by matmul_int8.c), [4] N blocks,
 * [5] SIMD path (gemm_f32.h). Rows (fp32) are (feature block, m) pairs, block-major, so
 * consecutive rows reuse one block of weights and a batch-1 layer still splits across
 * threads; on the SIMD path a row is one feature block for all M. */

static edgec_gemm_f32_shape fc_shape(const edgec_node *node) {
    const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
    edgec_gemm_f32_shape s = {0};
    s.n = (int32_t)node->aux[1];
    s.k = (int32_t)node->aux[2];
    s.n_pad = (s.n + 15) / 16 * 16;
    s.lo = p->act_min;
    s.hi = p->act_max;
    return s;
}

static void fc_pack(edgec_node *node) {
    const edgec_gemm_f32_shape s = fc_shape(node);
    edgec_gemm_f32_pack(node->packed, &s, (const float *)node->inputs[1]->data,
                        node->input_count > 2 && node->inputs[2] ? (const float *)node->inputs[2]->data : 0);
}
edgec_status edgec_fully_connected_prepare(edgec_node *node, edgec_error *err) {
    const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
    const edgec_tensor *x, *w, *b, *y;
    int64_t k, m, n, blocks;
    edgec_status s;
    if (node->input_count > 0 && node->inputs[0] && node->inputs[0]->dtype == EDGEC_DTYPE_INT8) {
        if ((s = edgec_ops_check_node(node, 2, 5, 1, err))) return s;
        return edgec_fully_connected_int8_prepare(node, err);
    }
    if ((s = edgec_ops_check_node(node, 2, 3, 1, err)) ||
        (s = edgec_ops_check_float(node, "FULLY_CONNECTED", "float32, or int8 with int8 weights", err)) ||
        (s = edgec_ops_check_act(p->act_min, p->act_max, err)))
        return s;
    x = node->inputs[0];
    w = node->inputs[1];
    b = node->input_count > 2 ? node->inputs[2] : 0;
    y = node->outputs[0];
    if (w->rank != 2)
        return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be [N, K], got rank %d", (int)w->rank);
    n = w->dims[0];
    k = w->dims[1];
    if ((int64_t)x->count % k)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input of %llu elements is not a multiple of K=%lld",
                          (unsigned long long)x->count, (long long)k);
    m = (int64_t)x->count / k;
    if ((int64_t)y->count != m * n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output has %llu elements, expected M=%lld x N=%lld",
                          (unsigned long long)y->count, (long long)m, (long long)n);
    if (b && (int64_t)b->count != n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias has %llu values for N=%lld",
                          (unsigned long long)b->count, (long long)n);
    blocks = (n + FC_BLOCK - 1) / FC_BLOCK;
    node->aux[0] = m;
    node->aux[1] = n;
    node->aux[2] = k;
    node->aux[3] = 0;
    node->aux[4] = blocks;
    node->aux[5] = edgec_gemm_f32_simd() && k <= (1 << 20) && m <= INT32_MAX / 2;
    if (node->aux[5]) {
        node->packed_bytes = edgec_gemm_f32_packed_bytes((int32_t)n, (int32_t)k);
        node->pack = fc_pack;
        return edgec_ops_set_rows(node, blocks, err);
    }
    return edgec_ops_set_rows(node, m * blocks, err);
}

void edgec_fully_connected_eval(const edgec_node *node, int32_t row_begin, int32_t row_end,
                                void *scratch) {
    const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
    const int32_t M = (int32_t)node->aux[0];
    const ptrdiff_t N = (ptrdiff_t)node->aux[1], K = (ptrdiff_t)node->aux[2];
    const float *x = (const float *)node->inputs[0]->data;
    const float *w = (const float *)node->inputs[1]->data;
    const float *b = node->input_count > 2 && node->inputs[2] ? (const float *)node->inputs[2]->data : 0;
    float *y = (float *)node->outputs[0]->data;
    const float lo = p->act_min, hi = p->act_max;
    int32_t row;
    (void)scratch;
    if (node->aux[3]) {
        edgec_fully_connected_int8_eval(node, row_begin, row_end, scratch);
        return;
    }
    if (node->aux[5]) {
        const edgec_gemm_f32_shape s = fc_shape(node);
        const int32_t n_end = (int32_t)((ptrdiff_t)row_end * FC_BLOCK < N ? (ptrdiff_t)row_end * FC_BLOCK : N);
        edgec_gemm_f32_run(&s, node->packed, M, x, K, y, N, row_begin * FC_BLOCK, n_end);
        return;
    }
    for (row = row_begin; row < row_end; ++row) {
        const int32_t block = row / M, m = row - block * M;
        const ptrdiff_t j_end = ((ptrdiff_t)block + 1) * FC_BLOCK < N ? ((ptrdiff_t)block + 1) * FC_BLOCK : N;
        const float *xr = x + (ptrdiff_t)m * K;
        float *yr = y + (ptrdiff_t)m * N;
        ptrdiff_t j = (ptrdiff_t)block * FC_BLOCK;
        int t;
        for (; j + 4 <= j_end; j += 4) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            edgec_ops_dot4(xr, w + j * K, K, K, acc);
            for (t = 0; t < 4; ++t) yr[j + t] = edgec_clampf(b ? acc[t] + b[j + t] : acc[t], lo, hi);
        }
        for (; j < j_end; ++j) {
            const float acc = edgec_ops_dot1(xr, w + j * K, K, 0.0f);
            yr[j] = edgec_clampf(b ? acc + b[j] : acc, lo, hi);
        }
    }
}

/* BATCH_MATMUL aux: [0] M, [1] N, [2] K, [3] batch rank r (output rank - 2, <= 4),
 * [4..7] a's element stride per output batch axis (0 where broadcast), [8..11] b's.
 * Rows are (batch, i): one output row of one matrix. */
enum { BM_M, BM_N, BM_K, BM_R, BM_SA = 4, BM_SB = 8 };

edgec_status edgec_batch_matmul_prepare(edgec_node *node, edgec_error *err) {
    const edgec_batch_matmul_params *p = (const edgec_batch_matmul_params *)node->params;
    const edgec_tensor *a, *b, *y;
    int64_t m, k, kb, n, batches = 1, sa, sb;
    int32_t d, r;
    edgec_status s;
    if ((s = edgec_ops_check_node(node, 2, 2, 1, err)) ||
        (s = edgec_ops_check_float(node, "BATCH_MATMUL", "float32 only in this version", err)))
        return s;
    a = node->inputs[0];
    b = node->inputs[1];
    y = node->outputs[0];
    if (p->transpose_a < 0 || p->transpose_a > 1 || p->transpose_b < 0 || p->transpose_b > 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "transpose_a %d / transpose_b %d must be 0 or 1",
                          (int)p->transpose_a, (int)p->transpose_b);
    if (a->rank < 2 || b->rank < 2 || y->rank < a->rank || y->rank < b->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "ranks %d x %d -> %d are not a batched matmul",
                          (int)a->rank, (int)b->rank, (int)y->rank);
    m = p->transpose_a ? a->dims[a->rank - 1] : a->dims[a->rank - 2];
    k = p->transpose_a ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
    kb = p->transpose_b ? b->dims[b->rank - 1] : b->dims[b->rank - 2];
    n = p->transpose_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    if (k != kb || y->dims[y->rank - 2] != m || y->dims[y->rank - 1] != n)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "[%lld x %lld] x [%lld x %lld] does not give the output's last dims [%d x %d]",
                          (long long)m, (long long)k, (long long)kb, (long long)n,
                          (int)(y->dims[y->rank - 2]), (int)(y->dims[y->rank - 1]));
    r = y->rank - 2;
    sa = m * k;
    sb = k * n;
    for (d = r - 1; d >= 0; --d) {
        const int32_t ia = d - (r - (a->rank - 2)), ib = d - (r - (b->rank - 2));
        const int32_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if ((da != 1 && db != 1 && da != db) || y->dims[d] != (da > db ? da : db))
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "batch axis %d: %d and %d do not broadcast to the output's %d", (int)d,
                              (int)da, (int)db, (int)y->dims[d]);
        node->aux[BM_SA + d] = da == 1 ? 0 : sa;
        node->aux[BM_SB + d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        batches *= y->dims[d];
    }
    node->aux[BM_M] = m;
    node->aux[BM_N] = n;
    node->aux[BM_K] = k;
    node->aux[BM_R] = r;
    return edgec_ops_set_rows(node, batches * m, err);
}

void edgec_batch_matmul_eval(const edgec_node *node, int32_t row_begin, int32_t row_end,
                             void *scratch) {
    const edgec_batch_matmul_params *p = (const edgec_batch_matmul_params *)node->params;
    const int64_t *aux = node->aux;
    const int32_t M = (int32_t)aux[BM_M], r = (int32_t)aux[BM_R];
    const ptrdiff_t N = (ptrdiff_t)aux[BM_N], K = (ptrdiff_t)aux[BM_K];
    const ptrdiff_t a_step = p->transpose_a ? M : 1; /* between a[i, q] and a[i, q+1] */
    const float *a = (const float *)node->inputs[0]->data;
    const float *b = (const float *)node->inputs[1]->data;
    const int32_t *ydims = node->outputs[0]->dims;
    float *y = (float *)node->outputs[0]->data;
    int32_t row;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t bt = row / M, i = row - bt * M;
        ptrdiff_t oa = 0, ob = 0, q, j;
        int32_t d, rem = bt;
        const float *ai;
        float *restrict out = y + (ptrdiff_t)row * N;
        for (d = r - 1; d >= 0; --d) {
            const int32_t idx = rem % ydims[d];
            rem /= ydims[d];
            oa += idx * (ptrdiff_t)aux[BM_SA + d];
            ob += idx * (ptrdiff_t)aux[BM_SB + d];
        }
        ai = a + oa + (p->transpose_a ? (ptrdiff_t)i : (ptrdiff_t)i * K);
        if (!p->transpose_b) { /* b is [K, N]: out += a[i, q] * b[q, :], contiguous in j */
            memset(out, 0, sizeof(float) * (size_t)N);
            for (q = 0; q < K; ++q) {
                const float av = ai[q * a_step];
                const float *restrict bq = b + ob + q * N;
                for (j = 0; j < N; ++j) out[j] += av * bq[j];
            }
        } else if (!p->transpose_a) { /* b is [N, K]: dot products of contiguous rows */
            const float *bt0 = b + ob;
            for (j = 0; j + 4 <= N; j += 4) {
                float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                edgec_ops_dot4(ai, bt0 + j * K, K, K, acc);
                out[j] = acc[0];
                out[j + 1] = acc[1];
                out[j + 2] = acc[2];
                out[j + 3] = acc[3];
            }
            for (; j < N; ++j) out[j] = edgec_ops_dot1(ai, bt0 + j * K, K, 0.0f);
        } else { /* both transposed: a's row is strided */
            for (j = 0; j < N; ++j) {
                const float *bj = b + ob + j * K;
                float acc = 0.0f;
                for (q = 0; q < K; ++q) acc += ai[q * a_step] * bj[q];
                out[j] = acc;
            }
        }
    }
}
