"""The C core on its own: C unit tests natively under ASan/UBSan, and the same core
cross-compiled for aarch64 (and armv7) running under qemu-user, bit for bit or within
1e-5 of the host on a real model."""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import blazeface_input, installed_tool, need, real_images

ROOT = Path(__file__).resolve().parents[1]
JOBS = str(os.cpu_count() or 2)


def cmake_build(build_dir: Path, *defs: str) -> Path:
    need(shutil.which("cmake") is not None, "cmake is not installed")
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release", *defs],
                   check=True, capture_output=True, text=True)
    r = subprocess.run(["cmake", "--build", str(build_dir), "-j", JOBS], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return build_dir


def c_tests(build_dir: Path) -> list:
    return sorted(p for p in build_dir.glob("test_*") if p.is_file() and os.access(p, os.X_OK))


@pytest.fixture(scope="module")
def native_asan(tmp_path_factory):
    return cmake_build(tmp_path_factory.mktemp("native-asan"), "-DEDGEC_SANITIZE=ON",
                       "-DCMAKE_BUILD_TYPE=Debug")


def test_c_unit_tests_native_asan(native_asan):
    tests = c_tests(native_asan)
    assert "test_reader" in {t.name for t in tests}
    for t in tests:
        r = subprocess.run([str(t)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{t.name}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


CROSS = {
    "aarch64": ("aarch64-linux-gnu.cmake", "aarch64-linux-gnu-gcc", ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]),
    "armv7": ("armv7-linux-gnueabihf.cmake", "arm-linux-gnueabihf-gcc", ["qemu-arm", "-L", "/usr/arm-linux-gnueabihf"]),
}


@pytest.fixture(scope="module", params=sorted(CROSS))
def cross_build(request, tmp_path_factory):
    toolchain, cc, qemu = CROSS[request.param]
    need(shutil.which(cc) is not None and shutil.which(qemu[0]) is not None,
         f"{cc} / {qemu[0]} not installed (apt: gcc-*-linux-gnu*, qemu-user)")
    build = cmake_build(tmp_path_factory.mktemp(f"cross-{request.param}"),
                        f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake/toolchains' / toolchain}")
    return request.param, build, qemu


def test_c_unit_tests_under_qemu(cross_build):
    arch, build, qemu = cross_build
    for t in c_tests(build):
        r = subprocess.run([*qemu, str(t)], cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{arch} {t.name}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("model", ["face_detection_short_range", "face_detection_full_range"])
def test_blazeface_under_qemu_matches_host(cross_build, blazeface_dir, model, tmp_path):
    """edgec-run cross-built for ARM under qemu vs the host's Python binding (fp32:
    within 1e-5 relative; FMA contraction is off, so usually identical)."""
    arch, build, qemu = cross_build
    path = edgec.convert(blazeface_dir / f"{model}.tflite").save(tmp_path / "m.edgec")
    it = edgec.Interpreter(path)
    x = blazeface_input(real_images()["astronaut"], it.inputs[0].shape[1])
    x.tofile(tmp_path / "in.bin")
    host = list(it.run(x).values())
    r = subprocess.run([*qemu, str(build / "edgec-run"), str(path), "-i", str(tmp_path / "in.bin"),
                        "-o", str(tmp_path), "--info"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    for i, (d, want) in enumerate(zip(it.outputs, host)):
        got = np.fromfile(tmp_path / f"output_{i}.bin", dtype=d.dtype).reshape(d.shape)
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        assert rel <= 1e-5, f"{arch} {model} {d.name}: relative difference {rel:.3g}"


def test_edgec_run_reports_errors(tmp_path):
    tool = installed_tool("edgec-run")
    need(tool.exists(), "edgec-run is not installed")
    bad = tmp_path / "bad.edgec"
    bad.write_bytes(b"EDGC" + b"\0" * 10)
    r = subprocess.run([str(tool), str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "shorter than the 64-byte header" in r.stderr
    r = subprocess.run([str(tool)], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr
