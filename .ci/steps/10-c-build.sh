#!/usr/bin/env bash
# The C core builds warning-free for every target family (the Cortex-M library too).
set -euo pipefail
for tc in host aarch64-linux-gnu armv7-linux-gnueabihf cortex-m4 cortex-m7; do
  rm -rf "build-ci/$tc"
  cmake -S . -B "build-ci/$tc" -DCMAKE_TOOLCHAIN_FILE="cmake/toolchains/$tc.cmake" \
        -DEDGEC_WERROR=ON >/dev/null
  cmake --build "build-ci/$tc" -j "$(nproc)" >/dev/null
  echo "built $tc"
done
ls -l build-ci/cortex-m4/libedgec.a
