/* Element-wise activations (fp32): CLAMP, LEAKY_RELU, GELU, UNARY (by kind). Work is split
 * in chunks of the flat tensor. */
#include <math.h>

#include "edgec/kernel.h"

#define CHUNK 4096

static edgec_status prepare_unary(edgec_node *node, edgec_error *err) {
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    if ((s = edgec_check_dtype(node->inputs[0], EDGEC_DTYPE_FLOAT32, "input", err)) ||
        (s = edgec_check_dtype(node->outputs[0], EDGEC_DTYPE_FLOAT32, "output", err)))
        return s;
    if (node->inputs[0]->count != node->outputs[0]->count)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input has %llu elements, output %llu",
                          (unsigned long long)node->inputs[0]->count, (unsigned long long)node->outputs[0]->count);
    node->rows = (int32_t)((node->outputs[0]->count + CHUNK - 1) / CHUNK);
    return EDGEC_OK;
}

#define RANGE(node, rb, re, x, y, i, end)                                   \
    const float *restrict x = (const float *)(node)->inputs[0]->data;      \
    float *restrict y = (float *)(node)->outputs[0]->data;                 \
    size_t i = (size_t)(rb) * CHUNK, end = (size_t)(re) * CHUNK;           \
    if (end > (node)->outputs[0]->count) end = (node)->outputs[0]->count

edgec_status edgec_clamp_prepare(edgec_node *node, edgec_error *err) {
    const edgec_clamp_params *p = (const edgec_clamp_params *)node->params;
    if (p->min != p->min || p->max != p->max || p->min > p->max)
        return edgec_fail(err, EDGEC_ERR_INVALID, "clamp range [%g, %g] is empty or NaN", (double)p->min, (double)p->max);
    return prepare_unary(node, err);
}

void edgec_clamp_eval(const edgec_node *node, int32_t rb, int32_t re, void *scratch) {
    const edgec_clamp_params *p = (const edgec_clamp_params *)node->params;
    const float lo = p->min, hi = p->max;
    RANGE(node, rb, re, x, y, i, end);
    (void)scratch;
    for (; i < end; ++i) {
        float v = x[i];
        y[i] = v < lo ? lo : (v > hi ? hi : v);
    }
}

edgec_status edgec_leaky_relu_prepare(edgec_node *node, edgec_error *err) { return prepare_unary(node, err); }

void edgec_leaky_relu_eval(const edgec_node *node, int32_t rb, int32_t re, void *scratch) {
    const float alpha = ((const edgec_leaky_relu_params *)node->params)->alpha;
    RANGE(node, rb, re, x, y, i, end);
    (void)scratch;
    for (; i < end; ++i) y[i] = x[i] >= 0.0f ? x[i] : x[i] * alpha;
}

edgec_status edgec_gelu_prepare(edgec_node *node, edgec_error *err) { return prepare_unary(node, err); }

void edgec_gelu_eval(const edgec_node *node, int32_t rb, int32_t re, void *scratch) {
    const int approximate = ((const edgec_gelu_params *)node->params)->approximate;
    RANGE(node, rb, re, x, y, i, end);
    (void)scratch;
    for (; i < end; ++i) {
        const float v = x[i];
        y[i] = approximate ? 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)))
                           : 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    }
}

edgec_status edgec_unary_prepare(edgec_node *node, edgec_error *err) {
    const edgec_unary_params *p = (const edgec_unary_params *)node->params;
    if (p->kind < EDGEC_UNARY_SIGMOID || p->kind > EDGEC_UNARY_HARD_SIGMOID)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "unknown unary kind %d", p->kind);
    return prepare_unary(node, err);
}

void edgec_unary_eval(const edgec_node *node, int32_t rb, int32_t re, void *scratch) {
    const edgec_unary_params *p = (const edgec_unary_params *)node->params;
    RANGE(node, rb, re, x, y, i, end);
    (void)scratch;
    switch (p->kind) {
    case EDGEC_UNARY_SIGMOID: for (; i < end; ++i) y[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case EDGEC_UNARY_TANH: for (; i < end; ++i) y[i] = tanhf(x[i]); break;
    case EDGEC_UNARY_HARD_SWISH:
        for (; i < end; ++i) {
            float r = x[i] + 3.0f;
            r = r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r);
            y[i] = x[i] * r / 6.0f;
        }
        break;
    case EDGEC_UNARY_EXP: for (; i < end; ++i) y[i] = expf(x[i]); break;
    case EDGEC_UNARY_LOG: for (; i < end; ++i) y[i] = logf(x[i]); break;
    case EDGEC_UNARY_SQRT: for (; i < end; ++i) y[i] = sqrtf(x[i]); break;
    case EDGEC_UNARY_RSQRT: for (; i < end; ++i) y[i] = 1.0f / sqrtf(x[i]); break;
    case EDGEC_UNARY_ABS: for (; i < end; ++i) y[i] = fabsf(x[i]); break;
    case EDGEC_UNARY_NEG: for (; i < end; ++i) y[i] = -x[i]; break;
    case EDGEC_UNARY_FLOOR: for (; i < end; ++i) y[i] = floorf(x[i]); break;
    case EDGEC_UNARY_CEIL: for (; i < end; ++i) y[i] = ceilf(x[i]); break;
    default:
        for (; i < end; ++i) {
            float v = p->alpha * x[i] + p->beta;
            y[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
        }
        break;
    }
}
