/* Element-wise activations, fp32: CLAMP, LEAKY_RELU, GELU, UNARY (by kind; OPS.md).
 * Rows are chunks of EDGEC_CHUNK elements of the flat tensor. int8 activations are LOOKUP
 * tables made by the converter, not these kernels. */
#include <math.h>

#include "common.h"
#include "vmath.h"

static edgec_status prepare_elementwise(edgec_node *node, const char *op, edgec_error *err) {
    edgec_status s;
    if ((s = edgec_ops_check_node(node, 1, 1, 1, err)) ||
        (s = edgec_ops_check_float(node, op, "float32 (int8 runs as a LOOKUP table)", err)))
        return s;
    if (node->inputs[0]->count != node->outputs[0]->count)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input has %llu elements, output %llu",
                          (unsigned long long)node->inputs[0]->count,
                          (unsigned long long)node->outputs[0]->count);
    return edgec_ops_set_chunks(node, node->outputs[0]->count, err);
}

edgec_status edgec_clamp_prepare(edgec_node *node, edgec_error *err) {
    const edgec_clamp_params *p = (const edgec_clamp_params *)node->params;
    if (p->min != p->min || p->max != p->max)
        return edgec_fail(err, EDGEC_ERR_INVALID, "clamp range [%g, %g] has a NaN bound",
                          (double)p->min, (double)p->max);
    return prepare_elementwise(node, "CLAMP", err);
}

void edgec_clamp_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_clamp_params *p = (const edgec_clamp_params *)node->params;
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    const float lo = p->min, hi = p->max;
    ptrdiff_t i, end;
    (void)scratch;
    edgec_ops_chunk_range(row_begin, row_end, node->outputs[0]->count, &i, &end);
    for (; i < end; ++i) y[i] = edgec_clampf(x[i], lo, hi);
}

edgec_status edgec_leaky_relu_prepare(edgec_node *node, edgec_error *err) {
    return prepare_elementwise(node, "LEAKY_RELU", err);
}

void edgec_leaky_relu_eval(const edgec_node *node, int32_t row_begin, int32_t row_end,
                           void *scratch) {
    const float alpha = ((const edgec_leaky_relu_params *)node->params)->alpha;
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    ptrdiff_t i, end;
    (void)scratch;
    edgec_ops_chunk_range(row_begin, row_end, node->outputs[0]->count, &i, &end);
    for (; i < end; ++i) y[i] = x[i] >= 0.0f ? x[i] : x[i] * alpha;
}

edgec_status edgec_gelu_prepare(edgec_node *node, edgec_error *err) {
    const edgec_gelu_params *p = (const edgec_gelu_params *)node->params;
    if (p->approximate != 0 && p->approximate != 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "approximate is %d, expected 0 (erf) or 1 (tanh)",
                          (int)p->approximate);
    return prepare_elementwise(node, "GELU", err);
}

/* vmath.h (libm erff/tanhf where no SIMD); reference.py rounds a double evaluation once,
 * well within 1e-5 */
void edgec_gelu_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const int approximate = ((const edgec_gelu_params *)node->params)->approximate;
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    ptrdiff_t i, end;
    (void)scratch;
    edgec_ops_chunk_range(row_begin, row_end, node->outputs[0]->count, &i, &end);
    if (approximate) edgec_vgelu_tanh(x + i, y + i, (size_t)(end - i));
    else edgec_vgelu_erf(x + i, y + i, (size_t)(end - i));
}

edgec_status edgec_unary_prepare(edgec_node *node, edgec_error *err) {
    const edgec_unary_params *p = (const edgec_unary_params *)node->params;
    if (p->kind < EDGEC_UNARY_SIGMOID || p->kind > EDGEC_UNARY_HARD_SIGMOID)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "unknown unary kind %d (0..%d)", (int)p->kind,
                          EDGEC_UNARY_HARD_SIGMOID);
    return prepare_elementwise(node, "UNARY", err);
}

void edgec_unary_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_unary_params *p = (const edgec_unary_params *)node->params;
    const float *restrict x = (const float *)node->inputs[0]->data;
    float *restrict y = (float *)node->outputs[0]->data;
    ptrdiff_t i, end;
    (void)scratch;
    edgec_ops_chunk_range(row_begin, row_end, node->outputs[0]->count, &i, &end);
    switch (p->kind) {
    case EDGEC_UNARY_SIGMOID: edgec_vsigmoid(x + i, y + i, (size_t)(end - i)); break;
    case EDGEC_UNARY_TANH: for (; i < end; ++i) y[i] = tanhf(x[i]); break;
    case EDGEC_UNARY_HARD_SWISH:
        for (; i < end; ++i) y[i] = x[i] * edgec_clampf(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        break;
    case EDGEC_UNARY_EXP: for (; i < end; ++i) y[i] = expf(x[i]); break;
    case EDGEC_UNARY_LOG: for (; i < end; ++i) y[i] = logf(x[i]); break;
    case EDGEC_UNARY_SQRT: for (; i < end; ++i) y[i] = sqrtf(x[i]); break;
    case EDGEC_UNARY_RSQRT: for (; i < end; ++i) y[i] = 1.0f / sqrtf(x[i]); break;
    case EDGEC_UNARY_ABS: for (; i < end; ++i) y[i] = fabsf(x[i]); break;
    case EDGEC_UNARY_NEG: for (; i < end; ++i) y[i] = -x[i]; break;
    case EDGEC_UNARY_FLOOR: for (; i < end; ++i) y[i] = floorf(x[i]); break;
    case EDGEC_UNARY_CEIL: for (; i < end; ++i) y[i] = ceilf(x[i]); break;
    default: /* HARD_SIGMOID */
        for (; i < end; ++i) y[i] = edgec_clampf(p->alpha * x[i] + p->beta, 0.0f, 1.0f);
        break;
    }
}
