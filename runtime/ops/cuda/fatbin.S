/* The CUDA kernels (kernels.cu, built by nvcc --fatbin) byte for byte inside libedgec;
 * runtime/core/cuda.c hands them to cuModuleLoadData. CMake passes the fatbin's folder to
 * the assembler (-Wa,-I) and builds this file only with -DEDGEC_CUDA=ON. */
    .section .rodata.edgec_cuda_fatbin, "a"
    .balign 64
    .global edgec_cuda_fatbin
    .hidden edgec_cuda_fatbin
edgec_cuda_fatbin:
    .incbin "edgec_kernels.fatbin"
    .global edgec_cuda_fatbin_end
    .hidden edgec_cuda_fatbin_end
edgec_cuda_fatbin_end:
    .section .note.GNU-stack, "", %progbits
