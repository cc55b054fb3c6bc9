/* int8 ADD / SUB / MUL with broadcasting, TFLite's reference integer arithmetic:
 * ADD/SUB rescale both inputs to a common scale after << left_shift (20), add, rescale
 * the sum; MUL multiplies the offset inputs and rescales once. */
#include "edgec/fixedpoint.h"
#include "int8.h"
#include "iterate.h"

#define CHUNK 4096
enum { K_ADD = 0, K_SUB = 1, K_MUL = 2 };

edgec_status edgec_binary_int8_prepare(edgec_node *node, int kind, edgec_error *err) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const edgec_tensor *a = node->inputs[0], *b = node->inputs[1], *y = node->outputs[0];
    if (kind > K_MUL)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 is supported for ADD, SUB and MUL only");
    if (a->dtype != EDGEC_DTYPE_INT8 || b->dtype != EDGEC_DTYPE_INT8 || y->dtype != EDGEC_DTYPE_INT8)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "int8 binary op needs int8 inputs and output, got %s, %s -> %s",
                          edgec_dtype_name(a->dtype), edgec_dtype_name(b->dtype), edgec_dtype_name(y->dtype));
    if (p->left_shift < 0 || p->left_shift > 20 || p->in1_shift > 0 || p->in2_shift > 0 || p->out_shift > 30 ||
        p->in1_shift < -31 || p->in2_shift < -31 || p->out_shift < -31 || (kind != K_MUL && p->out_shift > 0))
        return edgec_fail(err, EDGEC_ERR_INVALID, "requantization shifts out of range");
    return EDGEC_OK;
}

static int32_t apply(const edgec_binary_params *p, int kind, int32_t a, int32_t b, int32_t za, int32_t zb, int32_t zy) {
    int32_t v;
    if (kind == K_MUL) {
        v = edgec_mbqm((a - za) * (b - zb), p->out_multiplier, p->out_shift) + zy;
    } else {
        const int32_t sa = edgec_mbqm_small((a - za) * (1 << p->left_shift), p->in1_multiplier, p->in1_shift);
        const int32_t sb = edgec_mbqm_small((b - zb) * (1 << p->left_shift), p->in2_multiplier, p->in2_shift);
        v = edgec_mbqm_small(kind == K_ADD ? sa + sb : sa - sb, p->out_multiplier, p->out_shift) + zy;
    }
    return edgec_clamp_i32(v, p->q_min, p->q_max);
}

/* aux layout from binary.c: [0] kind, [1] mode (0 same, 1 periodic b, 2 general), [2] period,
 * [4..9] a strides, [10..15] b strides */
void edgec_binary_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_binary_params *p = (const edgec_binary_params *)node->params;
    const edgec_tensor *ta = node->inputs[0], *tb = node->inputs[1], *ty = node->outputs[0];
    const int8_t *a = (const int8_t *)ta->data, *b = (const int8_t *)tb->data;
    int8_t *y = (int8_t *)ty->data;
    const int kind = (int)node->aux[0];
    const int32_t za = ta->zero_point, zb = tb->zero_point, zy = ty->zero_point;
    size_t i = (size_t)row_begin * CHUNK, end = (size_t)row_end * CHUNK;
    if (end > ty->count) end = ty->count;
    if (node->aux[1] < 2) {
        const size_t period = node->aux[1] == 0 ? ty->count : (size_t)node->aux[2];
        size_t j = i % period;
        for (; i < end; ++i) {
            y[i] = (int8_t)apply(p, kind, a[i], b[j], za, zb, zy);
            if (++j == period) j = 0;
        }
    } else {
        edgec_broadcast_iter it;
        edgec_broadcast_begin(&it, ty, &node->aux[4], &node->aux[10], i);
        for (; i < end; ++i) {
            y[i] = (int8_t)apply(p, kind, a[it.a], b[it.b], za, zb, zy);
            edgec_broadcast_next(&it, ty, &node->aux[4], &node->aux[10]);
        }
    }
}
