/* Broadcasting binary ops: ADD SUB MUL DIV MAXIMUM MINIMUM POW PRELU (fp32), with a fused
 * activation clamp. Same-shape and "b is a scalar / last-axis vector" run as flat loops;
 * anything else walks the output with per-input broadcast strides (rank <= 6). */
#include <math.h>
#include <string.h>

#include "edgec/kernel.h"
#include "int8.h"

#define CHUNK 4096

enum { K_ADD, K_SUB, K_MUL, K_DIV, K_MAX, K_MIN, K_POW, K_PRELU };
/* aux: [0] kind, [1] mode (0 same, 1 b repeats every aux[2] elements, 2 general),
 *      [2] period of b, [3] int8 (binary_int8.c), [4..9] a strides, [10..15] b strides */

static edgec_status prepare(edgec_node *node, int kind, edgec_error *err) {
    const edgec_tensor *a, *b, *y;
    int64_t sa[EDGEC_MAX_RANK], sb[EDGEC_MAX_RANK];
    int32_t i, shift;
    edgec_status s = edgec_check_counts(node, 2, 2, 1, err);
    if (s) return s;
    a = node->inputs[0];
    b = node->inputs[1];
    y = node->outputs[0];
    node->aux[3] = a->dtype == EDGEC_DTYPE_INT8;
    if (node->aux[3]) {
        if ((s = edgec_binary_int8_prepare(node, kind, err))) return s;
    } else if ((s = edgec_check_dtype(a, EDGEC_DTYPE_FLOAT32, "input 0", err)) ||
               (s = edgec_check_dtype(b, EDGEC_DTYPE_FLOAT32, "input 1", err)) ||
               (s = edgec_check_dtype(y, EDGEC_DTYPE_FLOAT32, "output", err))) {
        return s;
    }
    if (a->rank > y->rank || b->rank > y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "inputs of rank %d and %d do not broadcast to rank %d",
                          a->rank, b->rank, y->rank);
    if ((s = edgec_broadcast_strides(a, y->rank, y->dims, sa, err)) ||
        (s = edgec_broadcast_strides(b, y->rank, y->dims, sb, err)))
        return s;
    /* every output dim must come from an input (no growth out of nothing) */
    for (i = 0; i < y->rank; ++i) {
        int32_t da = i - (y->rank - a->rank) >= 0 ? a->dims[i - (y->rank - a->rank)] : 1;
        int32_t db = i - (y->rank - b->rank) >= 0 ? b->dims[i - (y->rank - b->rank)] : 1;
        if (y->dims[i] != (da > db ? da : db))
            return edgec_fail(err, EDGEC_ERR_INVALID, "output dim %d is %d, broadcast of inputs gives %d", i,
                              y->dims[i], da > db ? da : db);
    }
    node->aux[0] = kind;
    if (a->count == y->count && b->count == y->count) {
        node->aux[1] = 0;
    } else if (a->count == y->count && y->count % b->count == 0) {
        /* b broadcast along leading axes only: its dims equal y's trailing dims */
        int ok = 1, first = 0;
        while (first < b->rank - 1 && b->dims[first] == 1) ++first; /* leading 1s broadcast */
        shift = y->rank - b->rank;
        for (i = first; i < b->rank; ++i) {
            if (b->dims[i] != y->dims[i + shift] && b->count != 1) ok = 0;
        }
        node->aux[1] = ok ? 1 : 2;
        node->aux[2] = (int64_t)b->count;
    } else {
        node->aux[1] = 2;
    }
    for (i = 0; i < EDGEC_MAX_RANK; ++i) {
        node->aux[4 + i] = i < y->rank ? sa[i] : 0;
        node->aux[10 + i] = i < y->rank ? sb[i] : 0;
    }
    node->rows = (int32_t)((y->count + CHUNK - 1) / CHUNK);
    return EDGEC_OK;
}

static float apply(int kind, float a, float b) {
    switch (kind) {
    case K_ADD: return a + b;
    case K_SUB: return a - b;
    case K_MUL: return a * b;
    case K_DIV: return a / b;
    case K_MAX: return a > b ? a : b;
    case K_MIN: return a < b ? a : b;
    case K_POW: return powf(a, b);
    default: return a >= 0.0f ? a : a * b; /* PRELU: b is alpha */
    }
}

static void eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const edgec_tensor *ta = node->inputs[0], *tb = node->inputs[1], *ty = node->outputs[0];
    const float *restrict a = (const float *)ta->data, *restrict b = (const float *)tb->data;
    float *restrict y = (float *)ty->data;
    const float lo = p->act_min, hi = p->act_max;
    const int kind = (int)node->aux[0];
    size_t i = (size_t)row_begin * CHUNK, end = (size_t)row_end * CHUNK;
    if (node->aux[3]) {
        edgec_binary_int8_eval(node, row_begin, row_end);
        return;
    }
    if (end > ty->count) end = ty->count;
    if (node->aux[1] == 0 && kind == K_ADD) {
        for (; i < end; ++i) {
            float v = a[i] + b[i];
            y[i] = v < lo ? lo : (v > hi ? hi : v);
        }
    } else if (node->aux[1] == 0 && kind == K_MUL) {
        for (; i < end; ++i) {
            float v = a[i] * b[i];
            y[i] = v < lo ? lo : (v > hi ? hi : v);
        }
    } else if (node->aux[1] < 2) {
        const size_t period = node->aux[1] == 0 ? (size_t)-1 : (size_t)node->aux[2];
        size_t j = node->aux[1] == 0 ? i : i % period;
        for (; i < end; ++i) {
            float v = apply(kind, a[i], b[node->aux[1] == 0 ? i : j]);
            y[i] = v < lo ? lo : (v > hi ? hi : v);
            if (++j == period) j = 0;
        }
    } else {
        const int32_t rank = ty->rank;
        int32_t idx[EDGEC_MAX_RANK], d;
        size_t rem = i;
        int64_t oa = 0, ob = 0;
        for (d = rank - 1; d >= 0; --d) {
            idx[d] = (int32_t)(rem % (size_t)ty->dims[d]);
            rem /= (size_t)ty->dims[d];
            oa += idx[d] * node->aux[4 + d];
            ob += idx[d] * node->aux[10 + d];
        }
        for (; i < end; ++i) {
            float v = apply(kind, a[oa], b[ob]);
            y[i] = v < lo ? lo : (v > hi ? hi : v);
            for (d = rank - 1; d >= 0; --d) { /* odometer increment */
                oa += node->aux[4 + d];
                ob += node->aux[10 + d];
                if (++idx[d] < ty->dims[d]) break;
                oa -= node->aux[4 + d] * ty->dims[d];
                ob -= node->aux[10 + d] * ty->dims[d];
                idx[d] = 0;
            }
        }
    }
}

#define BINARY_OP(name, kind)                                                                     \
    edgec_status edgec_##name##_prepare(edgec_node *node, edgec_error *err) {                     \
        return prepare(node, kind, err);                                                          \
    }                                                                                             \
    void edgec_##name##_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *s) { \
        (void)s;                                                                                  \
        eval(node, row_begin, row_end);                                                           \
    }

BINARY_OP(add, K_ADD)
BINARY_OP(sub, K_SUB)
BINARY_OP(mul, K_MUL)
BINARY_OP(div, K_DIV)
BINARY_OP(maximum, K_MAX)
BINARY_OP(minimum, K_MIN)
BINARY_OP(pow, K_POW)
BINARY_OP(prelu, K_PRELU)
