"""`edgec validate`: layer by layer against the reference runtime. TF-converted int8
MobileNetV2 vs LiteRT's BUILTIN_REF: zero error on every layer; PP-OCR cls fp32 vs
onnxruntime: every layer above 100 dB; a damaged conversion is caught at its layer."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import edgec
from edgec.converters.validate import validate

FIXTURES = Path(__file__).parent / "fixtures"


def test_int8_mobilenet_zero_error_every_layer(tmp_path):
    src = FIXTURES / "mobilenet_v2_224_int8.tflite"
    out = edgec.convert(src).save(tmp_path / "m.edgec")
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "validate", str(src), str(out), "--json",
                        str(tmp_path / "rows.json"), "--html", str(tmp_path / "report.html")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert len(rows) >= 60
    assert all(row["max_abs_error"] == 0 and row["max_lsb"] == 0 for row in rows)
    assert "<svg" in (tmp_path / "report.html").read_text() and "identical" in r.stdout


def test_onnx_fp32_layers_and_a_damaged_layer(tmp_path):
    import onnx
    from test_split_serve import ocr_models
    m = onnx.load(ocr_models() / "ch_ppocr_mobile_v2.0_cls_mobile.onnx")
    for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, (1, 3, 48, 192)):
        d.ClearField("dim_param")
        d.dim_value = v
    onnx.save(m, tmp_path / "cls.onnx")
    model = edgec.convert(tmp_path / "cls.onnx")
    good = model.save(tmp_path / "cls.edgec")
    rows = validate(tmp_path / "cls.onnx", good)
    assert len(rows) > 100 and min(r["sqnr_db"] for r in rows) > 100
    # damage one conv's bias: validate points at that layer and every later one
    g = model.graph
    conv = [n for n in g.nodes if n.op == "CONV2D"][5]
    g.tensors[conv.inputs[2]].data = g.tensors[conv.inputs[2]].data + np.float32(1.0)
    bad = edgec.converters.Model(g).save(tmp_path / "bad.edgec")
    rows = validate(tmp_path / "cls.onnx", bad)
    first_bad = next(r for r in rows if r["sqnr_db"] < 40)
    assert first_bad["tensor"] in (conv.outputs[0],) or first_bad["op"] in ("CONV2D", "CLAMP", "UNARY")
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "validate", str(tmp_path / "cls.onnx"), str(bad)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1
