/* QUANTIZE (float32 -> int8/uint8), DEQUANTIZE (int8/uint8/int32 -> float32) and LOOKUP
 * (int8/uint8 -> int8/uint8 through a 256-entry table). TFLite's reference semantics:
 * quantize rounds half away from zero (std::round) then clamps (round_half_even = 1: ONNX's
 * QuantizeLinear, ties to even, as rintf in the default rounding mode); dequantize computes
 * scale * (q - zero_point) in double and rounds once to float. LOOKUP carries every
 * int8 -> int8 elementwise function (requantize, sigmoid, tanh, hard-swish, ...): the
 * converter tabulates TFLite's integer reference for all 256 inputs, so each target
 * computes identical bytes. */
#include <math.h>
#include <string.h>

#include "edgec/kernel.h"
#include "lookup_simd.h"

#define CHUNK 4096

static int32_t chunks(size_t count) { return (int32_t)((count + CHUNK - 1) / CHUNK); }

static edgec_status check_same_count(const edgec_node *node, edgec_error *err) {
    if (node->inputs[0]->count != node->outputs[0]->count)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input has %llu elements, output %llu",
                          (unsigned long long)node->inputs[0]->count,
                          (unsigned long long)node->outputs[0]->count);
    return EDGEC_OK;
}

static int is_byte_quantized(int32_t dtype) {
    return dtype == EDGEC_DTYPE_INT8 || dtype == EDGEC_DTYPE_UINT8;
}

edgec_status edgec_quantize_prepare(edgec_node *node, edgec_error *err) {
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    if (s) return s;
    if ((s = edgec_check_dtype(node->inputs[0], EDGEC_DTYPE_FLOAT32, "input", err))) return s;
    if (!is_byte_quantized(node->outputs[0]->dtype))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "output is %s, expected int8 or uint8",
                          edgec_dtype_name(node->outputs[0]->dtype));
    if (!(node->outputs[0]->scale > 0.0f) || !isfinite(node->outputs[0]->scale))
        return edgec_fail(err, EDGEC_ERR_INVALID, "output scale %g is not positive and finite",
                          (double)node->outputs[0]->scale);
    if ((s = check_same_count(node, err))) return s;
    if (((const edgec_quantize_params *)node->params)->round_half_even & ~1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "round_half_even must be 0 or 1");
    node->rows = chunks(node->outputs[0]->count);
    return EDGEC_OK;
}

void edgec_quantize_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_tensor *out = node->outputs[0];
    const float *x = (const float *)node->inputs[0]->data;
    size_t i = (size_t)row_begin * CHUNK, end = (size_t)row_end * CHUNK;
    int32_t lo = out->dtype == EDGEC_DTYPE_INT8 ? -128 : 0, hi = lo + 255;
    const int half_even = ((const edgec_quantize_params *)node->params)->round_half_even;
    (void)scratch;
    if (end > out->count) end = out->count;
    for (; i < end; ++i) {
        const float v = x[i] / out->scale;
        int32_t q = (int32_t)(half_even ? rintf(v) : roundf(v)) + out->zero_point;
        q = q < lo ? lo : (q > hi ? hi : q);
        if (out->dtype == EDGEC_DTYPE_INT8) ((int8_t *)out->data)[i] = (int8_t)q;
        else out->data[i] = (uint8_t)q;
    }
}

edgec_status edgec_dequantize_prepare(edgec_node *node, edgec_error *err) {
    edgec_status s = edgec_check_counts(node, 1, 1, 1, err);
    int32_t dt;
    if (s) return s;
    dt = node->inputs[0]->dtype;
    if (!is_byte_quantized(dt) && dt != EDGEC_DTYPE_INT32)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "input is %s, expected int8, uint8 or int32",
                          edgec_dtype_name(dt));
    if ((s = edgec_check_dtype(node->outputs[0], EDGEC_DTYPE_FLOAT32, "output", err))) return s;
    if ((s = check_same_count(node, err))) return s;
    node->rows = chunks(node->outputs[0]->count);
    return EDGEC_OK;
}

void edgec_dequantize_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_tensor *in = node->inputs[0];
    float *y = (float *)node->outputs[0]->data;
    size_t i = (size_t)row_begin * CHUNK, end = (size_t)row_end * CHUNK;
    const double scale = in->scale;
    const int32_t zp = in->zero_point;
    (void)scratch;
    if (end > in->count) end = in->count;
    for (; i < end; ++i) {
        int32_t q = in->dtype == EDGEC_DTYPE_INT8 ? ((const int8_t *)in->data)[i]
                  : in->dtype == EDGEC_DTYPE_UINT8 ? (int32_t)in->data[i]
                  : ((const int32_t *)in->data)[i];
        y[i] = (float)(scale * (double)(q - zp));
    }
}

static void lookup_pack(edgec_node *node) { edgec_lookup_pack(node->packed, node->inputs[1]->data); }

edgec_status edgec_lookup_prepare(edgec_node *node, edgec_error *err) {
    edgec_status s = edgec_check_counts(node, 2, 2, 1, err);
    const edgec_tensor *table;
    if (s) return s;
    table = node->inputs[1];
    if (!is_byte_quantized(node->inputs[0]->dtype) || !is_byte_quantized(node->outputs[0]->dtype))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "LOOKUP maps int8/uint8 to int8/uint8, got %s -> %s",
                          edgec_dtype_name(node->inputs[0]->dtype), edgec_dtype_name(node->outputs[0]->dtype));
    if (table->storage != EDGEC_STORAGE_CONSTANT || table->count != 256 ||
        table->dtype != node->outputs[0]->dtype)
        return edgec_fail(err, EDGEC_ERR_INVALID, "the table must be a constant of 256 %s values",
                          edgec_dtype_name(node->outputs[0]->dtype));
    if ((s = check_same_count(node, err))) return s;
    node->rows = chunks(node->outputs[0]->count);
    node->aux[0] = edgec_lookup_simd();
    if (node->aux[0]) {
        node->packed_bytes = EDGEC_LOOKUP_PACKED_BYTES;
        node->pack = lookup_pack;
    }
    return EDGEC_OK;
}

/* table index: the input byte read as unsigned after +128 for int8 (table[0] is for -128) */
void edgec_lookup_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const uint8_t *x = node->inputs[0]->data, *table = node->inputs[1]->data;
    uint8_t *y = node->outputs[0]->data;
    size_t i = (size_t)row_begin * CHUNK, end = (size_t)row_end * CHUNK;
    const uint8_t bias = node->inputs[0]->dtype == EDGEC_DTYPE_INT8 ? 128 : 0;
    (void)scratch;
    if (end > node->outputs[0]->count) end = node->outputs[0]->count;
    if (node->aux[0]) {
        edgec_lookup_run(node->packed, x + i, y + i, end - i, bias);
        return;
    }
    for (; i < end; ++i) y[i] = table[(uint8_t)(x[i] + bias)];
}
