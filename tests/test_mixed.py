"""--quantize mixed --size-budget F: per-layer bits (4/3/2/1 or fp32) chosen from each
layer's calibration output error under a size budget (converters/quantize/mixed.py), on
PP-OCRv6 det from rapidocr's wheel against onnxruntime fp32."""
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import edgec
from test_onnx import models_dir  # noqa: F401 (fixture)

SHAPE = (1, 3, 160, 160)
sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))


def pages(seeds):
    from ppocr_det_int8 import page
    return [page(s)[:, :, :SHAPE[2], :SHAPE[3]].copy() for s in seeds]


def sqnr(ref, got):
    return 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - got.reshape(ref.shape)) ** 2))


@pytest.fixture(scope="module")
def det(models_dir):  # noqa: F811
    src = models_dir / "PP-OCRv6_det_small.onnx"
    fp32 = edgec.convert(src, input_shape={"x": SHAPE}, progress=False)
    return src, fp32


def test_budget_is_met_and_output_stays_close(det):
    import onnxruntime as ort
    src, fp32 = det
    x = pages([50])[0]
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    sizes = {}
    for budget in (0.5, 0.35):
        m = edgec.convert(src, quantize="mixed", size_budget=budget, calibration=pages(range(3)),
                          input_shape={"x": SHAPE}, progress=False)
        r = m.graph.metadata["quantization"]
        assert r["bytes"] <= budget * r["fp32_bytes"] and r["size_ratio"] <= budget
        bits = Counter(row["bits"] for row in r["layers"])
        assert 32 in bits and sum(v for b, v in bits.items() if b != 32) > 0  # a real mix
        ops = Counter(n.op for n in m.graph.nodes)
        assert ops["LUT_FULLY_CONNECTED"] == sum(v for b, v in bits.items() if b != 32)
        sizes[budget] = len(m.to_bytes())
        # the file shrinks like the weights (constants dominate it)
        assert sizes[budget] <= budget * len(fp32.to_bytes()) * 1.05
        got = list(m.interpreter().run(x).values())[0]
        assert sqnr(want, got) > 15, budget  # measured 20-25 dB at 320x320
    assert sizes[0.35] < sizes[0.5]


def test_budget_below_the_fp32_remainder_is_refused(det):
    src, _ = det
    with pytest.raises(edgec.ConversionError, match="size budget 0.05 .* below the smallest mixed model"):
        edgec.convert(src, quantize="mixed", size_budget=0.05, input_shape={"x": SHAPE}, progress=False)
    with pytest.raises(edgec.ConversionError, match="needs size_budget"):
        edgec.convert(src, quantize="mixed", input_shape={"x": SHAPE}, progress=False)


def test_cli_prints_the_per_layer_report(det, tmp_path):
    src, _ = det
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "convert", str(src), "--quantize", "mixed",
                        "--size-budget", "0.5", "--input-shape", "x:1,3,160,160", "-o", str(tmp_path / "m.edgec")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "mixed precision:" in r.stdout and "fp32" in r.stdout and "SQNR dB" in r.stdout
    assert edgec.Interpreter(tmp_path / "m.edgec").inputs[0].shape == SHAPE
