/* Broadcasting binary ops, fp32: ADD SUB MUL DIV MAXIMUM MINIMUM POW PRELU, numpy
 * broadcasting up to rank 6, then the fused act clamp. int8 ADD/SUB/MUL go to
 * binary_int8.c.
 *
 * Rows are chunks of EDGEC_CHUNK elements of the flat output. prepare collapses the output
 * into at most 6 axes, merging neighbours that broadcast the same way and dropping size-1
 * axes, so along the innermost collapsed axis each input is either contiguous or one value
 * repeated. eval runs that axis as a flat loop (both contiguous, or one operand a hoisted
 * scalar) and steps the outer axes with an odometer: same-shape, scalar and last-axis-vector
 * cases need no per-element index arithmetic. */
#include <math.h>

#include "common.h"
#include "int8.h"

enum { K_ADD, K_SUB, K_MUL, K_DIV, K_MAX, K_MIN, K_POW, K_PRELU };

/* fp32 aux: [0] kind, [1] collapsed rank, [2] mask of collapsed axes where a is broadcast,
 * [3] int8 flag (0), [4] same mask for b, [5..10] collapsed dims.
 * int8 aux (binary_int8.c): [0] kind, [1] mode (0 same shape, 1 b repeats every aux[2]
 * elements, 2 general), [2] period, [3] 1, [4..9] a strides, [10..15] b strides. */
enum { A_KIND, A_RANK, A_AMASK, A_INT8, A_BMASK, A_DIMS };

static int32_t dim_at(const edgec_tensor *t, int32_t rank, int32_t i) {
    const int32_t j = i - (rank - t->rank);
    return j >= 0 ? t->dims[j] : 1;
}

static void int8_layout(edgec_node *node, const int64_t *sa, const int64_t *sb) {
    const edgec_tensor *a = node->inputs[0], *b = node->inputs[1], *y = node->outputs[0];
    int32_t i;
    if (a->count == y->count && b->count == y->count) {
        node->aux[1] = 0;
    } else if (a->count == y->count && y->count % b->count == 0) {
        /* b broadcast along leading axes only: its dims equal y's trailing dims */
        int ok = 1, first = 0;
        const int32_t shift = y->rank - b->rank;
        while (first < b->rank - 1 && b->dims[first] == 1) ++first;
        for (i = first; i < b->rank; ++i)
            if (b->dims[i] != y->dims[i + shift] && b->count != 1) ok = 0;
        node->aux[1] = ok ? 1 : 2;
        node->aux[2] = (int64_t)b->count;
    } else {
        node->aux[1] = 2;
    }
    for (i = 0; i < EDGEC_MAX_RANK; ++i) {
        node->aux[4 + i] = i < y->rank ? sa[i] : 0;
        node->aux[10 + i] = i < y->rank ? sb[i] : 0;
    }
}

static void float_layout(edgec_node *node) {
    const edgec_tensor *a = node->inputs[0], *b = node->inputs[1], *y = node->outputs[0];
    int32_t i, nd = 0, prev_a = -1, prev_b = -1;
    int64_t amask = 0, bmask = 0;
    for (i = 0; i < y->rank; ++i) {
        const int32_t ba = dim_at(a, y->rank, i) == 1, bb = dim_at(b, y->rank, i) == 1;
        if (y->dims[i] == 1) continue;
        if (nd > 0 && ba == prev_a && bb == prev_b) {
            node->aux[A_DIMS + nd - 1] *= y->dims[i];
        } else {
            node->aux[A_DIMS + nd] = y->dims[i];
            if (ba) amask |= (int64_t)1 << nd;
            if (bb) bmask |= (int64_t)1 << nd;
            ++nd;
        }
        prev_a = ba;
        prev_b = bb;
    }
    if (nd == 0) node->aux[A_DIMS + nd++] = 1; /* a single element */
    node->aux[A_RANK] = nd;
    node->aux[A_AMASK] = amask;
    node->aux[A_BMASK] = bmask;
}

static edgec_status prepare(edgec_node *node, int kind, const char *op, edgec_error *err) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const edgec_tensor *a, *b, *y;
    int64_t sa[EDGEC_MAX_RANK], sb[EDGEC_MAX_RANK];
    int32_t i;
    edgec_status s = edgec_ops_check_node(node, 2, 2, 1, err);
    if (s) return s;
    a = node->inputs[0];
    b = node->inputs[1];
    y = node->outputs[0];
    node->aux[A_INT8] = a->dtype == EDGEC_DTYPE_INT8;
    if (node->aux[A_INT8]) {
        if ((s = edgec_binary_int8_prepare(node, kind, err))) return s;
    } else if ((s = edgec_ops_check_float(node, op, "float32 (int8: ADD, SUB, MUL)", err)) ||
               (s = edgec_ops_check_act(p->act_min, p->act_max, err))) {
        return s;
    }
    if (a->rank > y->rank || b->rank > y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "inputs of rank %d and %d do not broadcast to rank %d",
                          (int)a->rank, (int)b->rank, (int)y->rank);
    if ((s = edgec_broadcast_strides(a, y->rank, y->dims, sa, err)) ||
        (s = edgec_broadcast_strides(b, y->rank, y->dims, sb, err)))
        return s;
    for (i = 0; i < y->rank; ++i) { /* no output axis grows out of nothing */
        const int32_t da = dim_at(a, y->rank, i), db = dim_at(b, y->rank, i);
        if (y->dims[i] != (da > db ? da : db))
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "output dim %d is %d, broadcasting %d and %d gives %d", (int)i,
                              (int)y->dims[i], (int)da, (int)db, (int)(da > db ? da : db));
    }
    node->aux[A_KIND] = kind;
    if (node->aux[A_INT8]) int8_layout(node, sa, sb);
    else float_layout(node);
    return edgec_ops_set_chunks(node, y->count, err);
}

/* out[k] = clamp(EXPR(u, v)) for k < n, with u = a[k] or a[0] and v = b[k] or b[0] */
#define BINARY_LOOPS(EXPR)                                                                   \
    if (a_step && b_step) {                                                                  \
        for (k = 0; k < n; ++k) {                                                            \
            const float u = a[k], v = b[k];                                                  \
            out[k] = edgec_clampf(EXPR, lo, hi);                                             \
        }                                                                                    \
    } else if (a_step) {                                                                     \
        const float v = b[0];                                                                \
        for (k = 0; k < n; ++k) {                                                            \
            const float u = a[k];                                                            \
            out[k] = edgec_clampf(EXPR, lo, hi);                                             \
        }                                                                                    \
    } else {                                                                                 \
        const float u = a[0];                                                                \
        for (k = 0; k < n; ++k) {                                                            \
            const float v = b[k];                                                            \
            out[k] = edgec_clampf(EXPR, lo, hi);                                             \
        }                                                                                    \
    }

/* One run of n outputs along the innermost collapsed axis; a_step/b_step: 1 contiguous,
 * 0 repeated (never both 0: the axis would have size 1 and been dropped, unless n == 1). */
static void run(int kind, const float *restrict a, int a_step, const float *restrict b,
                int b_step, float *restrict out, ptrdiff_t n, float lo, float hi) {
    ptrdiff_t k;
    if (!a_step && !b_step) a_step = b_step = 1; /* n == 1 */
    switch (kind) {
    case K_ADD: BINARY_LOOPS(u + v) break;
    case K_SUB: BINARY_LOOPS(u - v) break;
    case K_MUL: BINARY_LOOPS(u * v) break;
    case K_DIV: BINARY_LOOPS(u / v) break;
    case K_MAX: BINARY_LOOPS(edgec_maxf(u, v)) break;
    case K_MIN: BINARY_LOOPS(edgec_minf(u, v)) break;
    case K_POW: BINARY_LOOPS(powf(u, v)) break;
    default: BINARY_LOOPS(u >= 0.0f ? u : u * v) break; /* PRELU: v is alpha */
    }
}

static void eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const int64_t *aux = node->aux;
    const int kind = (int)aux[A_KIND];
    const int32_t nd = (int32_t)aux[A_RANK], last = nd - 1;
    const float *a = (const float *)node->inputs[0]->data;
    const float *b = (const float *)node->inputs[1]->data;
    float *y = (float *)node->outputs[0]->data;
    ptrdiff_t dims[EDGEC_MAX_RANK], sa[EDGEC_MAX_RANK], sb[EDGEC_MAX_RANK], idx[EDGEC_MAX_RANK];
    ptrdiff_t i, end, oa = 0, ob = 0, na = 1, nb = 1, rem, inner;
    int32_t d;
    if (aux[A_INT8]) {
        edgec_binary_int8_eval(node, row_begin, row_end);
        return;
    }
    for (d = nd - 1; d >= 0; --d) { /* element strides of a and b per collapsed axis */
        dims[d] = (ptrdiff_t)aux[A_DIMS + d];
        sa[d] = (aux[A_AMASK] >> d & 1) ? 0 : na;
        sb[d] = (aux[A_BMASK] >> d & 1) ? 0 : nb;
        if (sa[d]) na *= dims[d];
        if (sb[d]) nb *= dims[d];
    }
    edgec_ops_chunk_range(row_begin, row_end, node->outputs[0]->count, &i, &end);
    for (rem = i, d = nd - 1; d >= 0; --d) { /* position of the first output of this range */
        idx[d] = rem % dims[d];
        rem /= dims[d];
        oa += idx[d] * sa[d];
        ob += idx[d] * sb[d];
    }
    inner = dims[last];
    while (i < end) {
        const ptrdiff_t n = inner - idx[last] < end - i ? inner - idx[last] : end - i;
        run(kind, a + oa, sa[last] != 0, b + ob, sb[last] != 0, y + i, n, p->act_min, p->act_max);
        i += n;
        idx[last] += n;
        oa += n * sa[last];
        ob += n * sb[last];
        if (idx[last] < inner) break; /* only the range's end stops mid-axis */
        oa -= inner * sa[last];
        ob -= inner * sb[last];
        idx[last] = 0;
        for (d = last - 1; d >= 0; --d) { /* odometer over the outer axes */
            oa += sa[d];
            ob += sb[d];
            if (++idx[d] < dims[d]) break;
            oa -= sa[d] * dims[d];
            ob -= sb[d] * dims[d];
            idx[d] = 0;
        }
    }
}

#define BINARY_OP(name, kind, NAME)                                                          \
    edgec_status edgec_##name##_prepare(edgec_node *node, edgec_error *err) {                \
        return prepare(node, kind, NAME, err);                                               \
    }                                                                                        \
    void edgec_##name##_eval(const edgec_node *node, int32_t row_begin, int32_t row_end,     \
                             void *scratch) {                                                \
        (void)scratch;                                                                       \
        eval(node, row_begin, row_end);                                                      \
    }

BINARY_OP(add, K_ADD, "ADD")
BINARY_OP(sub, K_SUB, "SUB")
BINARY_OP(mul, K_MUL, "MUL")
BINARY_OP(div, K_DIV, "DIV")
BINARY_OP(maximum, K_MAX, "MAXIMUM")
BINARY_OP(minimum, K_MIN, "MINIMUM")
BINARY_OP(pow, K_POW, "POW")
BINARY_OP(prelu, K_PRELU, "PRELU")
