# EDGEC_CUDA=ON: runtime/ops/cuda/kernels.cu -> nvcc --fatbin (code for EDGEC_CUDA_ARCHS,
# PTX for the first arch) -> embedded in libedgec by fatbin.S. nvcc only builds device
# code here, so the host side stays plain C for any compiler (aarch64 cross builds too).
# nvcc: $CUDACXX, else PATH, else /usr/local/cuda/bin.
if(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  message(FATAL_ERROR "EDGEC_CUDA=ON needs a Linux target (the backend dlopens libcuda.so.1)")
endif()
set(_nvcc_hint "")
if(DEFINED ENV{CUDACXX})
  set(_nvcc_hint "$ENV{CUDACXX}")
endif()
if(_nvcc_hint AND EXISTS "${_nvcc_hint}")
  set(EDGEC_NVCC "${_nvcc_hint}" CACHE FILEPATH "nvcc")
else()
  find_program(EDGEC_NVCC nvcc PATHS /usr/local/cuda/bin)
endif()
if(NOT EDGEC_NVCC)
  message(FATAL_ERROR "EDGEC_CUDA=ON: nvcc not found (set CUDACXX, put it on PATH, or install /usr/local/cuda)")
endif()
execute_process(COMMAND ${EDGEC_NVCC} --version OUTPUT_VARIABLE _nvcc_version)
string(REGEX MATCH "release ([0-9]+)\\.([0-9]+)" _ "${_nvcc_version}")
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "cannot read the CUDA version from `${EDGEC_NVCC} --version`")
endif()
# Code built by CUDA X.Y (cubins and the PTX ISA it emits) needs a driver for X.Y or newer.
math(EXPR EDGEC_CUDA_MIN_DRIVER "${CMAKE_MATCH_1} * 1000 + ${CMAKE_MATCH_2} * 10")
set(_gencode "")
set(_text "")
foreach(arch ${EDGEC_CUDA_ARCHS})
  list(APPEND _gencode -gencode arch=compute_${arch},code=sm_${arch})
  string(APPEND _text "sm_${arch} ")
endforeach()
list(GET EDGEC_CUDA_ARCHS 0 _ptx)
list(APPEND _gencode -gencode arch=compute_${_ptx},code=compute_${_ptx})
string(APPEND _text "+ compute_${_ptx} PTX, CUDA ${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
set(EDGEC_FATBIN ${CMAKE_CURRENT_BINARY_DIR}/edgec_kernels.fatbin)
set(_cu ${EDGEC_RUNTIME}/ops/cuda/kernels.cu)
add_custom_command(
  OUTPUT ${EDGEC_FATBIN}
  COMMAND ${EDGEC_NVCC} --fatbin -O3 --fmad=false --no-compress -I${EDGEC_RUNTIME}/include ${_gencode}
          -o ${EDGEC_FATBIN} ${_cu}
  DEPENDS ${_cu} ${EDGEC_RUNTIME}/ops/cuda/kernels.cuh ${EDGEC_RUNTIME}/include/edgec/fixedpoint.h
  COMMENT "nvcc: CUDA kernels for ${_text}"
  VERBATIM)
add_custom_target(edgec_cuda_fatbin DEPENDS ${EDGEC_FATBIN})
enable_language(ASM)
set(_asm ${EDGEC_RUNTIME}/ops/cuda/fatbin.S)
set_source_files_properties(${_asm} PROPERTIES OBJECT_DEPENDS ${EDGEC_FATBIN}
                            COMPILE_OPTIONS "-Wa,-I${CMAKE_CURRENT_BINARY_DIR}")
target_sources(edgec PRIVATE ${_asm})
add_dependencies(edgec edgec_cuda_fatbin)
target_compile_definitions(edgec PRIVATE EDGEC_CUDA_FATBIN EDGEC_CUDA_MIN_DRIVER=${EDGEC_CUDA_MIN_DRIVER}
                           "EDGEC_CUDA_ARCHS_TEXT=\"${_text}\"")
message(STATUS "edgec: CUDA kernels for ${_text} (driver >= ${EDGEC_CUDA_MIN_DRIVER})")
