/*
 * edgec/kernel.h -- the contract between the interpreter and op kernels.
 *
 * Every op in ops.def has two functions in runtime/ops/<family>.c:
 *
 *   edgec_status edgec_<kernel>_prepare(edgec_node *node, edgec_error *err);
 *       Runs once at interpreter creation (may request packed memory: see edgec_node). Checks everything: input/output counts,
 *       dtypes, shapes against the parameters, parameter ranges (params_size has
 *       already been checked against the struct). Sets node->rows (independent
 *       units of output work, >= 1) and node->scratch_bytes (working memory for one
 *       eval call; 0 if none). May store derived integers in node->aux[].
 *       On failure: return edgec_fail(err, EDGEC_ERR_INVALID, "...") with a message
 *       saying what is wrong and the values seen; the interpreter prefixes the op.
 *
 *   void edgec_<kernel>_eval(const edgec_node *node, int32_t row_begin, int32_t row_end,
 *                            void *scratch);
 *       Computes output rows [row_begin, row_end) of node->rows. Never allocates,
 *       never fails (prepare made every check), never reads outside its tensors.
 *       Threads and patch scheduling call it on disjoint row ranges, so an eval must
 *       write only its own rows' outputs. scratch is node->scratch_bytes, 64-aligned,
 *       private to this call.
 *
 * "rows" for spatial ops (conv, pool, resize, ...) are batch * output height; for
 * element-wise ops they are chunks of the flattened output; ops that cannot split set
 * rows = 1.
 */
#ifndef EDGEC_KERNEL_H
#define EDGEC_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "edgec/edgec.h"
#include "edgec/format.h"

typedef struct {
    uint8_t *data;                 /* bound before eval: arena, file constant or IO buffer */
    int32_t dims[EDGEC_MAX_RANK];
    int32_t rank;
    int32_t dtype;                 /* edgec_dtype */
    int32_t storage;               /* edgec_storage */
    size_t count;                  /* number of elements */
    size_t nbytes;
    float scale;
    int32_t zero_point;
    int32_t index;                 /* position in the model's tensor table */
} edgec_tensor;

typedef struct {
    edgec_status status;
    char message[256];
} edgec_error;

typedef struct edgec_node {
    int32_t opcode;
    int32_t index;                 /* position in execution order */
    int32_t input_count;
    int32_t output_count;
    edgec_tensor **inputs;         /* inputs[i] == NULL: optional input absent */
    edgec_tensor **outputs;
    const void *params;            /* edgec_<params>_params, 4-byte aligned, in the file */
    uint32_t params_size;
    int32_t rows;                  /* set by prepare */
    size_t scratch_bytes;          /* set by prepare */
    int64_t aux[16];               /* prepare's derived values, read by eval */
    /* Optional persistent per-node memory (e.g. weights repacked for a SIMD kernel):
     * prepare sets packed_bytes and pack; the interpreter then places `packed` in the
     * arena (64-aligned, after the planned tensors) and calls pack(node) once, with
     * constants bound, before the first eval. eval reads it, never writes it. */
    size_t packed_bytes;
    uint8_t *packed;
    void (*pack)(struct edgec_node *node);
} edgec_node;

typedef edgec_status (*edgec_prepare_fn)(edgec_node *node, edgec_error *err);
typedef void (*edgec_eval_fn)(const edgec_node *node, int32_t row_begin, int32_t row_end,
                              void *scratch);

/* Records a failure message (printf-style) and returns status. */
edgec_status edgec_fail(edgec_error *err, edgec_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Helpers for prepare functions; each fills err and returns non-OK on mismatch. */
edgec_status edgec_check_counts(const edgec_node *node, int32_t min_in, int32_t max_in,
                                int32_t outputs, edgec_error *err);
edgec_status edgec_check_dtype(const edgec_tensor *t, int32_t dtype, const char *what,
                               edgec_error *err);
/* Broadcast helper: strides of `t` as seen from an output of rank `rank` and dims
 * `out_dims` (numpy rules, right-aligned); 0 stride on broadcast axes. Fails when
 * shapes are not broadcast-compatible. */
edgec_status edgec_broadcast_strides(const edgec_tensor *t, int32_t rank,
                                     const int32_t *out_dims, int64_t *strides,
                                     edgec_error *err);
const char *edgec_dtype_name(int32_t dtype);

/* Declarations of every kernel, from the registry. */
#define EDGEC_OP(NAME, CODE, PARAMS, KERNEL)                                           \
    edgec_status edgec_##KERNEL##_prepare(edgec_node *node, edgec_error *err);         \
    void edgec_##KERNEL##_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, \
                               void *scratch);
#include "edgec/ops.def"
#undef EDGEC_OP

#endif /* EDGEC_KERNEL_H */
