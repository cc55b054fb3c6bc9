/* The CUDA side of runtime/ops/cuda/kernels.cuh: one __global__ per body, one thread per
 * output element, 1-D grid. Built by CMake (EDGEC_CUDA=ON) with nvcc --fatbin for the
 * archs in EDGEC_CUDA_ARCHS (+ PTX), with --fmad=false (see kernels.cuh), and embedded
 * in libedgec by fatbin.S; runtime/core/cuda.c loads it through the driver API. */
#include "kernels.cuh"

#define EDGEC_CU_GLOBAL(name)                                                              \
    extern "C" __global__ void edgec_cu_##name(edgec_cu_args a, long long total) {         \
        const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;              \
        if (i < total) edgec_cu_##name##_body(&a, i);                                      \
    }
EDGEC_CU_KERNELS(EDGEC_CU_GLOBAL)
