"""Block-sparse weights (issue #7): SPARSE_FULLY_CONNECTED's kernels against the C
reference loops and runtime/reference.py (hypothesis over shapes, blocks and sparsity
patterns), int8 bit-exact with the dense int8 kernels on the same pruned weights, the
_ref pack/unpack, malformed CSR rejected at load, and pruning end to end on PP-OCR cls."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import edgec
from conftest import need
from edgec.converters.graph import Graph
from edgec.converters.passes.prune import lower_sparse
from edgec.runtime import format as fmt, reference, sparse as sp
from test_int8_differential import int8_graph
from test_ops_differential import run_both

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
quant = st.tuples(st.floats(0.005, 0.5), st.integers(-128, 127))
blocks = st.sampled_from(["1x4", "4x1"])


def with_reference_kernels(data, feeds):
    os.environ["EDGEC_KERNELS"] = "reference"
    try:
        it = edgec.Interpreter(data)
        assert it.packed_bytes == 0
        return it.run(feeds)
    finally:
        del os.environ["EDGEC_KERNELS"]


def random_pattern(rng, n, k, block, density):
    """Dense [n, k] with a random set of nonzero blocks (and some explicit zero entries
    inside kept blocks)."""
    bh, bw = sp.block_shape(block)
    keep = rng.random((n // bh, k // bw)) < density
    mask = np.repeat(np.repeat(keep, bh, 0), bw, 1)
    return mask & (rng.random((n, k)) < 0.9)


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 10), blocks, st.floats(0.0, 1.0), st.booleans(),
       st.sampled_from([(-np.inf, np.inf), (0.0, 6.0)]), st.integers(0, 10 ** 6))
def test_sparse_f32_kernels(m, kb, nb, block, density, with_bias, act, seed):
    rng = np.random.default_rng(seed)
    bh, bw = sp.block_shape(block)
    n, k = nb * bh * (2 if bh == 1 else 1), kb * bw * (2 if bw == 1 else 1)
    w = np.where(random_pattern(rng, n, k, block, density), rng.standard_normal((n, k)), 0).astype(np.float32)
    values, cols, rowptr = sp.pack_block_csr_ref(w, block)
    g = Graph(name="sparse-f32")
    g.add_tensor("x", (m, k))
    g.inputs.append("x")
    names = ["x"]
    for name, a in (("v", values), ("c", cols), ("r", rowptr)):
        g.add_tensor(name, a.shape, a.dtype, a)
        names.append(name)
    if with_bias:
        g.add_tensor("b", (n,), np.float32, rng.standard_normal(n).astype(np.float32))
    g.add_tensor("y", (m, n))
    g.add_node("SPARSE_FULLY_CONNECTED", names + (["b"] if with_bias else []), ["y"],
               {"block_h": bh, "block_w": bw, "act_min": act[0], "act_max": act[1]}, name="sparse")
    g.outputs = ["y"]
    feeds = {"x": rng.standard_normal((m, k)).astype(np.float32)}
    got = run_both(g, feeds)["y"]  # default kernels vs reference.py, 1 and 2 threads
    ref_c = with_reference_kernels(edgec.Model(g).to_bytes(), feeds)["y"]
    dense = reference.fully_connected([feeds["x"], w, g.tensors["b"].data if with_bias else None],
                                      {"act_min": act[0], "act_max": act[1]}, [g.tensors["y"]])[0]
    scale = max(float(np.abs(dense).max()), 1e-6)
    assert float(np.abs(ref_c - dense).max()) <= 1e-5 * scale
    assert float(np.abs(got - ref_c).max()) <= 1e-5 * scale


def int8_pair(rng, m, k, n, block, density, xq, yq, act, seed, spatial, float_requant=False):
    """(dense int8 graph, sparse int8 graph, feeds): the same pruned weights as a dense
    1x1 CONV2D (spatial) or FULLY_CONNECTED (integer requantization, or TFLite's per-channel
    double path when float_requant), and lowered to SPARSE_FULLY_CONNECTED."""
    w = np.where(random_pattern(rng, n, k, block, density), rng.integers(-127, 128, (n, k)), 0).astype(np.int8)
    scales = rng.uniform(0.001, 0.02, n).astype(np.float32)
    bias = rng.integers(-20000, 20000, n).astype(np.int32)
    if spatial:
        h = max(1, m // 5)
        shape_x, shape_y, op = (1, h, m // h, k), (1, h, m // h, n), "CONV2D"
        wt = w.reshape(n, 1, 1, k)
        p = {"act_min": act[0], "act_max": act[1]}
    else:
        shape_x, shape_y, op, wt, p = (m, k), (m, n), "FULLY_CONNECTED", w, {}
    mult = rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32)
    shift = rng.integers(-12, -6, n).astype(np.int32)
    graphs = []
    for _ in range(2):
        g, feeds = int8_graph(op, [shape_x], [xq], shape_y, yq, p, [("w", wt, scales), ("b", bias, None)], seed)
        if op == "FULLY_CONNECTED" and not float_requant:  # integer requantization, as int8 1x1 convs
            g.nodes[0].params["requant"] = 0
            g.add_tensor("mult", (n,), np.int32, mult)
            g.add_tensor("shift", (n,), np.int32, shift)
            g.nodes[0].inputs[3:5] = ["mult", "shift"]
        graphs.append(g)
    sparse = graphs[1]
    from edgec.converters.passes import prune
    keep = prune.MIN_WEIGHTS
    prune.MIN_WEIGHTS = 0
    try:
        lowered = lower_sparse(sparse, block, min_zero_blocks=0.0)
    finally:
        prune.MIN_WEIGHTS = keep
    assert lowered and sparse.nodes[0].op == "SPARSE_FULLY_CONNECTED"
    return graphs[0], sparse, feeds


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 10), blocks, st.floats(0.0, 1.0), quant, quant,
       st.sampled_from([(-np.inf, np.inf), (0.0, 6.0)]), st.sampled_from(["conv", "fc", "fc_float_requant"]),
       st.integers(0, 10 ** 6))
def test_sparse_int8_bit_exact(m, kb, nb, block, density, xq, yq, act, layer, seed):
    rng = np.random.default_rng(seed)
    bh, bw = sp.block_shape(block)
    n, k = nb * bh * (2 if bh == 1 else 1), kb * bw * (3 if bw == 1 else 1)
    dense, sparse, feeds = int8_pair(rng, m, k, n, block, density, xq, yq, act, seed, layer == "conv",
                                     layer == "fc_float_requant")
    assert sparse.nodes[0].params["requant"] == (layer == "fc_float_requant")
    want = edgec.Interpreter(edgec.Model(dense).to_bytes()).run(feeds)["y"]
    data = edgec.Model(sparse).to_bytes()
    got = run_both(sparse, feeds)["y"]  # == reference.py, 1 and 2 threads
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(with_reference_kernels(data, feeds)["y"], want)


@pytest.mark.parametrize("block", ["1x4", "4x1"])
def test_pack_unpack_ref(block):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((32, 48)).astype(np.float32)
    pruned = sp.prune_blocks_ref(w, 0.8, block)
    values, cols, rowptr = sp.pack_block_csr_ref(pruned, block)
    assert len(cols) == round(0.2 * 32 * 48 / 4)
    np.testing.assert_array_equal(sp.unpack_block_csr_ref(values, cols, rowptr, w.shape, block), pruned)
    kept = pruned != 0  # the kept blocks are the largest by L1 norm
    assert np.abs(w[kept]).mean() > np.abs(w[~kept]).mean()
    with pytest.raises(ValueError, match="choose 1x4 or 4x1"):
        sp.block_shape("2x2")


def sparse_model(rng):
    w = sp.prune_blocks_ref(rng.standard_normal((16, 32)).astype(np.float32), 0.75, "1x4")
    values, cols, rowptr = sp.pack_block_csr_ref(w, "1x4")
    g = Graph(name="sparse-csr")
    g.add_tensor("x", (4, 32))
    g.inputs.append("x")
    for name, a in (("v", values), ("c", cols), ("r", rowptr)):
        g.add_tensor(name, a.shape, a.dtype, a)
    g.add_tensor("y", (4, 16))
    g.add_node("SPARSE_FULLY_CONNECTED", ["x", "v", "c", "r"], ["y"], {"block_h": 1, "block_w": 4}, name="fc")
    g.outputs = ["y"]
    return edgec.Model(g).to_bytes()


def corrupt(data: bytes, tensor: str, index: int, value: int) -> bytes:
    """Set element `index` of int32 constant `tensor` and fix the checksum."""
    m = fmt.read_model(data)
    t = next(t for t in m.tensors if t.name == tensor)
    out = bytearray(data)
    out[t.offset + 4 * index:t.offset + 4 * index + 4] = np.int32(value).tobytes()
    magic, vmaj, vmin, flags, hsize, fsize, table, nsec, _crc = fmt.HEADER.unpack_from(out, 0)
    fmt.HEADER.pack_into(out, 0, magic, vmaj, vmin, flags, hsize, fsize, table, nsec, fmt.crc32(out[fmt.HEADER_SIZE:]))
    return bytes(out)


@pytest.mark.parametrize("tensor,index,value,message", [
    ("c", 0, 8, "column 8, outside"), ("c", 1, -1, "outside"), ("r", 3, 1000, "row pointer"),
    ("r", 0, 1, "row pointers run from 1"), ("r", 5, 0, "non-decreasing"), ("c", 1, 0, "strictly increasing")])
def test_malformed_csr_is_a_clear_error(tensor, index, value, message):
    rng = np.random.default_rng(1)
    data = sparse_model(rng)
    layout = {name for name, _off, _size in fmt.read_model(data).sections}
    assert "SPARSE_WEIGHTS" in layout  # the CSR lives in its reserved section
    edgec.Interpreter(data).run({"x": rng.standard_normal((4, 32)).astype(np.float32)})
    bad = corrupt(data, tensor, index, value)
    with pytest.raises(edgec.ModelError, match=message):
        edgec.Interpreter(bad)
    with pytest.raises(ValueError, match="malformed block CSR"):
        reference.run_model(bad, {"x": np.zeros((4, 32), np.float32)})


def ppocr_cls() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    need(spec is not None, "rapidocr is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


@pytest.mark.parametrize("quantize", ["fp32", "int8"])
def test_pruned_ppocr_cls(quantize):
    """PP-OCR cls at 80% 1x4 block sparsity: the sparse model equals its dense pruned
    twin (bit for bit in int8) and reference.py."""
    shape = (1, 3, 48, 192)
    rng = np.random.default_rng(0)
    cal = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(4)] if quantize == "int8" else None
    kw = dict(input_shape={"x": shape}, quantize=quantize, calibration=cal, sparsity=0.8, progress=False)
    sparse = edgec.convert(ppocr_cls(), **kw)
    dense = edgec.convert(ppocr_cls(), sparse_kernels=False, **kw)
    layers = sparse.graph.metadata["sparsity"]["sparse_layers"]
    assert len(layers) >= 10 and [n.op for n in sparse.graph.nodes].count("SPARSE_FULLY_CONNECTED") == len(layers)
    assert "SPARSE_FULLY_CONNECTED" not in [n.op for n in dense.graph.nodes]
    for name in layers:  # 80% of the blocks are zero in the dense twin
        node = next(n for n in dense.graph.nodes if n.name == name)
        w = dense.graph.tensors[node.inputs[1]].data
        assert abs(float((w.reshape(w.shape[0], -1) == 0).mean()) - 0.8) < 0.02
    x = {"x": rng.uniform(-1, 1, shape).astype(np.float32)}
    got = edgec.Interpreter(sparse.to_bytes()).run(x)
    twin = edgec.Interpreter(dense.to_bytes()).run(x)
    ref = reference.run_model(sparse.to_bytes(), x)
    for name, want in ref.items():
        if quantize == "int8":
            np.testing.assert_array_equal(got[name], twin[name])
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-5)
        np.testing.assert_allclose(got[name], twin[name], rtol=0, atol=1e-5)


def test_cli_sparsity(tmp_path):
    out = tmp_path / "cls.edgec"
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "convert", str(ppocr_cls()), "-o", str(out), "--input-shape",
                        "x:1,3,48,192", "--sparsity", "0.8", "--sparse-block", "4x1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = fmt.read_model(out.read_bytes())
    ops = [o for o in m.ops if o.op == "SPARSE_FULLY_CONNECTED"]
    assert ops and all((o.params["block_h"], o.params["block_w"]) == (4, 1) for o in ops)
    assert "SPARSE_WEIGHTS" in {s[0] for s in m.sections}


def test_blazeface_full_range_sparse_on_sparse_kernels(blazeface_dir):
    """TFLite's sparse BlazeFace (DENSIFY of 70% element-sparse 1x1 conv weights, folded
    at conversion) run on the block-sparse kernels matches LiteRT (BlazeFace tolerance).
    Its zeros are unstructured (~24% of 1x4 blocks are empty), so a default conversion
    keeps those layers dense; here they are lowered on purpose to run the sparse path."""
    from conftest import blazeface_input, litert_interpreter, litert_run, real_images
    from test_blazeface import close
    src = blazeface_dir / "face_detection_full_range_sparse.tflite"
    m = edgec.convert(src, progress=False)
    assert "SPARSE_FULLY_CONNECTED" not in [n.op for n in m.graph.nodes]
    assert len(lower_sparse(m.graph, "1x4", min_zero_blocks=0.2)) >= 20
    it = edgec.Interpreter(edgec.Model(m.graph).to_bytes())
    ref_it = litert_interpreter(src)
    size = it.inputs[0].shape[1]
    for img_name, img in real_images().items():
        x = blazeface_input(img, size)
        for o, r, d in zip(it.run(x).values(), litert_run(ref_it, [x]), it.outputs):
            close(o, r, f"{img_name}/{d.name}")


def test_lower_sparse_skips_flattening_fc():
    """FULLY_CONNECTED may read a [1, 4, 4, 64] input as K = 1024; the sparse op reads
    [..., K], so such a layer stays dense instead of failing at load."""
    rng = np.random.default_rng(0)
    w = sp.prune_blocks_ref(rng.standard_normal((64, 1024)).astype(np.float32), 0.8, "1x4")
    g = Graph(name="flatten-fc")
    g.add_tensor("x", (1, 4, 4, 64))
    g.inputs.append("x")
    g.add_tensor("w", w.shape, np.float32, w)
    g.add_tensor("y", (1, 64))
    g.add_node("FULLY_CONNECTED", ["x", "w"], ["y"], {}, name="fc")
    g.outputs = ["y"]
    assert lower_sparse(g, "1x4") == [] and g.nodes[0].op == "FULLY_CONNECTED"
