/*
 * edgec/edgec.h -- the public C API of the edgec runtime.
 *
 * Lifecycle:  edgec_model_open (validate the IR; no copy of the data)
 *          -> edgec_interpreter_create (prepare every op, size and allocate the arena)
 *          -> edgec_interpreter_invoke (one call per inference; never allocates)
 *          -> edgec_interpreter_destroy, edgec_model_close.
 *
 * Every function that can fail returns an edgec_status and, where an err buffer is
 * given, a NUL-terminated message naming the section, tensor or op at fault.
 * A model's bytes must stay valid and unchanged while the model is open: constants are
 * used in place. The bytes must be 16-byte aligned (mmap and malloc give that).
 */
#ifndef EDGEC_EDGEC_H
#define EDGEC_EDGEC_H

#include <stddef.h>
#include <stdint.h>

#include "edgec/format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEC_VERSION_STRING "0.1.0"

typedef enum {
    EDGEC_OK = 0,
    EDGEC_ERR_ARGUMENT = 1,    /* NULL pointer, bad index, bad option */
    EDGEC_ERR_FORMAT = 2,      /* malformed file: offsets, sizes, indices out of range */
    EDGEC_ERR_CHECKSUM = 3,    /* CRC mismatch */
    EDGEC_ERR_VERSION = 4,     /* IR major version not supported */
    EDGEC_ERR_UNSUPPORTED = 5, /* op, dtype or parameter this build does not implement */
    EDGEC_ERR_INVALID = 6,     /* op checks failed in prepare (shapes, params) */
    EDGEC_ERR_NOMEM = 7,
    EDGEC_ERR_IO = 8
} edgec_status;

/* edgec_model_open flags */
#define EDGEC_OPEN_SKIP_CHECKSUM 1u

typedef struct edgec_model edgec_model;
typedef struct edgec_interpreter edgec_interpreter;

typedef struct {
    const char *name;      /* not NUL-terminated: use name_length */
    uint32_t name_length;
    int32_t dtype;         /* edgec_dtype */
    int32_t rank;
    int32_t dims[EDGEC_MAX_RANK];
    uint64_t nbytes;
    float scale;
    int32_t zero_point;
    int32_t storage;       /* edgec_storage */
} edgec_tensor_info;

/* edgec_options.device */
#define EDGEC_DEVICE_CPU 0
#define EDGEC_DEVICE_CUDA 1          /* GPU ops through libcuda (dlopen); CPU ops beside them */
#define EDGEC_DEVICE_CUDA_EMULATED 2 /* the CUDA kernels run serially on the host (tests) */

typedef struct {
    int32_t num_threads;   /* <= 0 or 1: run on the calling thread only */
    int32_t profile;       /* nonzero: record per-op wall time at each invoke */
    void *arena;           /* optional caller-owned arena (MCU: a static buffer) */
    size_t arena_size;     /* its size; edgec_interpreter_create fails if too small */
    int32_t device;        /* EDGEC_DEVICE_*; CUDA: create fails with EDGEC_ERR_UNSUPPORTED
                              and a message naming why when the GPU cannot be used; a
                              caller-owned arena is not supported there */
} edgec_options;

const char *edgec_version(void);
const char *edgec_status_string(edgec_status status);
const char *edgec_op_name(int32_t opcode); /* NULL when unknown */
const char *edgec_cpu_features(void);      /* e.g. "x86_64 avx2 avx512f avx512vnni" */
const char *edgec_lut_kernel_name(void);   /* LUT GEMM kernel on this CPU: "avx2", "neon", "reference" */

edgec_status edgec_model_open(const void *data, size_t size, uint32_t flags,
                              edgec_model **out, char *err, size_t err_size);
void edgec_model_close(edgec_model *model);
int32_t edgec_model_tensor_count(const edgec_model *model);
int32_t edgec_model_op_count(const edgec_model *model);
int32_t edgec_model_input_count(const edgec_model *model);
int32_t edgec_model_output_count(const edgec_model *model);
int32_t edgec_model_input_tensor(const edgec_model *model, int32_t i);  /* -1 if out of range */
int32_t edgec_model_output_tensor(const edgec_model *model, int32_t i);
edgec_status edgec_model_tensor_info(const edgec_model *model, int32_t tensor,
                                     edgec_tensor_info *out);
int32_t edgec_model_op_code(const edgec_model *model, int32_t op);
uint64_t edgec_model_planned_arena_bytes(const edgec_model *model);

void edgec_options_default(edgec_options *options);
edgec_status edgec_interpreter_create(const edgec_model *model, const edgec_options *options,
                                      edgec_interpreter **out, char *err, size_t err_size);
void edgec_interpreter_destroy(edgec_interpreter *interp);
/* Bytes of working memory: planned activations + weights repacked for SIMD kernels (0
 * where the reference kernels run) + the largest op scratch (per thread). */
size_t edgec_interpreter_arena_bytes(const edgec_interpreter *interp);
/* The repacked-weights part of edgec_interpreter_arena_bytes. */
size_t edgec_interpreter_packed_bytes(const edgec_interpreter *interp);
/* inputs[i] / outputs[i] point to caller buffers of the graph's i-th input / output,
 * laid out as the tensor info says. Inputs are only read. Never allocates. */
edgec_status edgec_interpreter_invoke(edgec_interpreter *interp, const void *const *inputs,
                                      void *const *outputs);
/* Per-op wall time in nanoseconds of the last invoke (profile option). Returns op count. */
int32_t edgec_interpreter_profile(const edgec_interpreter *interp, uint64_t *ns, int32_t capacity);
const char *edgec_interpreter_error(const edgec_interpreter *interp);
/* Ops the interpreter runs on its device (0 on the CPU). */
int32_t edgec_interpreter_device_ops(const edgec_interpreter *interp);

/* The CUDA driver's version (e.g. 13000 for CUDA 13.0) when libcuda.so.1 loads and
 * initializes, else 0; text gets a one-line description or the reason. */
int32_t edgec_cuda_driver_version(char *text, size_t size);

/* Utilities shared by the reader, tools and tests. */
uint32_t edgec_crc32(uint32_t crc, const void *data, size_t size);
size_t edgec_dtype_size(int32_t dtype); /* 0 when unknown */

#ifdef __cplusplus
}
#endif

#endif /* EDGEC_EDGEC_H */
