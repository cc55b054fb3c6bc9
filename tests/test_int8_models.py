"""int8 models made by TensorFlow's own converter (tests/fixtures/make_int8_models.py),
imported as they are (int8_ops.tflite adds standalone ReLU, tanh, sigmoid, requantize,
concatenation and pooling) and run by the C core, bit-exact with TFLite's reference kernels
(LiteRT BUILTIN_REF, which tflite-micro matches) on real photos and random inputs; the
same bytes from edgec-run cross-built for aarch64 under qemu."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import litert_interpreter, litert_run, need, real_images
from edgec.runtime import format as fmt, reference

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODELS = ["mobilenet_v2_035_96_int8", "mobilenet_v2_035_144_int8", "mobilenet_v2_224_int8", "efficientnet_b0_int8",
          "int8_ops"]


def quantized_photo(img, detail, name):
    from PIL import Image
    h, w = detail.shape[1:3]
    x = np.asarray(Image.fromarray(img).convert("RGB").resize((w, h), Image.BILINEAR), np.float32)
    if "efficientnet" not in name:
        x = x / 127.5 - 1  # EfficientNet normalizes inside the model
    scale, zp = detail.quantization
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)[None]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("int8")
    return {n: edgec.convert(FIXTURES / f"{n}.tflite").save(d / f"{n}.edgec") for n in MODELS}


def inputs_for(it, name):
    d = it.inputs[0]
    photos = [quantized_photo(img, d, name) for img in real_images().values()]
    rng = np.random.default_rng(7)
    return photos + [rng.integers(-128, 128, d.shape).astype(np.int8) for _ in range(2)]


@pytest.mark.parametrize("name", MODELS)
def test_bit_exact_with_builtin_ref(converted, name):
    it = edgec.Interpreter(converted[name])
    assert it.inputs[0].dtype == np.int8 and it.outputs[0].dtype == np.int8
    ref = litert_interpreter(FIXTURES / f"{name}.tflite", reference_kernels=True)
    for x in inputs_for(it, name):
        want = litert_run(ref, [x])[0]
        got = list(it.run(x).values())[0]
        np.testing.assert_array_equal(got, want.reshape(got.shape))


@pytest.mark.parametrize("name", ["mobilenet_v2_035_96_int8", "efficientnet_b0_int8"])
def test_reference_executor_is_bit_exact_too(converted, name):
    it = edgec.Interpreter(converted[name])
    x = inputs_for(it, name)[0]
    want = list(it.run(x).values())[0]
    got = list(reference.run_model(converted[name], {it.inputs[0].name: x}).values())[0]
    np.testing.assert_array_equal(got, want)


def test_swish_is_one_table(converted):
    """EfficientNet's int8 swish, MUL(x, LOGISTIC(x)), is folded into one LOOKUP table
    (converters/passes/lookup_mul.py); only the squeeze-excite MULs (a broadcast) remain.
    test_matches_builtin_ref checks the folded model bit for bit."""
    from edgec.runtime import format as fmt
    ops = [o.op for o in fmt.read_model(Path(converted["efficientnet_b0_int8"]).read_bytes()).ops]
    assert ops.count("LOOKUP") == 65 and ops.count("MUL") == 16


def test_threads_do_not_change_int8_bits(converted):
    path = converted["mobilenet_v2_035_144_int8"]
    one, two = edgec.Interpreter(path), edgec.Interpreter(path, num_threads=2)
    for x in inputs_for(one, "mobilenet"):
        np.testing.assert_array_equal(list(one.run(x).values())[0], list(two.run(x).values())[0])


def test_int8_under_qemu_aarch64(converted, tmp_path):
    """edgec-run cross-built for aarch64 gives the host's bytes exactly."""
    from test_c_core import CROSS, cmake_build
    toolchain, cc, qemu = CROSS["aarch64"]
    need(shutil.which(cc) is not None and shutil.which(qemu[0]) is not None, "aarch64 toolchain / qemu missing")
    root = Path(__file__).resolve().parents[1]
    build = cmake_build(tmp_path / "build", f"-DCMAKE_TOOLCHAIN_FILE={root / 'cmake/toolchains' / toolchain}",
                        "-DEDGEC_TESTS=OFF")
    for name in MODELS:
        it = edgec.Interpreter(converted[name])
        x = inputs_for(it, name)[0]
        x.tofile(tmp_path / "in.bin")
        r = subprocess.run([*qemu, str(build / "edgec-run"), str(converted[name]), "-i", str(tmp_path / "in.bin"),
                            "-o", str(tmp_path)], capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr
        got = np.fromfile(tmp_path / "output_0.bin", dtype=np.int8)
        np.testing.assert_array_equal(got, list(it.run(x).values())[0].ravel(), err_msg=name)


def test_arena_budget(converted):
    """Arena regression budgets (bytes), as TFLM keeps them: the plan may only shrink.
    Weights repacked for SIMD kernels are counted apart: at most the weights' own size
    plus padding to 16 channels and 12 bytes per channel (bias, multiplier, shift)."""
    # (+3 KB and +10 KB since the SIMD conv path: its scratch holds an im2col row)
    budgets = {"mobilenet_v2_035_96_int8": 141_000, "mobilenet_v2_224_int8": 1_516_000}
    for name, budget in budgets.items():
        it = edgec.Interpreter(converted[name])
        activations = it.arena_bytes - it.packed_bytes
        assert activations <= budget, f"{name}: arena {activations} > budget {budget}"
        model = fmt.read_model(Path(converted[name]).read_bytes())
        weights = sum(t.nbytes for t in model.tensors if t.storage == "constant")
        # packed = weights padded to 16 channels + 7 int32 per channel (bias', multiplier,
        # shift and 4 precomputed shift terms, requant_terms.h): 1.33x on the 0.35 model
        assert it.packed_bytes <= 1.4 * weights, f"{name}: packed {it.packed_bytes} vs weights {weights}"
