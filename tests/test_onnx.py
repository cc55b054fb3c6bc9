"""ONNX import on the PP-OCR models shipped in rapidocr's wheel (NCHW, opset 11, dynamic
dims, BatchNorm, HardSigmoid, exported GELU, ConvTranspose, Resize, a transformer
recognizer) against onnxruntime at two input sizes each."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import need

CASES = {
    "ch_ppocr_mobile_v2.0_cls_mobile.onnx": [(1, 3, 48, 192), (2, 3, 48, 320)],
    "PP-OCRv6_det_small.onnx": [(1, 3, 320, 320), (1, 3, 480, 640)],
    "PP-OCRv6_rec_small.onnx": [(1, 3, 48, 320), (1, 3, 48, 160)],
}


@pytest.fixture(scope="module")
def models_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    need(spec is not None, "rapidocr is not installed (pip install --no-deps rapidocr)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@pytest.mark.parametrize("name,shape", [(n, s) for n, shapes in CASES.items() for s in shapes])
def test_ppocr_matches_onnxruntime(models_dir, name, shape):
    import onnxruntime as ort
    path = models_dir / name
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    m = edgec.convert(path, input_shape={iname: shape})
    it = m.interpreter()
    assert it.inputs[0].shape == shape  # NCHW at the interface, like onnxruntime
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    want = sess.run(None, {iname: x})
    got = list(it.run(x).values())
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert np.abs(g - w).max() <= 1e-4 * np.abs(w).max(), f"{name} {shape}"


def test_layout_needs_few_transposes(models_dir):
    """NCHW models run on NHWC kernels without a transpose per op: the det model needs
    one at the input and one at the output."""
    m = edgec.convert(models_dir / "PP-OCRv6_det_small.onnx", input_shape={"x": (1, 3, 320, 320)})
    ops = [n.op for n in m.graph.nodes]
    assert ops.count("TRANSPOSE") == 2 and ops.count("CONV2D") > 40
    # Paddle2ONNX's bias adds (Conv -> Add, and the DB head's Conv -> DepthToSpace -> Add)
    # fold into conv biases (converters/passes/bias_add.py); test_ppocr_matches_onnxruntime
    # checks the outputs
    g = m.graph
    assert not [n.name for n in g.nodes if n.op == "ADD" and any(g.tensors[i].is_constant for i in n.inputs)]


def test_dynamic_input_needs_shape(models_dir):
    with pytest.raises(edgec.ConversionError, match=r"input 'x' has dynamic shape .*input_shape"):
        edgec.convert(models_dir / "PP-OCRv6_det_small.onnx")
    with pytest.raises(edgec.ConversionError, match="unknown input"):
        edgec.convert(models_dir / "PP-OCRv6_det_small.onnx", input_shape={"x": (1, 3, 64, 64), "y": (1,)})


def test_unsupported_onnx_op_is_listed(tmp_path):
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                           helper.make_node("CumSum", ["r", "axis"], ["y"], name="cumsum_node")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor("axis", TensorProto.INT64, [], [1])])
    path = tmp_path / "cumsum.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(edgec.ConversionError, match="CumSum: 1 node.*'cumsum_node'"):
        edgec.convert(path)
    rows = {r["op"]: r for r in edgec.check(path)}
    assert rows["Relu"]["supported"] and not rows["CumSum"]["supported"]


def test_qdq_model_imports(models_dir, tmp_path):
    """onnxruntime's static QDQ quantization of the cls model (calibrated on rendered text
    lines) converts: QuantizeLinear / DequantizeLinear become QUANTIZE / DEQUANTIZE around
    float ops, which is the QDQ model's definition (onnxruntime without graph
    optimizations). Agreement with that reference on 300 held-out text lines, in LSB of the
    output quantization: 100% of outputs within 1 LSB here; on richer rendered lines (fonts,
    colours, noise; 1,000-3,000 lines) 99.7-100% depending on the calibration set (the rest:
    a float conv sum rounding across a quantization step in a different order than
    onnxruntime's, amplified downstream). onnxruntime's own optimized session (integer
    QLinearConv, u8s8 pmaddubsw on AVX2) agrees with its unoptimized one on 82%."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from test_split_serve import text_crops
    m = onnx.load(models_dir / "ch_ppocr_mobile_v2.0_cls_mobile.onnx")
    for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, (1, 3, 48, 192)):
        d.ClearField("dim_param")
        d.dim_value = v
    onnx.save(m, tmp_path / "cls.onnx")
    samples = iter([{"x": x} for x in text_crops(16, seed=0)])

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(samples, None)
    quantize_static(str(tmp_path / "cls.onnx"), str(tmp_path / "cls_qdq.onnx"), Reader(),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    q = edgec.convert(tmp_path / "cls_qdq.onnx")
    assert {"QUANTIZE", "DEQUANTIZE", "CONV2D"} <= {n.op for n in q.graph.nodes}
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(tmp_path / "cls_qdq.onnx"), so, providers=["CPUExecutionProvider"])
    it = q.interpreter()
    lsb = []
    for x in text_crops(300, seed=1):
        got, want = list(it.run(x).values())[0], sess.run(None, {"x": x})[0]
        assert got.shape == want.shape and abs(float(got.sum()) - 1) < 0.02
        lsb.append(np.round(np.abs(got - want).ravel() * 255))  # output scale 1/255
    within = float(np.mean(np.concatenate(lsb) <= 1))
    assert within >= 0.999, within  # measured 1.0000 here


def test_quantize_linear_ties_to_even(tmp_path):
    """ONNX QuantizeLinear rounds halves to even (TFLite's QUANTIZE rounds them away from
    zero): edgec's C core, reference.py and onnxruntime agree on exact ties."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    from edgec.runtime import reference
    x = np.array([[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, 126.5, -127.5, 300.0]], np.float32)
    g = helper.make_graph([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
                           helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])], "q",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor("s", TensorProto.FLOAT, [], [1.0]),
                           helper.make_tensor("z", TensorProto.INT8, [], [0])])
    path = tmp_path / "q.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    m = edgec.convert(path)
    np.testing.assert_array_equal(list(m.interpreter().run(x).values())[0], want)
    np.testing.assert_array_equal(list(reference.run_model(m.to_bytes(), {"x": x}).values())[0], want)
    assert want.ravel()[:6].tolist() == [0, 2, 2, 0, -2, -2]
