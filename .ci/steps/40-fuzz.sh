#!/usr/bin/env bash
# Hardening: >= 100k mutated .edgec files (CRC fixed up) through reader, prepare and
# invoke under ASan/UBSan with libFuzzer, bounded to 4 minutes; reader coverage printed.
set -euo pipefail
if ! command -v clang >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q --no-install-recommends clang llvm libclang-rt-14-dev >/dev/null
fi
bash tests/fuzz/run_fuzz.sh 1000000 240
