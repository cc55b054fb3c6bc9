"""PP-OCRv6 det (rapidocr's wheel) at 640x480, 1 thread: edgec fp32 and int8 against
onnxruntime fp32 and onnxruntime int8 (quantize_static QDQ, per-channel, U8S8 as
onnxruntime recommends on x86), interleaved rounds in one run, plus each int8 model's
output SQNR against the fp32 model on held-out pages.

    python bench/ppocr_det_int8.py [--rounds 7]

Calibration and test inputs are rendered text pages (PIL's default font): 8 to calibrate
both quantizers, 4 held out."""
import argparse
import importlib.util
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import edgec
from edgec.runtime.benchmark import benchmark

SHAPE = (1, 3, 480, 640)
WORDS = ("edge inference runtime quantized model tensor kernel camera Raspberry Jetson split "
         "compute invoice total 12.50 EUR 2026-11-25 hello world text line detector").split()


def page(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (SHAPE[3], SHAPE[2]), tuple(int(v) for v in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(img)
    y = int(rng.integers(5, 30))
    while y < SHAPE[2] - 40:
        size = int(rng.integers(16, 36))
        words = " ".join(rng.choice(WORDS, int(rng.integers(2, 7))))
        draw.text((int(rng.integers(5, 120)), y), words, fill=tuple(int(v) for v in rng.integers(0, 90, 3)),
                  font=ImageFont.load_default(size=size))
        y += size + int(rng.integers(6, 30))
    x = np.asarray(img, np.float32) / 255.0
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def sqnr(ref, got) -> float:
    err = float(np.sum((ref.astype(np.float64) - got) ** 2))
    return float("inf") if err == 0 else 10 * np.log10(float(np.sum(ref.astype(np.float64) ** 2)) / err)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args()
    import onnx
    import onnx.version_converter
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    src = Path(importlib.util.find_spec("rapidocr").submodule_search_locations[0]) / "models" / "PP-OCRv6_det_small.onnx"
    calib, test = [page(s) for s in range(8)], [page(100 + s) for s in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        m = onnx.load(src)
        for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, SHAPE):
            d.ClearField("dim_param")
            d.dim_value = v
        fp32_onnx, int8_onnx = tmp / "det.onnx", tmp / "det_qdq.onnx"
        if m.opset_import[0].version < 13:  # per-channel QDQ needs DequantizeLinear's axis (opset 13)
            m = onnx.version_converter.convert_version(m, 13)
        onnx.save(m, fp32_onnx)
        feeds = iter([{"x": x} for x in calib])

        class Reader(CalibrationDataReader):
            def get_next(self):
                return next(feeds, None)
        quantize_static(str(fp32_onnx), str(int8_onnx), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        e32 = edgec.convert(fp32_onnx, progress=False).save(tmp / "det32.edgec")
        e8 = edgec.convert(fp32_onnx, quantize="int8", calibration=calib, progress=False).save(tmp / "det8.edgec")

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.log_severity_level = 3
        s32 = ort.InferenceSession(str(fp32_onnx), so, providers=["CPUExecutionProvider"])
        s8 = ort.InferenceSession(str(int8_onnx), so, providers=["CPUExecutionProvider"])
        it8 = edgec.Interpreter(e8)
        q_e, q_o = [], []
        for x in test:
            want = s32.run(None, {"x": x})[0]
            q_e.append(sqnr(want, list(it8.run(x).values())[0].reshape(want.shape)))
            q_o.append(sqnr(want, s8.run(None, {"x": x})[0]))
        print(f"output SQNR vs fp32 on {len(test)} held-out pages (dB, median): edgec int8 {np.median(q_e):.1f}, "
              f"onnxruntime int8 {np.median(q_o):.1f}")
        print("| model | edgec median ms | onnxruntime median ms | edgec / onnxruntime |")
        print("|---|---|---|---|")
        for label, ours, peer in (("det fp32", e32, fp32_onnx), ("det int8", e8, int8_onnx)):
            e, o = benchmark(ours, threads=1, rounds=args.rounds, compare="onnxruntime", reference=peer)
            print(f"| {label} | {e['median_ms']:.2f} | {o['median_ms']:.2f} | {e['ratio_vs_peer']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
