"""BINARY_CONV2D (issue #7): every XNOR-popcount variant (scalar reference, POPCNT, AVX2
pshufb; AVX-512 VPOPCNTQ only where the CPU has it) equal to runtime/reference.py, on
random shapes, strides, dilations, paddings, channel counts across 64-bit words, and
inputs with exact zeros and NaNs (binarized to 0); the sign-bit _ref pack/unpack."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import edgec
from edgec.converters.graph import Graph
from edgec.runtime import bnn, reference
from test_ops_differential import conv_out

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VARIANTS = ["default", "popcnt", "reference"]


def run_with(data, feeds, kernels, threads=1):
    old = os.environ.pop("EDGEC_KERNELS", None)
    if kernels != "default":
        os.environ["EDGEC_KERNELS"] = kernels
    try:
        return edgec.Interpreter(data, num_threads=threads).run(feeds)
    finally:
        os.environ.pop("EDGEC_KERNELS", None)
        if old is not None:
            os.environ["EDGEC_KERNELS"] = old


def binary_conv_graph(rng, n, h, w, c, oc, k, stride, dilation, pads, act, with_bias, zeros=0.1):
    t, l, b, r = pads
    oh, ow = conv_out(h, k, stride, dilation, t, b), conv_out(w, k, stride, dilation, l, r)
    if oh < 1 or ow < 1:
        return None, None
    signs = np.where(rng.random((oc, k, k, c)) < 0.5, -1, 1).astype(np.int8)
    g = Graph(name="binary-conv")
    g.add_tensor("x", (n, h, w, c))
    g.inputs.append("x")
    bits = bnn.pack_sign_bits_ref(signs)
    g.add_tensor("w", bits.shape, np.uint8, bits)
    g.add_tensor("s", (oc,), np.float32, rng.uniform(0.1, 2, oc).astype(np.float32))
    names = ["x", "w", "s"]
    if with_bias:
        g.add_tensor("b", (oc,), np.float32, rng.standard_normal(oc).astype(np.float32))
        names.append("b")
    g.add_tensor("y", (n, oh, ow, oc))
    g.add_node("BINARY_CONV2D", names, ["y"], {"stride_h": stride, "stride_w": stride, "dilation_h": dilation,
               "dilation_w": dilation, "pad_top": t, "pad_left": l, "pad_bottom": b, "pad_right": r,
               "act_min": act[0], "act_max": act[1]}, name="bconv")
    g.outputs = ["y"]
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    if zeros:  # exact zeros and NaNs binarize to 0; without them the kernels skip the mask
        x[rng.random(x.shape) < zeros] = 0.0
        x[rng.random(x.shape) < zeros / 5] = np.nan
    return g, {"x": x}


@SETTINGS
@given(st.integers(1, 2), st.integers(1, 9), st.integers(1, 9), st.integers(1, 150), st.integers(1, 20),
       st.integers(1, 3), st.integers(1, 2), st.integers(1, 2), st.tuples(*[st.integers(0, 2)] * 4),
       st.sampled_from([(-np.inf, np.inf), (0.0, 6.0)]), st.booleans(), st.sampled_from([0.0, 0.1]),
       st.integers(0, 10 ** 6))
def test_binary_conv_variants(n, h, w, c, oc, k, stride, dilation, pads, act, with_bias, zeros, seed):
    rng = np.random.default_rng(seed)
    g, feeds = binary_conv_graph(rng, n, h, w, c, oc, k, stride, dilation, pads, act, with_bias, zeros)
    if g is None:
        return
    data = edgec.Model(g).to_bytes()
    want = reference.run_model(data, feeds)["y"]
    for kernels in VARIANTS:
        np.testing.assert_array_equal(run_with(data, feeds, kernels)["y"], want, err_msg=kernels)
    np.testing.assert_array_equal(run_with(data, feeds, "default", threads=2)["y"], want)


def test_sign_bits_ref():
    rng = np.random.default_rng(0)
    for c in (1, 7, 64, 65, 130):
        w = np.where(rng.random((3, 2, 2, c)) < 0.5, -1, 1).astype(np.int8)
        bits = bnn.pack_sign_bits_ref(w)
        assert bits.shape == (3, 2, 2, 8 * ((c + 63) // 64)) and bits.dtype == np.uint8
        np.testing.assert_array_equal(bnn.unpack_sign_bits_ref(bits, c), w)
    np.testing.assert_array_equal(bnn.binarize_ref(np.array([-2.0, 0.0, 3.0, np.nan, -0.0], np.float32)),
                                  [-1, 0, 1, 0, 0])


def test_binary_conv_bad_weights_are_a_clear_error():
    rng = np.random.default_rng(0)
    g, _ = binary_conv_graph(rng, 1, 5, 5, 70, 4, 3, 1, 1, (1, 1, 1, 1), (-np.inf, np.inf), False)
    bits = g.tensors["w"].data[..., :8]  # one 64-bit word for 70 channels: too few
    g.tensors["w"].data, g.tensors["w"].shape = bits, bits.shape
    with pytest.raises(edgec.ModelError, match="do not fit 70 input channels"):
        edgec.Interpreter(edgec.Model(g).to_bytes())


def bnn_onnx(rng, zeros=True):
    """A BNN as PyTorch exports it: Sign(x) -> Conv(Sign(W)) + bias -> Relu -> Sign ->
    Conv(+-alpha W, stride 2) -> Mul(per-channel scale) -> Flatten -> Sign -> Gemm(Sign(W3),
    transB) + bias; powers-of-two alphas."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w1 = rng.standard_normal((16, 70, 3, 3)).astype(np.float32)
    b1 = rng.standard_normal(16).astype(np.float32)
    alpha = (2.0 ** rng.integers(-3, 2, 8)).astype(np.float32)
    w2 = (np.where(rng.random((8, 16, 3, 3)) < 0.5, -1, 1) * alpha[:, None, None, None]).astype(np.float32)
    s2 = rng.uniform(0.5, 2, (1, 8, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Sign", ["x"], ["xs"], name="sign1"),
        helper.make_node("Sign", ["w1"], ["w1s"], name="sign_w1"),
        helper.make_node("Conv", ["xs", "w1s", "b1"], ["c1"], name="bconv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Sign", ["r1"], ["r1s"], name="sign2"),
        helper.make_node("Conv", ["r1s", "w2"], ["c2"], name="bconv2", pads=[1, 0, 1, 1], strides=[2, 2]),
        helper.make_node("Mul", ["c2", "s2"], ["m2"], name="scale2"),
        helper.make_node("Flatten", ["m2"], ["f2"], name="flatten"),
        helper.make_node("Sign", ["f2"], ["f2s"], name="sign3"),
        helper.make_node("Sign", ["w3"], ["w3s"], name="sign_w3"),
        helper.make_node("Gemm", ["f2s", "w3s", "b3"], ["y"], name="bfc", transB=1),
    ]
    w3 = rng.standard_normal((10, 8 * 6 * 5)).astype(np.float32)
    b3 = rng.standard_normal(10).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for n, a in (("w1", w1), ("b1", b1), ("w2", w2), ("s2", s2),
                                                        ("w3", w3), ("b3", b3))]
    g = helper.make_graph(nodes, "bnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 70, 12, 11])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    x = rng.standard_normal((1, 70, 12, 11)).astype(np.float32)
    if zeros:
        x[rng.random(x.shape) < 0.1] = 0.0
    return model.SerializeToString(), x


def test_onnx_bnn_matches_onnxruntime_exactly():
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    data, x = bnn_onnx(rng)
    m = edgec.convert(data, progress=False)
    ops = [n.op for n in m.graph.nodes]
    assert ops.count("BINARY_CONV2D") == 3 and "CONV2D" not in ops and "FULLY_CONNECTED" not in ops
    # the graph's own arithmetic: onnxruntime without graph optimizations. Its default
    # Conv+Mul fusion folds the scale into the weights and rounds differently, and where a
    # sum is exactly 0 that rounding flips the next Sign: not the model's arithmetic.
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = next(iter(edgec.Interpreter(m.to_bytes()).run({"x": x}).values()))
    np.testing.assert_array_equal(got, want)  # binary math is exact
    np.testing.assert_array_equal(next(iter(reference.run_model(m.to_bytes(), {"x": x}).values())), want)


def test_onnx_sign_elsewhere_is_a_clear_error():
    import onnx
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Sign", ["x"], ["s"], name="sign"), helper.make_node("Add", ["s", "x"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    with pytest.raises(edgec.ConversionError, match=r"Sign is supported as the binarized input of Conv.*'add' \(Add\)"):
        edgec.convert(data, progress=False)
