"""int8 PP-OCR det (rapidocr's PP-OCRv6 det) calibrated on 20 Pillow-rendered text
images: on held-out renders its DB boxes match fp32 onnxruntime's with F1 >= 0.95 at
IoU 0.5, and `edgec.validate` reports the per-layer SQNR against the fp32 model."""
import numpy as np
from PIL import Image, ImageDraw, ImageFont

import edgec
from edgec.apps.ocr import boxes_from_prob
from test_split_serve import ocr_models

WORDS = ["edgec text", "hello 2026", "Jetson Pi", "int8 model", "split tail", "OCR line"]


def render(rng, i):
    img = Image.new("RGB", (320, 320), tuple(int(v) for v in rng.integers(200, 256, 3)))
    d = ImageDraw.Draw(img)
    for k in range(3):
        d.text((int(rng.integers(5, 60)), 20 + k * 100 + int(rng.integers(0, 30))), WORDS[(i + k) % len(WORDS)],
               fill=tuple(int(v) for v in rng.integers(0, 60, 3)), font=ImageFont.load_default(size=int(rng.integers(24, 40))))
    return ((np.asarray(img, np.float32) / 255 - 0.5) / 0.5).transpose(2, 0, 1)[None]


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def f1(pred, ref, thr=0.5):
    used, tp = set(), 0
    for p in pred:
        best = max(((iou(p, r), j) for j, r in enumerate(ref) if j not in used), default=(0, None))
        if best[0] >= thr:
            used.add(best[1])
            tp += 1
    return 2 * tp / (len(pred) + len(ref)) if pred or ref else 1.0


def test_int8_det_boxes_match_fp32_onnxruntime(tmp_path):
    import onnx
    import onnxruntime as ort
    rng = np.random.default_rng(0)
    calib = [render(rng, i) for i in range(20)]
    held_out = [render(rng, 100 + i) for i in range(10)]
    src = ocr_models() / "PP-OCRv6_det_small.onnx"
    q = edgec.convert(src, input_shape={"x": (1, 3, 320, 320)}, quantize="int8", calibration=calib, progress=False)
    ops = {n.op for n in q.graph.nodes if q.graph.tensors[n.outputs[0]].dtype == np.int8}
    assert {"CONV2D", "DEPTHWISE_CONV2D", "ADD"} <= ops  # integer convolutions, not a float model
    m = onnx.load(src)
    for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, (1, 3, 320, 320)):
        d.ClearField("dim_param")
        d.dim_value = v
    onnx.save(m, tmp_path / "det.onnx")
    sess = ort.InferenceSession(str(tmp_path / "det.onnx"), providers=["CPUExecutionProvider"])
    it = q.interpreter()
    scores, n_ref = [], 0
    for x in held_out:
        ref = boxes_from_prob(sess.run(None, {"x": x})[0][0, 0])
        got = boxes_from_prob(list(it.run(x).values())[0][0, 0])
        n_ref += len(ref)
        scores.append(f1([b[:4] for b in got], [b[:4] for b in ref]))
    assert n_ref >= 20  # the renders have text the fp32 model finds
    assert np.mean(scores) >= 0.95, scores
    rows = edgec.validate(tmp_path / "det.onnx", q.save(tmp_path / "det_int8.edgec"), data=[held_out[0]])
    assert len(rows) > 100 and all(np.isfinite(r["cosine"]) for r in rows)
    assert np.median([r["sqnr_db"] for r in rows]) > 10  # measured: median 14 dB (accumulated int8 error)
