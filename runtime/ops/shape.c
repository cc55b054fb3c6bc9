/* Data movement, any element type (quantized tensors must keep scale and zero point):
 * RESHAPE (a copy; rows are 64 KiB chunks), TRANSPOSE (rank <= 6; rows are output rows
 * along the last axis), DEPTH_TO_SPACE (NHWC, DCR or CRD; rows are output rows n, oy). */
#include <string.h>

#include "common.h"

#define COPY_CHUNK 65536 /* RESHAPE bytes per row */

static edgec_status same_type(const edgec_node *node, edgec_error *err) {
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    if (x->dtype != y->dtype)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input is %s, output %s", edgec_dtype_name(x->dtype),
                          edgec_dtype_name(y->dtype));
    if (x->count != y->count)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input has %llu elements, output %llu",
                          (unsigned long long)x->count, (unsigned long long)y->count);
    if (x->dtype != EDGEC_DTYPE_FLOAT32 && (x->scale != y->scale || x->zero_point != y->zero_point))
        return edgec_fail(err, EDGEC_ERR_INVALID, "input quantization (%g, %d) differs from the output's (%g, %d)",
                          (double)x->scale, (int)x->zero_point, (double)y->scale, (int)y->zero_point);
    return EDGEC_OK;
}

/* n elements of es bytes from src (src_step elements apart) to contiguous dst; fixed-size
 * memcpy compiles to plain loads and stores */
static void gather(uint8_t *restrict dst, const uint8_t *restrict src, ptrdiff_t src_step, ptrdiff_t n,
                   size_t es) {
    const ptrdiff_t step = src_step * (ptrdiff_t)es;
    ptrdiff_t k;
    if (src_step == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1: for (k = 0; k < n; ++k) dst[k] = src[k * step]; break;
    case 2: for (k = 0; k < n; ++k) memcpy(dst + 2 * k, src + k * step, 2); break;
    case 4: for (k = 0; k < n; ++k) memcpy(dst + 4 * k, src + k * step, 4); break;
    case 8: for (k = 0; k < n; ++k) memcpy(dst + 8 * k, src + k * step, 8); break;
    default: for (k = 0; k < n; ++k) memcpy(dst + (size_t)k * es, src + k * step, es); break;
    }
}

edgec_status edgec_reshape_prepare(edgec_node *node, edgec_error *err) {
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s || (s = same_type(node, err))) return s;
    return edgec_ops_set_rows(node, (int64_t)((node->outputs[0]->nbytes + COPY_CHUNK - 1) / COPY_CHUNK), err);
}

void edgec_reshape_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const size_t nbytes = node->outputs[0]->nbytes;
    const size_t begin = (size_t)row_begin * COPY_CHUNK;
    const size_t end = (size_t)row_end * COPY_CHUNK < nbytes ? (size_t)row_end * COPY_CHUNK : nbytes;
    (void)scratch;
    if (node->outputs[0]->data != node->inputs[0]->data && begin < end)
        memcpy(node->outputs[0]->data + begin, node->inputs[0]->data + begin, end - begin);
}

/* TRANSPOSE aux: [0] rank (>= 1), [1..6] input element stride per output axis, [7] element size,
 * [8] output dims per row: 1, or 2 when the last dim is short (NCHW -> NHWC of an image: rows
 * of 3 values would spend more on finding their source than on copying) */
edgec_status edgec_transpose_prepare(edgec_node *node, edgec_error *err) {
    const edgec_transpose_params *p = (const edgec_transpose_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t xstride[EDGEC_MAX_RANK], st = 1;
    int32_t i, seen = 0, rank;
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s || (s = same_type(node, err))) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    if (x->rank != y->rank)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input rank %d, output rank %d", (int)x->rank, (int)y->rank);
    for (i = x->rank - 1; i >= 0; --i) {
        xstride[i] = st;
        st *= x->dims[i];
    }
    for (i = 0; i < x->rank; ++i) {
        if (p->perm[i] < 0 || p->perm[i] >= x->rank || (seen >> p->perm[i] & 1))
            return edgec_fail(err, EDGEC_ERR_INVALID, "perm[%d] = %d: perm is not a permutation of 0..%d",
                              (int)i, (int)p->perm[i], (int)x->rank - 1);
        seen |= 1 << p->perm[i];
        if (y->dims[i] != x->dims[p->perm[i]])
            return edgec_fail(err, EDGEC_ERR_INVALID, "output dim %d is %d, input dim perm[%d] = %d is %d",
                              (int)i, (int)y->dims[i], (int)i, (int)p->perm[i], (int)x->dims[p->perm[i]]);
        node->aux[1 + i] = xstride[p->perm[i]];
    }
    rank = x->rank > 0 ? x->rank : 1;
    if (x->rank == 0) node->aux[1] = 1;
    node->aux[0] = rank;
    node->aux[7] = (int64_t)edgec_dtype_size(x->dtype);
    node->aux[8] = x->rank >= 2 && y->dims[rank - 1] < 16 ? 2 : 1;
    if (y->count == 0) return edgec_ops_set_rows(node, 0, err);
    return edgec_ops_set_rows(node, (int64_t)y->count / (x->rank > 0 ? y->dims[rank - 1] : 1) /
                                        (node->aux[8] == 2 ? y->dims[rank - 2] : 1), err);
}

void edgec_transpose_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const int32_t rank = (int32_t)node->aux[0], last = rank - 1, two = node->aux[8] == 2;
    const int32_t outer = two ? last - 1 : last; /* dims [0, outer) pick the row */
    const size_t es = (size_t)node->aux[7];
    const ptrdiff_t n = y->rank > 0 ? y->dims[last] : 1, inner = two ? y->dims[last - 1] : 1;
    const ptrdiff_t inner_step = two ? (ptrdiff_t)node->aux[last] : 0;
    int32_t row, d;
    ptrdiff_t i;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        ptrdiff_t src = 0;
        int32_t rem = row;
        uint8_t *dst = y->data + (size_t)row * (size_t)(inner * n) * es;
        for (d = outer - 1; d >= 0; --d) {
            src += (rem % y->dims[d]) * (ptrdiff_t)node->aux[1 + d];
            rem /= y->dims[d];
        }
        for (i = 0; i < inner; ++i, dst += (size_t)n * es)
            gather(dst, x->data + (size_t)(src + i * inner_step) * es, (ptrdiff_t)node->aux[1 + last], n, es);
    }
}

edgec_status edgec_depth_to_space_prepare(edgec_node *node, edgec_error *err) {
    const edgec_depth_to_space_params *p = (const edgec_depth_to_space_params *)node->params;
    const edgec_tensor *x, *y;
    int64_t b, bb;
    edgec_status s = edgec_ops_check_node(node, 1, 1, 1, err);
    if (s || (s = same_type(node, err))) return s;
    x = node->inputs[0];
    y = node->outputs[0];
    b = p->block_size;
    bb = b * b;
    if (x->rank != 4 || y->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input and output must be NHWC (rank 4), got ranks %d and %d",
                          (int)x->rank, (int)y->rank);
    if (b < 1 || (p->mode != 0 && p->mode != 1))
        return edgec_fail(err, EDGEC_ERR_INVALID, "block_size %d must be >= 1 and mode %d must be 0 (DCR) or 1 (CRD)",
                          (int)p->block_size, (int)p->mode);
    if (x->dims[3] % bb || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] * b ||
        y->dims[2] != x->dims[2] * b || y->dims[3] != x->dims[3] / bb)
        return edgec_fail(err, EDGEC_ERR_INVALID, "[%d,%d,%d,%d] with block_size %lld does not give [%d,%d,%d,%d]",
                          (int)x->dims[0], (int)x->dims[1], (int)x->dims[2], (int)x->dims[3], (long long)b,
                          (int)y->dims[0], (int)y->dims[1], (int)y->dims[2], (int)y->dims[3]);
    return edgec_ops_set_rows(node, (int64_t)y->dims[0] * y->dims[1], err);
}

void edgec_depth_to_space_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_depth_to_space_params *p = (const edgec_depth_to_space_params *)node->params;
    const edgec_tensor *x = node->inputs[0], *y = node->outputs[0];
    const size_t es = edgec_dtype_size(y->dtype);
    const int32_t b = p->block_size, OH = y->dims[1], OC = y->dims[3];
    const int32_t H = x->dims[1], W = x->dims[2], C = x->dims[3];
    int32_t row;
    (void)scratch;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row - n * OH, h = oy / b, i = oy - h * b;
        const uint8_t *src = x->data + (((size_t)n * H + h) * W) * C * es;
        uint8_t *dst = y->data + (size_t)row * W * b * OC * es;
        int32_t w, j;
        for (w = 0; w < W; ++w, src += (size_t)C * es) {
            for (j = 0; j < b; ++j, dst += (size_t)OC * es) {
                if (p->mode == 0) /* DCR: channels (i*b + j)*OC .. + OC */
                    memcpy(dst, src + (size_t)(i * b + j) * OC * es, (size_t)OC * es);
                else /* CRD: channel c*b*b + i*b + j */
                    gather(dst, src + (size_t)(i * b + j) * es, (ptrdiff_t)b * b, OC, es);
            }
        }
    }
}
