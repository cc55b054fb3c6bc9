/* int8 REDUCE (MEAN), TFLite's reference paths, chosen by the converter (q_mode):
 *   0 integer mean (QuantizedMeanOrSum): y = MBQM(sum - x_zp * count, q_multiplier, q_shift) + y_zp,
 *     the multiplier already folding in 1/count
 *   1 same quantization in and out: y = sum / count (integer division truncating toward zero)
 * Results clamp to [-128, 127]. */
#include "edgec/fixedpoint.h"
#include "int8.h"

/* aux (from reduce.c): [0] rank, [1..6] dims, [7] reduced count, [8] kind, [9] mask */

edgec_status edgec_reduce_int8_prepare(edgec_node *node, edgec_error *err) {
    const edgec_reduce_params *p = (const edgec_reduce_params *)node->params;
    if (node->outputs[0]->dtype != EDGEC_DTYPE_INT8 || p->kind != EDGEC_REDUCE_MEAN)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 REDUCE supports MEAN to int8 only");
    if (p->q_mode < 0 || p->q_mode > 1 || (p->q_mode == 0 && (p->q_shift < -31 || p->q_shift > 30)))
        return edgec_fail(err, EDGEC_ERR_INVALID, "int8 MEAN mode %d / shift %d invalid", (int)p->q_mode, (int)p->q_shift);
    if (node->aux[7] > (1 << 22))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 MEAN over %lld values would overflow int32",
                          (long long)node->aux[7]);
    return EDGEC_OK;
}

static int8_t finish(const edgec_reduce_params *p, int32_t acc, int32_t count, int32_t x_zp, int32_t y_zp) {
    if (p->q_mode == 0)
        return (int8_t)edgec_clamp_i32(edgec_mbqm(acc - x_zp * count, p->q_multiplier, p->q_shift) + y_zp, -128, 127);
    return (int8_t)edgec_clamp_i32(acc / count, -128, 127);
}

/* The reduced axes form one contiguous block (e.g. H, W of NHWC): y[o, i] = sum over r of
 * x[o, r, i], summed 256 inner elements at a time with contiguous, vectorizable loops.
 * Integer sums, so the order does not change a bit. Returns 0 when the mask is not one
 * block. */
static int reduce_block(const edgec_node *node) {
    const edgec_reduce_params *p = (const edgec_reduce_params *)node->params;
    const int32_t rank = (int32_t)node->aux[0], mask = (int32_t)node->aux[9];
    const int32_t count = (int32_t)node->aux[7];
    const int8_t *x = (const int8_t *)node->inputs[0]->data;
    int8_t *y = (int8_t *)node->outputs[0]->data;
    const int32_t x_zp = node->inputs[0]->zero_point, y_zp = node->outputs[0]->zero_point;
    int64_t outer = 1, inner = 1, o, i0, r, i;
    int32_t d, first = -1, last = -1;
    for (d = 0; d < rank; ++d)
        if (mask & (1 << d)) {
            if (first < 0) first = d;
            else if (last != d - 1) return 0;
            last = d;
        }
    if (first < 0) return 0;
    for (d = 0; d < first; ++d) outer *= node->aux[1 + d];
    for (d = last + 1; d < rank; ++d) inner *= node->aux[1 + d];
    for (o = 0; o < outer; ++o)
        for (i0 = 0; i0 < inner; i0 += 256) {
            const int64_t n = inner - i0 < 256 ? inner - i0 : 256;
            int32_t acc[256] = {0};
            for (r = 0; r < count; ++r) {
                const int8_t *xr = x + (o * count + r) * inner + i0;
                for (i = 0; i < n; ++i) acc[i] += xr[i];
            }
            for (i = 0; i < n; ++i) y[o * inner + i0 + i] = finish(p, acc[i], count, x_zp, y_zp);
        }
    return 1;
}

void edgec_reduce_int8_eval(const edgec_node *node) {
    const edgec_reduce_params *p = (const edgec_reduce_params *)node->params;
    const int32_t rank = (int32_t)node->aux[0], mask = (int32_t)node->aux[9];
    const int32_t count = (int32_t)node->aux[7];
    const int8_t *restrict x = (const int8_t *)node->inputs[0]->data;
    int8_t *restrict y = (int8_t *)node->outputs[0]->data;
    const size_t n_out = node->outputs[0]->count;
    const int32_t x_zp = node->inputs[0]->zero_point, y_zp = node->outputs[0]->zero_point;
    int32_t d;
    size_t i, o;
    if (reduce_block(node)) return;
    {
        /* for each output element, walk its reduced sub-box */
        int64_t stride[EDGEC_MAX_RANK], st = 1;
        int32_t kept_dims[EDGEC_MAX_RANK], red_dims[EDGEC_MAX_RANK], nk = 0, nr = 0;
        int64_t kept_stride[EDGEC_MAX_RANK], red_stride[EDGEC_MAX_RANK];
        for (d = rank - 1; d >= 0; --d) {
            stride[d] = st;
            st *= node->aux[1 + d];
        }
        for (d = 0; d < rank; ++d) {
            if (mask & (1 << d)) {
                red_dims[nr] = (int32_t)node->aux[1 + d];
                red_stride[nr++] = stride[d];
            } else {
                kept_dims[nk] = (int32_t)node->aux[1 + d];
                kept_stride[nk++] = stride[d];
            }
        }
        for (o = 0; o < n_out; ++o) {
            int64_t base = 0, rem = (int64_t)o;
            int32_t ridx[EDGEC_MAX_RANK] = {0}, acc = 0;
            for (d = nk - 1; d >= 0; --d) {
                base += (rem % kept_dims[d]) * kept_stride[d];
                rem /= kept_dims[d];
            }
            for (i = 0; i < (size_t)count; ++i) {
                int64_t off = base;
                for (d = 0; d < nr; ++d) off += ridx[d] * red_stride[d];
                acc += x[off];
                for (d = nr - 1; d >= 0; --d) {
                    if (++ridx[d] < red_dims[d]) break;
                    ridx[d] = 0;
                }
            }
            y[o] = finish(p, acc, count, x_zp, y_zp);
        }
    }
}
