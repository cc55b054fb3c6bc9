"""`edgec build --target jetson`: aarch64 gcc + nvcc. The CUDA kernels compile to a fatbin
with sm_87 (Orin), sm_90 (H100) and sm_110 (Thor) code plus compute_87 PTX, embedded in
libedgec.so (read back here without CUDA tools); the library still needs glibc <= 2.31
and links neither libcuda nor libcudart (it dlopens the driver); the package's CPU path
gives the host's outputs under qemu-aarch64. A host (x86-64) EDGEC_CUDA=ON build loads
in Python and explains why device="cuda" falls back where there is no driver."""
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from conftest import need
from edgec.targets.elf import max_glibc, needed_libraries
from edgec.targets.jetson.build import KERNELS, build, find_nvcc
from edgec.targets.jetson.fatbin import describe
from edgec.targets.rpi.build import GLIBC_LIMIT
from test_rpi_package import assert_same, host_and_inputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def jetson(tmp_path_factory):
    need(find_nvcc() is not None, "nvcc missing (CUDA toolkit at /usr/local/cuda, or CUDACXX)")
    need(shutil.which("aarch64-linux-gnu-gcc") is not None, "aarch64-linux-gnu-gcc missing")
    out = tmp_path_factory.mktemp("dist-jetson")
    result = build(out, quiet=True)
    with tarfile.open(result["tarball"]) as t:
        t.extractall(out / "unpacked")
    result["root"] = next((out / "unpacked").iterdir())
    return result


def test_fatbin_has_orin_thor_h100_code_and_every_kernel(jetson):
    lib = jetson["root"] / "lib" / "libedgec.so"
    info = describe(lib)
    assert {87, 90, 110} <= set(info["sass"]) and info["ptx"] == [87]
    for arch in ("sm_87", "sm_90", "sm_110", "compute_87"):
        assert set(KERNELS) <= set(info["kernels"][arch]), arch
    assert info == jetson["cuda"]
    assert lib.read_bytes()[18:20] == (183).to_bytes(2, "little")  # e_machine EM_AARCH64


def test_glibc_2_31_and_driver_only_through_dlopen(jetson):
    lib = jetson["root"] / "lib" / "libedgec.so"
    assert max_glibc(lib) <= GLIBC_LIMIT
    needed = needed_libraries(lib)
    assert "libc.so.6" in needed and not [n for n in needed if "cuda" in n], needed
    assert b"libcuda.so.1" in lib.read_bytes()  # the name it dlopens
    assert max_glibc(jetson["root"] / "bin" / "edgec-run") == (0, 0)


def test_jetson_package_cpu_path_under_qemu(jetson, tmp_path):
    need(shutil.which("qemu-aarch64") is not None, "qemu-aarch64 missing (apt: qemu-user)")
    for path, x, host in host_and_inputs(tmp_path):
        x.tofile(tmp_path / "in.bin")
        out = tmp_path / path.stem
        out.mkdir()
        r = subprocess.run(["qemu-aarch64", "-cpu", "cortex-a72", str(jetson["root"] / "bin" / "edgec-run"), str(path),
                            "-i", str(tmp_path / "in.bin"), "-o", str(out)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        for i, (name, want) in enumerate(host.items()):
            got = np.fromfile(out / f"output_{i}.bin", dtype=want.dtype).reshape(want.shape)
            assert_same(got, want, f"{path.stem} {name} (jetson package, CPU path)")


def test_host_cuda_build_loads_and_explains_itself(tmp_path):
    """x86-64 libedgec with the sm_90 fatbin (the lent GPU's arch): loads, embeds the code,
    and without a driver device="cuda" falls back naming libcuda."""
    nvcc = find_nvcc()
    need(nvcc is not None, "nvcc missing (CUDA toolkit at /usr/local/cuda, or CUDACXX)")
    b = tmp_path / "build"
    env = {**os.environ, "CUDACXX": str(nvcc)}
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(b), "-DCMAKE_BUILD_TYPE=Release", "-DEDGEC_TESTS=OFF",
                    "-DEDGEC_TOOLS=OFF", "-DEDGEC_CUDA=ON", "-DEDGEC_CUDA_ARCHS=90", "-DEDGEC_WERROR=ON"],
                   check=True, capture_output=True, env=env)
    subprocess.run(["cmake", "--build", str(b), "-j2"], check=True, capture_output=True, env=env)
    lib = b / "libedgec.so"
    info = describe(lib)
    assert info["sass"] == [90] and info["ptx"] == [90]
    assert not [n for n in needed_libraries(lib) if "cuda" in n]
    script = ("import warnings, edgec\nfrom edgec.runtime import cuda_info\n"
              "v, text = cuda_info()\nprint('driver', v, text)\n"
              "with warnings.catch_warnings(record=True) as w:\n"
              "    warnings.simplefilter('always')\n"
              f"    it = edgec.Interpreter(edgec.convert({str(ROOT / 'tests/fixtures/int8_ops.tflite')!r})"
              f".save({str(tmp_path / 'm.edgec')!r}), device='cuda')\n"
              "print('device', it.device, it.device_ops, [str(x.message) for x in w])\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env={**os.environ, "EDGEC_LIBRARY": str(lib)})
    assert r.returncode == 0, r.stderr
    if "driver 0 " in r.stdout:
        assert "device cpu 0" in r.stdout and "libcuda.so.1" in r.stdout, r.stdout
    else:  # a GPU machine: the sm_90 kernels load (or the reason is named)
        assert "device cuda" in r.stdout or "running on the CPU" in r.stdout, r.stdout
