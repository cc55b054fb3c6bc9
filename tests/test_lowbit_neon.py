"""The aarch64 NEON T-MAC kernel (lut_gemm_neon.c, vqtbl1q) under qemu-aarch64 on
`-cpu cortex-a72` (Pi 4) and `-cpu max`, both table modes: LUT_FULLY_CONNECTED outputs equal the host's
runtime/reference.py bit for bit (float32 outputs included: the op's float steps are
ordered and unfused), and so does the C reference kernel there (EDGEC_KERNELS=reference);
armv7 (32-bit, reference kernel) under qemu-arm too."""
import shutil

import numpy as np
import pytest

import edgec
from conftest import need
from edgec.runtime import reference
from test_c_core import CROSS, ROOT, cmake_build
from test_lowbit import fc_graph
from test_neon_kernels import CPUS, aarch64, run_qemu  # noqa: F401  (aarch64 is a fixture)

CASES = [  # m, n, k, bits, group, x shape, table_mode
    (1, 96, 1024, 4, 128, None, 0), (1, 33, 300, 3, 64, None, 0), (5, 64, 200, 2, 32, None, 0),
    (3, 7, 13, 4, 32, None, 0), (9, 40, 136, 1, 128, None, 0), (12, 70, 96, 4, 64, (1, 3, 4, 96), 0),
    (2, 128, 4100, 2, 128, None, 0), (1, 20, 520, 3, 32, None, 0),
    (1, 96, 1024, 4, 128, None, 1), (5, 64, 200, 3, 32, None, 1), (12, 70, 96, 2, 64, (1, 3, 4, 96), 1),
]


def cases(tmp_path):
    out = []
    for i, (m, n, k, bits, group, shape, mode) in enumerate(CASES):
        g = fc_graph(m, n, k, bits, group, seed=i, bias=i % 2 == 0, act=(0.0, 6.0) if i == 3 else (-np.inf, np.inf),
                     x_shape=shape, table_mode=mode)
        rng = np.random.default_rng(100 + i)
        x = (rng.standard_normal(shape or (m, k)) * rng.uniform(0.1, 10)).astype(np.float32)
        if m > 1:
            x.reshape(m, k)[1] = 0.0
        path = tmp_path / f"lut{i}.edgec"
        edgec.Model(g).save(path)
        out.append((path, x, reference.run_model(path.read_bytes(), {"x": x})["y"]))
    return out


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("kernels", ["neon", "reference"])
def test_lut_kernels_under_qemu(aarch64, cpu, kernels, tmp_path):  # noqa: F811
    for path, x, want in cases(tmp_path):
        got = run_qemu(aarch64, cpu, path, [x], tmp_path / f"{path.stem}-{cpu}-{kernels}",
                       reference_kernels=kernels == "reference")
        y = np.fromfile(got[0], dtype=np.float32).reshape(want.shape)
        np.testing.assert_array_equal(y, want, err_msg=f"{path.name} on {cpu} ({kernels})")


@pytest.fixture(scope="module")
def armv7(tmp_path_factory):
    toolchain, cc, qemu = CROSS["armv7"]
    need(shutil.which(cc) is not None and shutil.which(qemu[0]) is not None, "armv7 toolchain / qemu missing")
    build = cmake_build(tmp_path_factory.mktemp("armv7"), f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake/toolchains' / toolchain}",
                        "-DEDGEC_TESTS=OFF")
    return build / "edgec-run", qemu


def test_lut_reference_kernel_armv7(armv7, tmp_path):
    for path, x, want in cases(tmp_path):
        got = run_qemu(armv7, "cortex-a7", path, [x], tmp_path / f"{path.stem}-armv7")
        y = np.fromfile(got[0], dtype=np.float32).reshape(want.shape)
        np.testing.assert_array_equal(y, want, err_msg=f"{path.name} on armv7")
