/* REDUCE, fp32: mean / sum / max / min over the axes set in axes_mask. The output keeps or
 * drops the reduced axes (only its element count is checked). int8 MEAN goes to
 * reduce_int8.c.
 *
 * prepare drops size-1 axes and merges neighbouring axes that are both kept or both
 * reduced. Rows are blocks of REDUCE_BLOCK consecutive outputs. When the innermost
 * collapsed axis is kept (e.g. a spatial mean in NHWC), a run of outputs is accumulated
 * together, reading contiguous input; when it is reduced, each output sums a contiguous
 * run. Either way each output accumulates its inputs in input order, from the identity
 * (0, -inf, +inf); MEAN then divides by the reduced count. */
#include <math.h>

#include "common.h"
#include "int8.h"

#define REDUCE_BLOCK 256

/* fp32 aux: [0] collapsed rank, [1] mask of reduced collapsed axes, [2] kind,
 * [3] reduced count, [4..9] collapsed dims, [10] int8 flag (0).
 * int8 aux (reduce_int8.c): [0] rank, [1..6] dims, [7] reduced count, [8] kind, [9] mask,
 * [10] 1. */
enum { A_RANK, A_RMASK, A_KIND, A_COUNT, A_DIMS, A_INT8 = 10 };

static void collapse(edgec_node *node, const edgec_tensor *x, int32_t mask) {
    int32_t i, nd = 0, prev = -1;
    int64_t rmask = 0;
    for (i = 0; i < x->rank; ++i) {
        const int32_t red = mask >> i & 1;
        if (x->dims[i] == 1) continue;
        if (nd > 0 && red == prev) {
            node->aux[A_DIMS + nd - 1] *= x->dims[i];
        } else {
            node->aux[A_DIMS + nd] = x->dims[i];
            if (red) rmask |= (int64_t)1 << nd;
            ++nd;
        }
        prev = red;
    }
    if (nd == 0) { /* a single element: one reduced axis of size 1 */
        node->aux[A_DIMS + nd++] = 1;
        rmask = 1;
    }
    node->aux[A_RANK] = nd;
    node->aux[A_RMASK] = rmask;
}

edgec_status edgec_reduce_prepare(edgec_node *node, edgec_error *err) {
    const edgec_reduce_params *p = (const edgec_reduce_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t kept = 1, reduced = 1;
    int32_t i;
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->dtype != EDGEC_DTYPE_INT8 &&
        (s = edgec_ops_check_float(node, "REDUCE", "float32 (int8: MEAN)", err)))
        return s;
    if (p->kind < EDGEC_REDUCE_MEAN || p->kind > EDGEC_REDUCE_MIN)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "unknown reduce kind %d (0..%d)", (int)p->kind,
                          EDGEC_REDUCE_MIN);
    if (x->rank < 1 || p->axes_mask <= 0 || p->axes_mask >= (1 << x->rank))
        return edgec_fail(err, EDGEC_ERR_INVALID, "axes mask 0x%x does not select axes of rank %d",
                          (unsigned)p->axes_mask, (int)x->rank);
    for (i = 0; i < x->rank; ++i) {
        if (p->axes_mask >> i & 1) reduced *= x->dims[i];
        else kept *= x->dims[i];
    }
    if ((int64_t)y->count != kept)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output has %llu elements, reducing mask 0x%x leaves %lld",
                          (unsigned long long)y->count, (unsigned)p->axes_mask, (long long)kept);
    if (x->dtype == EDGEC_DTYPE_INT8) {
        node->aux[0] = x->rank;
        for (i = 0; i < EDGEC_MAX_RANK; ++i) node->aux[1 + i] = i < x->rank ? x->dims[i] : 1;
        node->aux[7] = reduced;
        node->aux[8] = p->kind;
        node->aux[9] = p->axes_mask;
        node->aux[A_INT8] = 1;
        node->rows = 1;
        return edgec_reduce_int8_prepare(node, err);
    }
    collapse(node, x, p->axes_mask);
    node->aux[A_KIND] = p->kind;
    node->aux[A_COUNT] = reduced;
    node->aux[A_INT8] = 0;
    node->scratch_bytes = sizeof(double) * REDUCE_BLOCK;
    return edgec_ops_set_rows(node, (kept + REDUCE_BLOCK - 1) / REDUCE_BLOCK, err);
}

/* out[k] (k < n) folds in x[k] (inner == 1), or out[0] folds in x[0..inner); sums go to
 * the double accumulators `sums` (a float running sum over ~10^4 values drifts ~1e-4) */
static void fold(int32_t kind, float *restrict out, double *restrict sums, const float *restrict x,
                 ptrdiff_t n, ptrdiff_t inner) {
    ptrdiff_t k;
    if (inner > 1) {
        float acc = out[0];
        double sum = sums[0];
        switch (kind) {
        case EDGEC_REDUCE_MAX: for (k = 0; k < inner; ++k) acc = edgec_maxf(x[k], acc); break;
        case EDGEC_REDUCE_MIN: for (k = 0; k < inner; ++k) acc = edgec_minf(x[k], acc); break;
        default: for (k = 0; k < inner; ++k) sum += x[k]; break;
        }
        out[0] = acc;
        sums[0] = sum;
        return;
    }
    switch (kind) {
    case EDGEC_REDUCE_MAX: for (k = 0; k < n; ++k) out[k] = edgec_maxf(x[k], out[k]); break;
    case EDGEC_REDUCE_MIN: for (k = 0; k < n; ++k) out[k] = edgec_minf(x[k], out[k]); break;
    default: for (k = 0; k < n; ++k) sums[k] += x[k]; break;
    }
}

void edgec_reduce_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const int64_t *aux = node->aux;
    const int32_t nd = (int32_t)aux[A_RANK], kind = (int32_t)aux[A_KIND];
    const int32_t last_reduced = (int32_t)(aux[A_RMASK] >> (nd - 1) & 1);
    const float identity = kind == EDGEC_REDUCE_MAX ? -INFINITY : kind == EDGEC_REDUCE_MIN ? INFINITY : 0.0f;
    const double count = (double)aux[A_COUNT];
    double *sums = (double *)scratch; /* REDUCE_BLOCK accumulators (scratch_bytes) */
    const float *x = (const float *)node->inputs[0]->data;
    float *y = (float *)node->outputs[0]->data;
    const size_t kept = node->outputs[0]->count;
    /* outer kept axes (K) and reduced axes (R), innermost collapsed axis excluded */
    ptrdiff_t kdim[EDGEC_MAX_RANK], kstride[EDGEC_MAX_RANK], rdim[EDGEC_MAX_RANK], rstride[EDGEC_MAX_RANK];
    ptrdiff_t stride = 1, run, inner, positions = 1, o, o_end;
    int32_t d, nk = 0, nr = 0, t;
    if (aux[A_INT8]) {
        if (row_begin == 0) edgec_reduce_int8_eval(node);
        return;
    }
    run = last_reduced ? 1 : (ptrdiff_t)aux[A_DIMS + nd - 1];   /* outputs sharing reads */
    inner = last_reduced ? (ptrdiff_t)aux[A_DIMS + nd - 1] : 1; /* contiguous inputs per output */
    stride = (ptrdiff_t)aux[A_DIMS + nd - 1];
    for (d = nd - 2; d >= 0; --d) { /* collected innermost first */
        const ptrdiff_t dim = (ptrdiff_t)aux[A_DIMS + d];
        if (aux[A_RMASK] >> d & 1) {
            rdim[nr] = dim;
            rstride[nr++] = stride;
            positions *= dim;
        } else {
            kdim[nk] = dim;
            kstride[nk++] = stride;
        }
        stride *= dim;
    }
    o = (ptrdiff_t)row_begin * REDUCE_BLOCK;
    o_end = (size_t)row_end * REDUCE_BLOCK < kept ? (ptrdiff_t)row_end * REDUCE_BLOCK : (ptrdiff_t)kept;
    while (o < o_end) {
        ptrdiff_t outer = o / run, first = o - outer * run, base = 0, roff = 0, pos, k;
        ptrdiff_t n = run - first < o_end - o ? run - first : o_end - o;
        ptrdiff_t ridx[EDGEC_MAX_RANK] = {0};
        float *restrict out = y + o;
        if (n > REDUCE_BLOCK) n = REDUCE_BLOCK; /* the accumulators hold one block */
        for (t = 0; t < nk; ++t) { /* input offset of this output run */
            base += (outer % kdim[t]) * kstride[t];
            outer /= kdim[t];
        }
        base += first;
        for (k = 0; k < n; ++k) {
            out[k] = identity;
            sums[k] = 0.0;
        }
        for (pos = 0; pos < positions; ++pos) { /* reduced positions in input order */
            fold(kind, out, sums, x + base + roff, n, inner);
            for (t = 0; t < nr; ++t) {
                roff += rstride[t];
                if (++ridx[t] < rdim[t]) break;
                roff -= rstride[t] * rdim[t];
                ridx[t] = 0;
            }
        }
        if (kind == EDGEC_REDUCE_MEAN)
            for (k = 0; k < n; ++k) out[k] = (float)(sums[k] / count);
        else if (kind == EDGEC_REDUCE_SUM)
            for (k = 0; k < n; ++k) out[k] = (float)sums[k];
        o += n;
    }
}
