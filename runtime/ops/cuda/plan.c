/* Which prepared nodes the CUDA kernels (kernels.cuh) run, and their launch arguments.
 * edgec_cu_plan reads what the CPU prepare already checked and derived (node->aux in
 * conv.c / matmul.c / binary.c's layouts), so a node it claims has passed the same
 * checks as on the CPU; anything it does not claim (broadcasting, DIV, pooling, ...) runs
 * on the CPU kernels over the same memory. */
#include <string.h>

#include "cuda_plan.h"

enum {
#define EDGEC_OP(NAME, CODE, PARAMS, KERNEL) OP_##NAME = CODE,
#include "edgec/ops.def"
#undef EDGEC_OP
    OP_END_
};

/* conv.c's aux layout (shared with conv_int8.c) */
enum { A_N, A_H, A_W, A_C, A_OH, A_OW, A_OC, A_KH, A_KW, A_ICG, A_OCG, A_INT8 };

static const void *data_of(const edgec_node *node, int32_t i) {
    return i < node->input_count && node->inputs[i] ? node->inputs[i]->data : 0;
}

static void conv_geometry(const edgec_node *node, edgec_cu_args *a) {
    const int64_t *x = node->aux;
    a->n = (int32_t)x[A_N], a->h = (int32_t)x[A_H], a->w_ = (int32_t)x[A_W], a->c = (int32_t)x[A_C];
    a->oh = (int32_t)x[A_OH], a->ow = (int32_t)x[A_OW], a->oc = (int32_t)x[A_OC];
    a->kh = (int32_t)x[A_KH], a->kw = (int32_t)x[A_KW], a->icg = (int32_t)x[A_ICG], a->ocg = (int32_t)x[A_OCG];
}

static void int8_io(const edgec_node *node, edgec_cu_args *a, int32_t q_min, int32_t q_max) {
    a->x_zp = node->inputs[0]->zero_point;
    a->y_zp = node->outputs[0]->zero_point;
    a->q_min = q_min;
    a->q_max = q_max;
    a->mult = (const int32_t *)data_of(node, 3);
    a->shift = (const int32_t *)data_of(node, 4);
}

static int same_shape(const edgec_tensor *t, const edgec_tensor *y) {
    int32_t d;
    if (t->rank != y->rank) return 0;
    for (d = 0; d < t->rank; ++d)
        if (t->dims[d] != y->dims[d]) return 0;
    return 1;
}

int32_t edgec_cu_plan(const edgec_node *node, edgec_cu_args *a, int64_t *total) {
    const edgec_tensor *y = node->outputs[0];
    memset(a, 0, sizeof(*a));
    a->x = data_of(node, 0);
    a->w = data_of(node, 1);
    a->bias = data_of(node, 2);
    a->y = y->data;
    *total = (int64_t)y->count;
    switch (node->opcode) {
    case OP_CONV2D: {
        const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
        conv_geometry(node, a);
        a->sh = p->stride_h, a->sw = p->stride_w, a->dh = p->dilation_h, a->dw = p->dilation_w;
        a->pt = p->pad_top, a->pl = p->pad_left, a->lo = p->act_min, a->hi = p->act_max;
        if (!node->aux[A_INT8]) {
            a->res = data_of(node, 3);
            a->rc = a->res ? node->inputs[3]->dims[3] : 0;
            return EDGEC_CU_conv_f32;
        }
        int8_io(node, a, p->q_min, p->q_max);
        return EDGEC_CU_conv_i8;
    }
    case OP_DEPTHWISE_CONV2D: {
        const edgec_depthwise_conv2d_params *p = (const edgec_depthwise_conv2d_params *)node->params;
        conv_geometry(node, a);
        a->sh = p->stride_h, a->sw = p->stride_w, a->dh = p->dilation_h, a->dw = p->dilation_w;
        a->pt = p->pad_top, a->pl = p->pad_left, a->lo = p->act_min, a->hi = p->act_max;
        if (!node->aux[A_INT8]) return EDGEC_CU_dw_f32;
        int8_io(node, a, p->q_min, p->q_max);
        return EDGEC_CU_dw_i8;
    }
    case OP_FULLY_CONNECTED: { /* matmul.c aux: [0] M, [1] N, [2] K, [3] int8 */
        const edgec_fully_connected_params *p = (const edgec_fully_connected_params *)node->params;
        a->oh = (int32_t)node->aux[0], a->oc = (int32_t)node->aux[1], a->c = (int32_t)node->aux[2];
        a->lo = p->act_min, a->hi = p->act_max;
        if (!node->aux[3]) return EDGEC_CU_fc_f32;
        int8_io(node, a, p->q_min, p->q_max);
        a->kind = p->requant;
        a->x_scale = node->inputs[0]->scale;
        a->y_scale = y->scale;
        return EDGEC_CU_fc_i8;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_MAXIMUM: case OP_MINIMUM: {
        const edgec_binary_params *p = (const edgec_binary_params *)node->params;
        const int int8 = node->inputs[0]->dtype == EDGEC_DTYPE_INT8;
        if (!same_shape(node->inputs[0], y) || !same_shape(node->inputs[1], y)) return -1;
        a->b = node->inputs[1]->data;
        a->bias = 0;
        a->w = 0;
        a->kind = (int32_t)node->aux[0]; /* binary.c's K_* */
        a->lo = p->act_min, a->hi = p->act_max;
        if (!int8) return EDGEC_CU_binary_f32;
        a->x_zp = node->inputs[0]->zero_point, a->b_zp = node->inputs[1]->zero_point, a->y_zp = y->zero_point;
        a->q_min = p->q_min, a->q_max = p->q_max, a->left_shift = p->left_shift;
        a->m1 = p->in1_multiplier, a->s1 = p->in1_shift, a->m2 = p->in2_multiplier, a->s2 = p->in2_shift;
        a->om = p->out_multiplier, a->os = p->out_shift;
        return EDGEC_CU_binary_i8;
    }
    default:
        return -1;
    }
}
