"""`edgec build --target jetson -o dist/`: the Raspberry Pi aarch64 package (targets/rpi:
manylinux_2_31 wheel + tarball, glibc <= 2.31) built with the CUDA backend: nvcc compiles
runtime/ops/cuda/kernels.cu to a fatbin (sm_87 Orin, sm_90 H100, sm_110 Thor + compute_87
PTX) that libedgec embeds and loads through libcuda (dlopen), so the aarch64 host code is
plain gcc output with no CUDA runtime to link. Checked before anything is written: the
fatbin holds sm_87 code and every kernel, and libedgec.so does not link libcuda/libcudart."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ..elf import needed_libraries
from ..rpi.build import build as rpi_build
from .fatbin import describe

ARCHS = "87;90;110"
KERNELS = ["edgec_cu_binary_f32", "edgec_cu_binary_i8", "edgec_cu_conv_f32", "edgec_cu_conv_i8",
           "edgec_cu_dw_f32", "edgec_cu_dw_i8", "edgec_cu_fc_f32", "edgec_cu_fc_i8"]


def find_nvcc() -> Path | None:
    """nvcc from $CUDACXX, PATH or /usr/local/cuda/bin (what cmake/cuda.cmake uses)."""
    for c in (os.environ.get("CUDACXX"), shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"):
        if c and Path(c).exists():
            return Path(c)
    return None


def check_cuda_library(lib: Path, archs: str = ARCHS) -> dict:
    """The embedded fatbin has code for every arch and all kernels; no CUDA library is
    linked (the driver is opened at run time)."""
    info = describe(lib)
    for arch in (int(a) for a in archs.split(";")):
        if arch not in info["sass"]:
            raise RuntimeError(f"{lib.name}: the embedded fatbin has no sm_{arch} code ({info['sass']})")
        missing = sorted(set(KERNELS) - set(info["kernels"].get(f"sm_{arch}", [])))
        if missing:
            raise RuntimeError(f"{lib.name}: sm_{arch} code lacks kernels {missing}")
    linked = [n for n in needed_libraries(lib) if n.startswith(("libcuda", "libcudart"))]
    if linked:
        raise RuntimeError(f"{lib.name} links {linked}: the CUDA backend must only dlopen libcuda.so.1")
    return info


def build(out_dir: str | Path, model: str | Path | None = None, quiet: bool = False, archs: str = ARCHS) -> dict:
    """Returns the rpi build's dict plus "cuda": describe() of the embedded fatbin."""
    nvcc = find_nvcc()
    if nvcc is None:
        raise FileNotFoundError("nvcc not found: install the CUDA toolkit (/usr/local/cuda) or set CUDACXX")
    os.environ.setdefault("CUDACXX", str(nvcc))
    seen = {}

    def check(lib):
        seen.update(check_cuda_library(lib, archs))

    result = rpi_build("aarch64", out_dir, model=model, quiet=quiet,
                       defines=("-DEDGEC_CUDA=ON", f"-DEDGEC_CUDA_ARCHS={archs}"), variant="-jetson", check=check)
    result["cuda"] = seen
    if not quiet:
        print(f"edgec build: CUDA kernels for sm_{' sm_'.join(map(str, seen['sass']))} + PTX compute_"
              f"{' compute_'.join(map(str, seen['ptx']))} (PTX ISA {', '.join(seen['ptx_isa'])}); "
              "needs an NVIDIA driver for the CUDA version of the nvcc used (edgec info shows it)",
              file=sys.stderr)
    return result
