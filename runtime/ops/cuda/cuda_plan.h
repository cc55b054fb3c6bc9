/* The CUDA backend's host-side view of its kernels (plain C, no CUDA headers). */
#ifndef EDGEC_CUDA_PLAN_H
#define EDGEC_CUDA_PLAN_H

#include "edgec/kernel.h"
#include "kernels.cuh"

/* The kernel (EDGEC_CU_*) that runs this prepared node on the device, with its arguments
 * (tensor pointers as bound now) and its thread count; -1 when the CPU must run it. */
int32_t edgec_cu_plan(const edgec_node *node, edgec_cu_args *args, int64_t *total);

/* Runs kernel `kernel` on the host over the whole grid [0, total), in order: what the
 * device computes (kernels.cuh's contract), for CPU-only tests (device cuda-emulated). */
void edgec_cu_emulate(int32_t kernel, const edgec_cu_args *args, int64_t total);

/* The kernels' names in the fatbin (edgec_cu_<name>), by EDGEC_CU_* */
extern const char *const edgec_cu_kernel_names[EDGEC_CU_KERNEL_COUNT];

#endif
