/*
 * Internal: the interpreter's CUDA executor (runtime/core/cuda.c), the one dispatch hook
 * between interp.c and an accelerator.
 *
 * Contract with interp.c (device = EDGEC_DEVICE_CUDA or EDGEC_DEVICE_CUDA_EMULATED):
 *   create:  edgec_cuda_open before any prepare (fails with a message naming why: no
 *            libcuda, driver too old, no device, no kernels in this build);
 *            after every prepare, the arena comes from edgec_cuda_alloc (managed memory,
 *            reachable by CPU and GPU: no copies at CPU/GPU op boundaries), then
 *            edgec_cuda_attach moves constants into managed memory, makes staging
 *            buffers for graph inputs/outputs and picks the nodes the device runs.
 *   invoke:  edgec_cuda_begin (copy the caller's inputs to staging), then per node either
 *            edgec_cuda_launch (asynchronous) when edgec_cuda_runs, or edgec_cuda_sync
 *            and the CPU kernel; edgec_cuda_end synchronizes and copies the outputs out.
 * The emulated device runs the same kernels (kernels.cuh) on the host with plain memory:
 * every step above except the driver calls, for tests on machines without a GPU.
 */
#ifndef EDGEC_CORE_CUDA_H
#define EDGEC_CORE_CUDA_H

#include "model.h"

typedef struct edgec_cuda edgec_cuda;

edgec_status edgec_cuda_open(int32_t device, edgec_cuda **out, char *err, size_t err_size);
void edgec_cuda_close(edgec_cuda *cu); /* frees everything edgec_cuda_alloc gave */
void *edgec_cuda_alloc(edgec_cuda *cu, size_t bytes); /* 64-aligned; NULL on failure */
edgec_status edgec_cuda_attach(edgec_cuda *cu, const edgec_model *m, edgec_tensor *tensors,
                               const edgec_node *nodes, char *err, size_t err_size);
int edgec_cuda_runs(const edgec_cuda *cu, int32_t node_index);
int32_t edgec_cuda_node_count(const edgec_cuda *cu); /* nodes the device runs */
edgec_status edgec_cuda_begin(edgec_cuda *cu, const void *const *inputs, char *err, size_t err_size);
edgec_status edgec_cuda_launch(edgec_cuda *cu, const edgec_node *node, char *err, size_t err_size);
edgec_status edgec_cuda_sync(edgec_cuda *cu, char *err, size_t err_size);
edgec_status edgec_cuda_end(edgec_cuda *cu, void *const *outputs, char *err, size_t err_size);

#endif
