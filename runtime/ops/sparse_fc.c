/* SPARSE_FULLY_CONNECTED (format.h): FULLY_CONNECTED / 1x1 CONV2D with block-sparse CSR
 * weights, fp32 and int8. prepare validates the CSR (a malformed one fails at load);
 * the reference loops below define the numerics, sparse_gemm_*.c are the SIMD tiles.
 *
 * Reference numerics: fp32 sums each output over its nonzero blocks in CSR order (k
 * ascending inside a block) from 0, then + bias, then the clamp; int8 computes TFLite's
 * acc = sum w * (x - x_zp) + bias (exact int32), requantizes per channel, + y_zp, clamps.
 * Rows (units of work): x rows on the reference path, tiles of EDGEC_SPARSE_MT rows on the
 * SIMD path. aux: [0] M, [1] N, [2] K, [3] int8, [4] SIMD path. */
#include <math.h>
#include <string.h>

#include "common.h"
#include "edgec/fixedpoint.h"
#include "sparse_gemm.h"

static edgec_sparse_shape shape_of(const edgec_node *node) {
    const edgec_sparse_fully_connected_params *p = (const edgec_sparse_fully_connected_params *)node->params;
    edgec_sparse_shape s;
    s.n = (int32_t)node->aux[1];
    s.k = (int32_t)node->aux[2];
    s.bh = p->block_h;
    s.bw = p->block_w;
    s.nnzb = node->inputs[1]->dims[0];
    s.cols = (const int32_t *)node->inputs[2]->data;
    s.rowptr = (const int32_t *)node->inputs[3]->data;
    s.lo = p->act_min;
    s.hi = p->act_max;
    s.x_zp = node->inputs[0]->zero_point;
    s.y_zp = node->outputs[0]->zero_point;
    s.q_min = p->q_min;
    s.q_max = p->q_max;
    return s;
}

static edgec_status check_const_i32(const edgec_tensor *t, int64_t count, const char *what, edgec_error *err) {
    if (!t || t->dtype != EDGEC_DTYPE_INT32 || (int64_t)t->count != count || t->storage != EDGEC_STORAGE_CONSTANT)
        return edgec_fail(err, EDGEC_ERR_INVALID, "%s must be a constant int32[%lld]", what, (long long)count);
    return EDGEC_OK;
}

/* The CSR of a [rows, block_cols] block grid: rowptr from 0, non-decreasing, ending at
 * nnzb; columns in range and strictly increasing within a row. */
static edgec_status check_csr(const int32_t *rowptr, int32_t rows, const int32_t *cols, int32_t nnzb,
                              int32_t block_cols, edgec_error *err) {
    int32_t r, j;
    if (rowptr[0] != 0 || rowptr[rows] != nnzb)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "malformed block CSR: row pointers run from %d to %d, expected 0 to %d blocks",
                          (int)rowptr[0], (int)rowptr[rows], (int)nnzb);
    for (r = 0; r < rows; ++r) {
        if (rowptr[r + 1] < rowptr[r] || rowptr[r + 1] > nnzb)
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "malformed block CSR: row pointer %d is %d after %d (must be non-decreasing, <= %d)",
                              (int)(r + 1), (int)rowptr[r + 1], (int)rowptr[r], (int)nnzb);
        for (j = rowptr[r]; j < rowptr[r + 1]; ++j) {
            if (cols[j] < 0 || cols[j] >= block_cols)
                return edgec_fail(err, EDGEC_ERR_INVALID,
                                  "malformed block CSR: block %d of row %d has column %d, outside [0, %d)",
                                  (int)j, (int)r, (int)cols[j], (int)block_cols);
            if (j > rowptr[r] && cols[j] <= cols[j - 1])
                return edgec_fail(err, EDGEC_ERR_INVALID,
                                  "malformed block CSR: columns of row %d are not strictly increasing (%d after %d)",
                                  (int)r, (int)cols[j], (int)cols[j - 1]);
        }
    }
    return EDGEC_OK;
}

static edgec_status check_requant(const edgec_node *node, int64_t n, edgec_error *err) {
    const edgec_tensor *b = node->inputs[4];
    const int32_t *sh;
    int64_t i;
    edgec_status st;
    if (b && (b->dtype != EDGEC_DTYPE_INT32 || (int64_t)b->count != n))
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 bias must be int32[%lld]", (long long)n);
    if (node->outputs[0]->dtype != EDGEC_DTYPE_INT8)
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 input needs an int8 output");
    if (((const edgec_sparse_fully_connected_params *)node->params)->requant == 1) {
        const edgec_tensor *ws = node->inputs[5];
        if (!ws || ws->dtype != EDGEC_DTYPE_FLOAT32 || (int64_t)ws->count != n || ws->storage != EDGEC_STORAGE_CONSTANT ||
            !(node->inputs[0]->scale > 0.0f) || !(node->outputs[0]->scale > 0.0f))
            return edgec_fail(err, EDGEC_ERR_INVALID, "float requantization needs float32[%lld] weight scales (input 5) "
                              "and quantized input and output", (long long)n);
        return EDGEC_OK;
    }
    if (((const edgec_sparse_fully_connected_params *)node->params)->requant != 0)
        return edgec_fail(err, EDGEC_ERR_INVALID, "requant %d: 0 (integer) or 1 (float per-channel)",
                          (int)((const edgec_sparse_fully_connected_params *)node->params)->requant);
    if ((st = check_const_i32(node->inputs[5], n, "requantization multiplier (input 5)", err)) ||
        (st = check_const_i32(node->inputs[6], n, "requantization shift (input 6)", err)))
        return st;
    sh = (const int32_t *)node->inputs[6]->data;
    for (i = 0; i < n; ++i)
        if (sh[i] < -31 || sh[i] > 30)
            return edgec_fail(err, EDGEC_ERR_INVALID, "shift %d of channel %lld is out of [-31, 30]", (int)sh[i], (long long)i);
    return EDGEC_OK;
}

static void pack_i8(edgec_node *node) {
    const edgec_sparse_shape s = shape_of(node);
    edgec_sparse_i8_pack(node->packed, &s, (const int8_t *)node->inputs[1]->data,
                         node->inputs[4] ? (const int32_t *)node->inputs[4]->data : 0,
                         (const int32_t *)node->inputs[5]->data, (const int32_t *)node->inputs[6]->data);
}

static void plan_fast(edgec_node *node, int32_t int8) {
    const edgec_sparse_shape s = shape_of(node);
    int64_t i;
    node->aux[4] = 0;
    if (!edgec_sparse_simd() || (int8 && ((const edgec_sparse_fully_connected_params *)node->params)->requant))
        return; /* TFLite's float requantization runs on the reference loops */
    if (int8) {
        const int32_t *mult = (const int32_t *)node->inputs[5]->data;
        for (i = 0; i < s.n; ++i)
            if (mult[i] < 0) return; /* the SIMD requantization assumes multipliers >= 0 */
        node->packed_bytes = edgec_sparse_i8_packed_bytes(&s);
        node->pack = pack_i8;
    }
    node->aux[4] = 1;
    node->scratch_bytes = edgec_sparse_scratch_bytes(&s);
}

edgec_status edgec_sparse_fully_connected_prepare(edgec_node *node, edgec_error *err) {
    const edgec_sparse_fully_connected_params *p = (const edgec_sparse_fully_connected_params *)node->params;
    const edgec_tensor *x, *v, *y;
    int32_t int8, bh, bw, rows;
    int64_t n, k, m;
    edgec_status st;
    int8 = node->input_count > 0 && node->inputs[0] && node->inputs[0]->dtype == EDGEC_DTYPE_INT8;
    if ((st = edgec_ops_check_node(node, 4, int8 ? 7 : 5, 1, err))) return st; /* bias (input 4) is optional */
    if (int8 && node->input_count != 7)
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 needs requantization multiplier and shift (inputs 5, 6)");
    x = node->inputs[0];
    v = node->inputs[1];
    y = node->outputs[0];
    if (!x || !v) return edgec_fail(err, EDGEC_ERR_INVALID, "input and block values are required");
    if (!int8 && (x->dtype != EDGEC_DTYPE_FLOAT32 || y->dtype != EDGEC_DTYPE_FLOAT32 ||
                  (node->input_count > 4 && node->inputs[4] && node->inputs[4]->dtype != EDGEC_DTYPE_FLOAT32)))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "input %s, output %s: SPARSE_FULLY_CONNECTED supports "
                          "float32, or int8 with int32 bias and requantization", edgec_dtype_name(x->dtype),
                          edgec_dtype_name(y->dtype));
    if ((st = edgec_ops_check_act(p->act_min, p->act_max, err))) return st;
    bh = p->block_h;
    bw = p->block_w;
    if (!((bh == 1 && bw == 4) || (bh == 4 && bw == 1)))
        return edgec_fail(err, EDGEC_ERR_INVALID, "block %dx%d: supported blocks are 1x4 and 4x1", (int)bh, (int)bw);
    if (v->dtype != x->dtype || v->rank != 2 || v->dims[1] != bh * bw || v->storage != EDGEC_STORAGE_CONSTANT)
        return edgec_fail(err, EDGEC_ERR_INVALID, "block values must be a constant %s [nnzb, %d] tensor",
                          edgec_dtype_name(x->dtype), (int)(bh * bw));
    if (x->rank < 1 || y->rank < 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output need rank >= 1");
    k = x->dims[x->rank - 1];
    n = y->dims[y->rank - 1];
    m = (int64_t)x->count / k;
    if ((int64_t)y->count != m * n || n % bh || k % bw)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "input [..., %lld] and output [..., %lld] (%llu values) do not fit M=%lld rows of %dx%d blocks",
                          (long long)k, (long long)n, (unsigned long long)y->count, (long long)m, (int)bh, (int)bw);
    if (int8 && k > 65000) /* the int32 accumulator holds k * 255 * 128 without overflow below this */
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 K=%lld would overflow int32", (long long)k);
    if (k > (1 << 24) || n > (1 << 24))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "N=%lld, K=%lld are too large", (long long)n, (long long)k);
    rows = (int32_t)(n / bh);
    if ((st = check_const_i32(node->inputs[2], v->dims[0], "block columns (input 2)", err)) ||
        (st = check_const_i32(node->inputs[3], (int64_t)rows + 1, "block row pointers (input 3)", err)) ||
        (st = check_csr((const int32_t *)node->inputs[3]->data, rows, (const int32_t *)node->inputs[2]->data,
                        v->dims[0], (int32_t)(k / bw), err)))
        return st;
    if (int8) {
        if ((st = check_requant(node, n, err))) return st;
    } else if (node->input_count > 4 && node->inputs[4] && (int64_t)node->inputs[4]->count != n) {
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias has %llu values for N=%lld",
                          (unsigned long long)node->inputs[4]->count, (long long)n);
    }
    node->aux[0] = m;
    node->aux[1] = n;
    node->aux[2] = k;
    node->aux[3] = int8;
    plan_fast(node, int8);
    return edgec_ops_set_rows(node, node->aux[4] ? (m + EDGEC_SPARSE_MT - 1) / EDGEC_SPARSE_MT : m, err);
}

static void reference_f32(const edgec_node *node, const edgec_sparse_shape *s, int32_t row_begin, int32_t row_end) {
    const float *restrict x = (const float *)node->inputs[0]->data;
    const float *restrict v = (const float *)node->inputs[1]->data;
    const float *restrict b = node->input_count > 4 && node->inputs[4] ? (const float *)node->inputs[4]->data : 0;
    float *restrict y = (float *)node->outputs[0]->data;
    int32_t row, r, j, i;
    for (row = row_begin; row < row_end; ++row) {
        const float *xr = x + (ptrdiff_t)row * s->k;
        float *yr = y + (ptrdiff_t)row * s->n;
        for (r = 0; r < s->n / s->bh; ++r) {
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (j = s->rowptr[r]; j < s->rowptr[r + 1]; ++j) {
                const float *w = v + (ptrdiff_t)j * 4;
                if (s->bw == 4) {
                    const float *xb = xr + (ptrdiff_t)s->cols[j] * 4;
                    for (i = 0; i < 4; ++i) acc[0] += w[i] * xb[i];
                } else {
                    const float xv = xr[s->cols[j]];
                    for (i = 0; i < 4; ++i) acc[i] += w[i] * xv;
                }
            }
            for (i = 0; i < s->bh; ++i) {
                const int32_t n = r * s->bh + i;
                yr[n] = edgec_clampf(acc[i] + (b ? b[n] : 0.0f), s->lo, s->hi);
            }
        }
    }
}

static void reference_i8(const edgec_node *node, const edgec_sparse_shape *s, int32_t row_begin, int32_t row_end) {
    const int8_t *restrict x = (const int8_t *)node->inputs[0]->data;
    const int8_t *restrict v = (const int8_t *)node->inputs[1]->data;
    const int32_t *restrict b = node->inputs[4] ? (const int32_t *)node->inputs[4]->data : 0;
    const int32_t *mult = (const int32_t *)node->inputs[5]->data;
    const int32_t *shift = node->inputs[6] ? (const int32_t *)node->inputs[6]->data : 0;
    const int32_t float_requant = ((const edgec_sparse_fully_connected_params *)node->params)->requant == 1;
    int8_t *restrict y = (int8_t *)node->outputs[0]->data;
    int32_t row, r, j, i;
    for (row = row_begin; row < row_end; ++row) {
        const int8_t *xr = x + (ptrdiff_t)row * s->k;
        int8_t *yr = y + (ptrdiff_t)row * s->n;
        for (r = 0; r < s->n / s->bh; ++r) {
            int32_t acc[4] = {0, 0, 0, 0};
            for (j = s->rowptr[r]; j < s->rowptr[r + 1]; ++j) {
                const int8_t *w = v + (ptrdiff_t)j * 4;
                if (s->bw == 4) {
                    const int8_t *xb = xr + (ptrdiff_t)s->cols[j] * 4;
                    for (i = 0; i < 4; ++i) acc[0] += (int32_t)w[i] * ((int32_t)xb[i] - s->x_zp);
                } else {
                    const int32_t xv = (int32_t)xr[s->cols[j]] - s->x_zp;
                    for (i = 0; i < 4; ++i) acc[i] += (int32_t)w[i] * xv;
                }
            }
            for (i = 0; i < s->bh; ++i) {
                const int32_t n = r * s->bh + i;
                int32_t a = b ? (int32_t)((int64_t)acc[i] + b[n]) : acc[i]; /* no signed overflow on corrupt biases */
                if (float_requant) { /* as matmul_int8.c: round half away in double */
                    const double scale = (double)node->inputs[0]->scale * (double)((const float *)mult)[n] /
                                         (double)node->outputs[0]->scale;
                    a = (int32_t)round((double)a * scale) + s->y_zp;
                } else {
                    a = edgec_mbqm(a, mult[n], shift[n]) + s->y_zp;
                }
                yr[n] = (int8_t)edgec_clamp_i32(a, s->q_min, s->q_max);
            }
        }
    }
}

void edgec_sparse_fully_connected_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_sparse_shape s = shape_of(node);
    const int32_t M = (int32_t)node->aux[0];
    int32_t t;
    if (!node->aux[4]) {
        if (node->aux[3])
            reference_i8(node, &s, row_begin, row_end);
        else
            reference_f32(node, &s, row_begin, row_end);
        return;
    }
    for (t = row_begin; t < row_end; ++t) {
        const int32_t m0 = t * EDGEC_SPARSE_MT, m = M - m0 < EDGEC_SPARSE_MT ? M - m0 : EDGEC_SPARSE_MT;
        if (node->aux[3])
            edgec_sparse_i8_tile(&s, node->packed, m, (const int8_t *)node->inputs[0]->data + (ptrdiff_t)m0 * s.k,
                                 (int8_t *)node->outputs[0]->data + (ptrdiff_t)m0 * s.n, scratch);
        else
            edgec_sparse_f32_tile(&s, (const float *)node->inputs[1]->data,
                                  node->input_count > 4 && node->inputs[4] ? (const float *)node->inputs[4]->data : 0,
                                  m, (const float *)node->inputs[0]->data + (ptrdiff_t)m0 * s.k,
                                  (float *)node->outputs[0]->data + (ptrdiff_t)m0 * s.n, scratch);
    }
}
