#!/usr/bin/env bash
# CUDA backend: the kernels compile with nvcc (the CI image's /usr/local/cuda/bin/nvcc) for
# Orin (sm_87), H100 (sm_90) and Thor (sm_110) + compute_87 PTX, warning-free, into the
# host library and the aarch64 (Jetson) one. tests/test_jetson_package.py and
# tests/test_cuda.py then run under EDGEC_REQUIRE_ALL=1 (a missing nvcc fails them).
set -euo pipefail
export CUDACXX="${CUDACXX:-/usr/local/cuda/bin/nvcc}"
if [ ! -x "$CUDACXX" ]; then
  echo "nvcc not found at $CUDACXX: the CI image must provide the CUDA toolkit" >&2
  exit 1
fi
"$CUDACXX" --version | tail -n 2
for tc in host aarch64-linux-gnu; do
  rm -rf "build-ci/cuda-$tc"
  cmake -S . -B "build-ci/cuda-$tc" -DCMAKE_TOOLCHAIN_FILE="cmake/toolchains/$tc.cmake" \
        -DEDGEC_CUDA=ON -DEDGEC_WERROR=ON -DEDGEC_TESTS=OFF >/dev/null
  cmake --build "build-ci/cuda-$tc" -j "$(nproc)" >/dev/null
  python - "build-ci/cuda-$tc/libedgec.so" <<'PY'
import sys
from targets.jetson.build import check_cuda_library
info = check_cuda_library(__import__("pathlib").Path(sys.argv[1]))
print(sys.argv[1], "sm", info["sass"], "ptx", info["ptx"], "PTX ISA", info["ptx_isa"])
PY
done
