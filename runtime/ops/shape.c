/* Data movement, any element size: RESHAPE (a copy), TRANSPOSE (rank <= 6),
 * DEPTH_TO_SPACE (NHWC, DCR or CRD order). */
#include <string.h>

#include "edgec/kernel.h"

static edgec_status same_type(const edgec_node *node, edgec_error *err) {
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    if (x->dtype != y->dtype)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input is %s, output %s", edgec_dtype_name(x->dtype),
                          edgec_dtype_name(y->dtype));
    if (x->count != y->count)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input has %llu elements, output %llu",
                          (unsigned long long)x->count, (unsigned long long)y->count);
    return EDGEC_OK;
}

edgec_status edgec_reshape_prepare(edgec_node *node, edgec_error *err) {
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s || (s = same_type(node, err))) return s;
    node->rows = 1;
    return EDGEC_OK;
}

void edgec_reshape_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    (void)row_begin; (void)row_end; (void)scratch;
    if (node->outputs[0]->data != node->inputs[0]->data)
        memcpy(node->outputs[0]->data, node->inputs[0]->data, node->outputs[0]->nbytes);
}

edgec_status edgec_transpose_prepare(edgec_node *node, edgec_error *err) {
    const edgec_transpose_params *p = (const edgec_transpose_params *)node->params;
    const edgec_tensor *x, *y;
    int32_t i, seen = 0;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s || (s = same_type(node, err))) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->rank != y->rank) return edgec_fail(err, EDGEC_ERR_INVALID, "ranks differ: %d vs %d", x->rank, y->rank);
    for (i = 0; i < x->rank; ++i) {
        if (p->perm[i] < 0 || p->perm[i] >= x->rank || (seen & (1 << p->perm[i])))
            return edgec_fail(err, EDGEC_ERR_INVALID, "perm is not a permutation of 0..%d", x->rank - 1);
        seen |= 1 << p->perm[i];
        if (y->dims[i] != x->dims[p->perm[i]])
            return edgec_fail(err, EDGEC_ERR_INVALID, "output dim %d is %d, expected %d", i, y->dims[i], x->dims[p->perm[i]]);
    }
    node->rows = 1;
    return EDGEC_OK;
}

void edgec_transpose_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_transpose_params *p = (const edgec_transpose_params *)node->params;
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const size_t es = y->nbytes / y->count;
    const int32_t rank = y->rank;
    int64_t xstride[EDGEC_MAX_RANK], ostride[EDGEC_MAX_RANK], s = 1, src = 0;
    int32_t idx[EDGEC_MAX_RANK] = {0}, d;
    size_t o;
    (void)row_begin; (void)row_end; (void)scratch;
    for (d = rank - 1; d >= 0; --d) {
        xstride[d] = s;
        s *= x->dims[d];
    }
    for (d = 0; d < rank; ++d) ostride[d] = xstride[p->perm[d]]; /* input step per output axis */
    for (o = 0; o < y->count; ++o) {
        if (es == 4) ((uint32_t *)y->data)[o] = ((const uint32_t *)x->data)[src];
        else memcpy(y->data + o * es, x->data + (size_t)src * es, es);
        for (d = rank - 1; d >= 0; --d) {
            src += ostride[d];
            if (++idx[d] < y->dims[d]) break;
            src -= ostride[d] * y->dims[d];
            idx[d] = 0;
        }
    }
}

edgec_status edgec_depth_to_space_prepare(edgec_node *node, edgec_error *err) {
    const edgec_depth_to_space_params *p = (const edgec_depth_to_space_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t b;
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s || (s = same_type(node, err))) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    b = p->block_size;
    if (x->rank != 4 || y->rank != 4 || b < 1 || (p->mode != 0 && p->mode != 1))
        return edgec_fail(err, EDGEC_ERR_INVALID, "needs NHWC tensors, block_size >= 1 and mode 0/1");
    if (x->dims[3] % (b * b) || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] * b ||
        y->dims[2] != x->dims[2] * b || y->dims[3] != x->dims[3] / (b * b))
        return edgec_fail(err, EDGEC_ERR_INVALID, "[%d,%d,%d,%d] with block %lld does not give [%d,%d,%d,%d]",
                          x->dims[0], x->dims[1], x->dims[2], x->dims[3], (long long)b, y->dims[0], y->dims[1],
                          y->dims[2], y->dims[3]);
    node->rows = y->dims[0] * y->dims[1];
    return EDGEC_OK;
}

void edgec_depth_to_space_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_depth_to_space_params *p = (const edgec_depth_to_space_params *)node->params;
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const size_t es = y->nbytes / y->count;
    const int32_t b = p->block_size, OH = y->dims[1], OW = y->dims[2], OC = y->dims[3];
    const int32_t H = x->dims[1], W = x->dims[2], C = x->dims[3];
    int32_t row;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH, h = oy / b, i = oy % b;
        int32_t ox, c;
        for (ox = 0; ox < OW; ++ox) {
            const int32_t w = ox / b, j = ox % b;
            const uint8_t *src = x->data + ((((size_t)n * H + h) * W + w) * C) * es;
            uint8_t *dst = y->data + ((((size_t)n * OH + oy) * OW + ox) * OC) * es;
            if (p->mode == 0) {
                memcpy(dst, src + (size_t)(i * b + j) * OC * es, (size_t)OC * es);
            } else {
                for (c = 0; c < OC; ++c) memcpy(dst + (size_t)c * es, src + ((size_t)c * b * b + i * b + j) * es, es);
            }
        }
    }
}
