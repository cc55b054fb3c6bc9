"""CUDA backend (runtime/ops/cuda, runtime/core/cuda.c) without a GPU: the kernels'
bodies (kernels.cuh) compiled for the host run serially over their whole grid
(device="cuda-emulated") through the same executor hook, managed-arena layout and
staging as device="cuda", on BlazeFace (fp32) and the TF-converted int8 MobileNetV2:
int8 byte-identical to the CPU core, fp32 bit-identical to the CPU reference kernels and
within 1e-5 of the SIMD ones. Without libcuda, device="cuda" falls back with the reason
(or raises with fallback=False). The real-GPU comparison runs where a GPU and a
CUDA-enabled build exist (bench/cuda_check.py builds one); it is skipped elsewhere."""
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import blazeface_input, real_images
from edgec.runtime import cuda_info, format as fmt
from test_int8_models import quantized_photo

FIXTURES = Path(__file__).resolve().parent / "fixtures"
INT8 = ["mobilenet_v2_035_96_int8", "mobilenet_v2_224_int8"]
BLAZEFACE = ["face_detection_short_range", "face_detection_full_range"]
GPU_OPS = {"CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED", "ADD"}  # what these models put on the GPU


@pytest.fixture(scope="module")
def models(blazeface_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("cuda")
    out = {n: edgec.convert(FIXTURES / f"{n}.tflite").save(d / f"{n}.edgec") for n in INT8}
    out.update({n: edgec.convert(blazeface_dir / f"{n}.tflite").save(d / f"{n}.edgec") for n in BLAZEFACE})
    out["float_ops"] = edgec.convert(FIXTURES / "float_ops.tflite").save(d / "float_ops.edgec")
    return out


def gpu_op_count(path) -> int:
    m = fmt.read_model(Path(path).read_bytes())
    return sum(op.op in GPU_OPS for op in m.ops)


def inputs(it, name):
    d = it.inputs[0]
    if d.dtype == np.int8:
        xs = [quantized_photo(img, d, name) for img in real_images().values()]
        return xs + [np.random.default_rng(3).integers(-128, 128, d.shape).astype(np.int8)]
    return [blazeface_input(img, d.shape[1]) for img in real_images().values()]


@pytest.mark.parametrize("name", INT8)
def test_emulated_int8_mobilenet_is_byte_identical(models, name):
    cpu, emu = edgec.Interpreter(models[name]), edgec.Interpreter(models[name], device="cuda-emulated")
    assert emu.device == "cuda-emulated" and emu.device_ops == gpu_op_count(models[name]) > 50
    for x in inputs(cpu, name):
        want, got = cpu.run(x), emu.run(x)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])


@pytest.mark.parametrize("name", BLAZEFACE)
def test_emulated_blazeface_fp32(models, name, monkeypatch):
    simd = edgec.Interpreter(models[name])
    monkeypatch.setenv("EDGEC_KERNELS", "reference")
    ref = edgec.Interpreter(models[name])
    emu = edgec.Interpreter(models[name], device="cuda-emulated")
    assert emu.device_ops == gpu_op_count(models[name]) > 30  # short_range: 37 (16 with fused residuals)
    for x in inputs(simd, name):
        fast, want, got = simd.run(x), ref.run(x), emu.run(x)
        for k in want:
            # same summation order as the CPU reference loops, no FMA: the same floats
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
            assert np.abs(got[k] - fast[k]).max() <= 1e-5 * float(np.abs(fast[k]).max()), k


def test_emulated_fp32_with_random_biases(models, monkeypatch):
    """BlazeFace's depthwise biases are all zero: write random ones into the file's
    constants (checksum not verified) so bias handling is compared too."""
    monkeypatch.setenv("EDGEC_KERNELS", "reference")
    path = models["face_detection_short_range"]
    data = bytearray(Path(path).read_bytes())
    m = fmt.read_model(bytes(data))
    rng = np.random.default_rng(2)
    patched = 0
    for op in m.ops:
        if op.op in ("CONV2D", "DEPTHWISE_CONV2D") and len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = m.tensors[op.inputs[2]]
            data[b.offset:b.offset + b.nbytes] = rng.standard_normal(b.nbytes // 4).astype(np.float32).tobytes()
            patched += 1
    assert patched > 20
    ref = edgec.Interpreter(bytes(data), verify_checksum=False)
    emu = edgec.Interpreter(bytes(data), verify_checksum=False, device="cuda-emulated")
    x = inputs(ref, "face")[0]
    want, got = ref.run(x), emu.run(x)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_emulated_float_gemm_and_elementwise(models, monkeypatch):
    """float_ops: fp32 FULLY_CONNECTED and same-shape element-wise ops on the GPU kernels,
    broadcasting ones and the rest on the CPU between them (managed arena, no copies)."""
    monkeypatch.setenv("EDGEC_KERNELS", "reference")
    path = models["float_ops"]
    ref, emu = edgec.Interpreter(path), edgec.Interpreter(path, device="cuda-emulated")
    m = fmt.read_model(Path(path).read_bytes())
    assert 0 < emu.device_ops < len(m.ops)
    rng = np.random.default_rng(11)
    feeds = {d.name: rng.standard_normal(d.shape).astype(d.dtype) for d in ref.inputs}
    want, got = ref.run(feeds), emu.run(feeds)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_emulated_threads_and_repeated_runs(models):
    path = models["mobilenet_v2_035_96_int8"]
    cpu, emu = edgec.Interpreter(path), edgec.Interpreter(path, device="cuda-emulated", num_threads=2)
    xs = inputs(cpu, "mobilenet")
    for x in xs + xs[::-1]:  # staging buffers are reused: no state leaks between runs
        np.testing.assert_array_equal(list(emu.run(x).values())[0], list(cpu.run(x).values())[0])


def test_unknown_device_is_rejected(models):
    with pytest.raises(ValueError, match="device must be one of"):
        edgec.Interpreter(models["mobilenet_v2_035_96_int8"], device="gpu")


def test_cuda_without_driver_falls_back_with_the_reason(models):
    version, text = cuda_info()
    if version:
        pytest.skip(f"a CUDA driver is present ({text}): test_gpu_matches_cpu covers this machine")
    assert "libcuda.so.1" in text
    path = models["mobilenet_v2_035_96_int8"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        it = edgec.Interpreter(path, device="cuda")
    assert it.device == "cpu" and it.device_ops == 0
    assert any("libcuda.so.1" in str(w.message) and "running on the CPU" in str(w.message) for w in caught)
    x = inputs(it, "mobilenet")[0]
    np.testing.assert_array_equal(list(it.run(x).values())[0], list(edgec.Interpreter(path).run(x).values())[0])
    with pytest.raises(edgec.DeviceError, match="libcuda.so.1"):
        edgec.Interpreter(path, device="cuda", fallback=False)


def test_cli_info_run_and_bench_name_the_device(models, tmp_path):
    cli = [sys.executable, "-m", "edgec.cli"]
    r = subprocess.run([*cli, "info"], capture_output=True, text=True, check=True)
    assert "CUDA:" in r.stdout
    path = models["mobilenet_v2_035_96_int8"]
    x = inputs(edgec.Interpreter(path), "mobilenet")[0]
    np.save(tmp_path / "x.npy", x)
    for device in ("cuda-emulated", "cuda"):
        out = tmp_path / f"{device}.npz"
        r = subprocess.run([*cli, "run", str(path), "--input", str(tmp_path / "x.npy"), "--output", str(out),
                            "--device", device], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        got = np.load(out)
        np.testing.assert_array_equal(list(got.values())[0], list(edgec.Interpreter(path).run(x).values())[0])
        if device == "cuda" and not cuda_info()[0]:
            assert "running on the CPU" in r.stderr
    r = subprocess.run([*cli, "bench", str(path), "--device", "cuda-emulated", "--rounds", "2", "--warmup", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "cuda-emulated" in r.stdout


def test_gpu_matches_cpu(models):
    """On a machine with a GPU and a libedgec built with EDGEC_CUDA=ON (bench/cuda_check.py)."""
    version, text = cuda_info()
    if not version:
        pytest.skip(f"no CUDA driver: {text}")
    for name in INT8 + BLAZEFACE:
        try:
            gpu = edgec.Interpreter(models[name], device="cuda", fallback=False)
        except edgec.DeviceError as e:
            pytest.skip(str(e))
        cpu = edgec.Interpreter(models[name])
        for x in inputs(cpu, name):
            want, got = cpu.run(x), gpu.run(x)
            for k in want:
                if want[k].dtype == np.int8:
                    np.testing.assert_array_equal(got[k], want[k])
                else:
                    assert np.abs(got[k] - want[k]).max() <= 1e-5 * float(np.abs(want[k]).max()), (name, k)
