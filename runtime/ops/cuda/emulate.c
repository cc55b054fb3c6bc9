/* The CUDA kernels run on the host: kernels.cuh compiled as C, one loop over the grid. */
#include "cuda_plan.h"

const char *const edgec_cu_kernel_names[EDGEC_CU_KERNEL_COUNT] = {
#define EDGEC_CU_NAME(name) "edgec_cu_" #name,
    EDGEC_CU_KERNELS(EDGEC_CU_NAME)
#undef EDGEC_CU_NAME
};

void edgec_cu_emulate(int32_t kernel, const edgec_cu_args *args, int64_t total) {
    int64_t i;
    switch (kernel) {
#define EDGEC_CU_CASE(name)                                                                \
    case EDGEC_CU_##name:                                                                  \
        for (i = 0; i < total; ++i) edgec_cu_##name##_body(args, i);                       \
        break;
        EDGEC_CU_KERNELS(EDGEC_CU_CASE)
#undef EDGEC_CU_CASE
    default:
        break;
    }
}
