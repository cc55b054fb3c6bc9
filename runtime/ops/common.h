/* Helpers shared by the reference kernels in runtime/ops/. Header-only (static inline) so
 * that a build may compile any subset of the op files.
 *
 * Bounds contract: every prepare starts with edgec_ops_check_node(), which guarantees
 * that each present tensor is self-consistent (dims >= 1, count = product of dims,
 * nbytes = count * element size <= PTRDIFF_MAX) and that no output is also an input.
 * Kernels then index with ptrdiff_t, which holds any in-tensor offset on 32- and 64-bit
 * targets alike. */
#ifndef EDGEC_OPS_COMMON_H
#define EDGEC_OPS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgec/kernel.h"

#define EDGEC_CHUNK 4096 /* elements per row (unit of work) of element-wise ops */

/* min(max(v, lo), hi) evaluated as numpy does, so a NaN v stays NaN */
/* EDGEC_KERNELS=reference: interpreters created now keep the reference kernels (tests
 * compare both paths; on non-Unix hosts the variable is not read). */
static inline int edgec_ops_forced_reference(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    return force && strcmp(force, "reference") == 0;
#else
    return 0;
#endif
}

static inline float edgec_clampf(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* numpy maximum / minimum: NaN if either operand is NaN */
static inline float edgec_maxf(float a, float b) { return (a > b || a != a) ? a : b; }
static inline float edgec_minf(float a, float b) { return (a < b || a != a) ? a : b; }

static inline edgec_status edgec_ops_check_tensor(const edgec_tensor *t, const char *what,
                                                  int32_t i, edgec_error *err) {
    const size_t es = edgec_dtype_size(t->dtype);
    int64_t count = 1;
    int32_t d;
    if (!es)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "%s %d has unknown dtype %d", what, (int)i,
                          (int)t->dtype);
    if (t->rank < 0 || t->rank > EDGEC_MAX_RANK)
        return edgec_fail(err, EDGEC_ERR_INVALID, "%s %d has rank %d (0..%d)", what, (int)i, (int)t->rank,
                          EDGEC_MAX_RANK);
    for (d = 0; d < t->rank; ++d) {
        if (t->dims[d] < 1)
            return edgec_fail(err, EDGEC_ERR_INVALID, "%s %d: dim %d is %d", what, (int)i, (int)d,
                              (int)t->dims[d]);
        count *= t->dims[d];
        if (count > ((int64_t)1 << 40))
            return edgec_fail(err, EDGEC_ERR_INVALID, "%s %d has more than 2^40 elements", what,
                              (int)i);
    }
    if ((uint64_t)count != (uint64_t)t->count || (uint64_t)t->nbytes != (uint64_t)count * es ||
        (uint64_t)t->nbytes > (uint64_t)PTRDIFF_MAX)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "%s %d: %llu elements / %llu bytes do not match its dims (%lld elements "
                          "of %u bytes) or do not fit this target",
                          what, (int)i, (unsigned long long)t->count, (unsigned long long)t->nbytes,
                          (long long)count, (unsigned)es);
    return EDGEC_OK;
}

/* Counts (as edgec_check_counts) plus edgec_ops_check_tensor on every present tensor, and
 * no output that is also an input (kernels use restrict pointers). */
static inline edgec_status edgec_ops_check_node(const edgec_node *node, int32_t min_in,
                                                int32_t max_in, int32_t outputs,
                                                edgec_error *err) {
    int32_t i, k;
    edgec_status s = edgec_check_counts(node, min_in, max_in, outputs, err);
    if (s) return s;
    for (i = 0; i < node->input_count; ++i)
        if (node->inputs[i] && (s = edgec_ops_check_tensor(node->inputs[i], "input", i, err)))
            return s;
    for (i = 0; i < node->output_count; ++i) {
        if ((s = edgec_ops_check_tensor(node->outputs[i], "output", i, err))) return s;
        for (k = 0; k < node->input_count; ++k)
            if (node->inputs[k] == node->outputs[i])
                return edgec_fail(err, EDGEC_ERR_INVALID,
                                  "output %d is also input %d (in-place is not supported)", (int)i, (int)k);
    }
    return EDGEC_OK;
}

/* fp32 kernels: every present input and the output must be float32. `supports` completes
 * "OP supports ..." in the message, e.g. "float32 only in this version". */
static inline edgec_status edgec_ops_check_float(const edgec_node *node, const char *op,
                                                 const char *supports, edgec_error *err) {
    int32_t i;
    for (i = 0; i < node->input_count; ++i)
        if (node->inputs[i] && node->inputs[i]->dtype != EDGEC_DTYPE_FLOAT32)
            return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "input %d is %s; %s supports %s", (int)i,
                              edgec_dtype_name(node->inputs[i]->dtype), op, supports);
    for (i = 0; i < node->output_count; ++i)
        if (node->outputs[i]->dtype != EDGEC_DTYPE_FLOAT32)
            return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "output %d is %s; %s supports %s", (int)i,
                              edgec_dtype_name(node->outputs[i]->dtype), op, supports);
    return EDGEC_OK;
}

/* A fused activation range: NaN bounds would turn every output into NaN */
static inline edgec_status edgec_ops_check_act(float lo, float hi, edgec_error *err) {
    if (lo != lo || hi != hi)
        return edgec_fail(err, EDGEC_ERR_INVALID, "activation range [%g, %g] has a NaN bound",
                          (double)lo, (double)hi);
    return EDGEC_OK;
}

static inline edgec_status edgec_ops_set_rows(edgec_node *node, int64_t rows, edgec_error *err) {
    if (rows < 1)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED,
                          "the output has no elements: empty tensors are not supported (give the model "
                          "non-zero input dims)");
    if (rows > INT32_MAX)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "%lld units of work do not fit int32 rows",
                          (long long)rows);
    node->rows = (int32_t)rows;
    return EDGEC_OK;
}

/* rows for element-wise ops: chunks of EDGEC_CHUNK elements of the flat output */
static inline edgec_status edgec_ops_set_chunks(edgec_node *node, size_t count, edgec_error *err) {
    return edgec_ops_set_rows(node, (int64_t)((count + EDGEC_CHUNK - 1) / EDGEC_CHUNK), err);
}

/* The element range [*begin, *end) of chunks [row_begin, row_end) of a `count`-element output */
static inline void edgec_ops_chunk_range(int32_t row_begin, int32_t row_end, size_t count,
                                         ptrdiff_t *begin, ptrdiff_t *end) {
    const size_t b = (size_t)row_begin * EDGEC_CHUNK, e = (size_t)row_end * EDGEC_CHUNK;
    *begin = (ptrdiff_t)(b < count ? b : count);
    *end = (ptrdiff_t)(e < count ? e : count);
}

/* Taps [*k0, *k1) of a window of `taps` taps, dilation d, starting at input coordinate i0,
 * that fall inside [0, size). Callers guarantee (prepare) that size + padding fits int32,
 * so no expression here overflows. Interior windows take no division. */
static inline void edgec_ops_tap_range(int32_t i0, int32_t taps, int32_t d, int32_t size,
                                       int32_t *k0, int32_t *k1) {
    int32_t lo = 0, hi = taps;
    if (i0 < 0) lo = (-i0 - 1) / d + 1;
    if (i0 + (taps - 1) * d >= size) hi = i0 >= size ? 0 : (size - 1 - i0) / d + 1;
    *k0 = lo < hi ? lo : hi;
    *k1 = hi;
}

/* Four dot products sharing x: acc[j] += sum_i x[i] * w[j * ws + i], i in order, so each
 * acc[j] rounds exactly as a plain loop would. */
static inline void edgec_ops_dot4(const float *restrict x, const float *restrict w, ptrdiff_t ws,
                                  ptrdiff_t n, float *restrict acc) {
    const float *restrict w0 = w, *restrict w1 = w + ws, *restrict w2 = w + 2 * ws,
                *restrict w3 = w + 3 * ws;
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        const float v = x[i];
        a0 += v * w0[i];
        a1 += v * w1[i];
        a2 += v * w2[i];
        a3 += v * w3[i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

static inline float edgec_ops_dot1(const float *restrict x, const float *restrict w, ptrdiff_t n,
                                   float acc) {
    ptrdiff_t i;
    for (i = 0; i < n; ++i) acc += x[i] * w[i];
    return acc;
}

#endif /* EDGEC_OPS_COMMON_H */
