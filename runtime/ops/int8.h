/* int8 variants of the op families, called by the family's prepare/eval when the
 * tensors are int8. Semantics: TFLite's reference integer kernels (runtime/OPS.md). */
#ifndef EDGEC_OPS_INT8_H
#define EDGEC_OPS_INT8_H

#include "edgec/kernel.h"

/* conv.c geometry helpers are shared: aux layout A_* and the checked geometry */
edgec_status edgec_conv_int8_check(edgec_node *node, int32_t channels, edgec_error *err);
/* After the checks: pick the packed-GEMM path when this CPU has a SIMD kernel for it
 * (sets packed_bytes, pack and scratch_bytes); else the reference loops run. */
void edgec_conv2d_int8_plan(edgec_node *node);
void edgec_conv2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch);
void edgec_depthwise_conv2d_int8_plan(edgec_node *node);
void edgec_depthwise_conv2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end);
edgec_status edgec_fully_connected_int8_prepare(edgec_node *node, edgec_error *err);
void edgec_fully_connected_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch);
edgec_status edgec_binary_int8_prepare(edgec_node *node, int kind, edgec_error *err);
void edgec_binary_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end);
void edgec_pool2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end);
edgec_status edgec_reduce_int8_prepare(edgec_node *node, edgec_error *err);
void edgec_reduce_int8_eval(const edgec_node *node);

#endif
