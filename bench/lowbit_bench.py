"""Low-bit weights (T-MAC LUT GEMM) against onnxruntime's MatMulNBits, interleaved in one
process, 1 thread; prints Markdown rows for BENCHMARKS.md ("Low-bit weights").

    python bench/lowbit_bench.py gemv  [--rounds 7] [--k 4096] [--n 4096]
    python bench/lowbit_bench.py gemm  [--m 64]           (batched LUT GEMM)
    python bench/lowbit_bench.py det   [--rounds 7]        (PP-OCR det: 1x1 convs in low bit vs int8)
    python bench/lowbit_bench.py rec   [--rounds 7]        (PP-OCR rec, same; text read vs fp32)

gemv/gemm: an ONNX MatMul x[M, K] . W[K, N] (W ~ N(0, 1/K)) converted with
edgec.convert(quantize=int4|int3|int2) and, for onnxruntime, quantized by
matmul_nbits_quantizer (4 bits, block 32, accuracy_level 4: int8 activations, as ours).
Error: max |y - y_fp32| / max |y_fp32| and SNR in dB against onnxruntime fp32.
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def matmul_onnx(path: Path, m: int, k: int, n: int, seed: int = 0):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = (np.random.default_rng(seed).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "matmul",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
                          [numpy_helper.from_array(w, "w")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def matmul_nbits(src: Path, dst: Path, block: int = 32, accuracy_level: int = 4) -> Path:
    import onnx
    from onnxruntime.quantization import matmul_nbits_quantizer as mnq
    cfg = mnq.DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=False, accuracy_level=accuracy_level)
    q = mnq.MatMulNBitsQuantizer(onnx.load(str(src)), algo_config=cfg)
    q.process()
    q.model.save_model_to_file(str(dst))
    assert any(n.op_type == "MatMulNBits" for n in onnx.load(str(dst)).graph.node), "no MatMulNBits node"
    return dst


def ort_runner(path: Path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})[0]


def edgec_runner(model):
    import edgec
    it = edgec.Interpreter(model.to_bytes() if hasattr(model, "to_bytes") else model, num_threads=1)
    name = it.inputs[0].name
    return lambda x: next(iter(it.run({name: x}).values()))


def interleaved(runners: dict, x, rounds: int, min_s: float = 0.2) -> dict:
    """Median seconds per call over `rounds` interleaved rounds (each round: every runner
    for >= min_s, its per-call mean), one process."""
    for fn in runners.values():  # warm up
        for _ in range(3):
            fn(x)
    iters = {}
    for name, fn in runners.items():
        t0, c = time.perf_counter(), 0
        while time.perf_counter() - t0 < min_s:
            fn(x)
            c += 1
        iters[name] = max(c, 3)
    per = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            t0 = time.perf_counter()
            for _ in range(iters[name]):
                fn(x)
            per[name].append((time.perf_counter() - t0) / iters[name])
    return {name: float(np.median(v)) for name, v in per.items()}


def error(got, want) -> tuple:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    rel = float(np.abs(got - want).max() / np.abs(want).max())
    snr = float(10 * np.log10((want ** 2).sum() / max(((got - want) ** 2).sum(), 1e-30)))
    return rel, snr


def bench_matmul(m: int, k: int, n: int, rounds: int, tmp: Path, nbits_peer: bool = True):
    import edgec
    src = matmul_onnx(tmp / "matmul.onnx", m, k, n)
    x = np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)
    fp32 = ort_runner(src)
    want = fp32(x)
    runners, sizes = {}, {}
    if nbits_peer:
        runners["onnxruntime MatMulNBits int4 b32 acc4"] = ort_runner(matmul_nbits(src, tmp / "nbits.onnx"))
        sizes["onnxruntime MatMulNBits int4 b32 acc4"] = (tmp / "nbits.onnx").stat().st_size
    for q, gs, tables in [("int4", 128, "exact"), ("int3", 128, "exact"), ("int2", 128, "exact"), ("int4", 32, "exact"),
                          ("int4", 128, "int8"), ("int3", 128, "int8"), ("int2", 128, "int8")]:
        model = edgec.convert(str(src), quantize=q, group_size=gs, lut_tables=tables, progress=False)
        name = f"edgec {q} g{gs}" + (" int8-tables" if tables == "int8" else "")
        runners[name], sizes[name] = edgec_runner(model), len(model)
    if m > 1:  # our int8 FULLY_CONNECTED (per-channel weights, calibrated on x itself)
        model = edgec.convert(str(src), quantize="int8", calibration=[x], progress=False)
        runners["edgec int8"], sizes["edgec int8"] = edgec_runner(model), len(model)
    runners["onnxruntime fp32"] = fp32
    sizes["onnxruntime fp32"] = src.stat().st_size
    times = interleaved(runners, x, rounds)
    base = times["edgec int4 g128"]
    print(f"\nMatMul {m}x{k} . {k}x{n}, 1 thread, median of {rounds} interleaved rounds "
          f"({platform.machine()}, edgec LUT kernel: {kernel_name()})\n")
    print("| runtime | weights | ms | time / edgec int4 g128 | max rel. error vs fp32 | SNR dB | file bytes |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, t in times.items():
        rel, snr = error(runners[name](x), want)
        print(f"| {name.split(' ')[0]} | {' '.join(name.split(' ')[1:])} | {t * 1e3:.3f} | {t / base:.2f}x | "
              f"{rel:.4f} | {snr:.1f} | {sizes[name]} |")
    return times


def kernel_name() -> str:
    from edgec.runtime._lib import ffi, lib
    return ffi.string(lib().edgec_lut_kernel_name()).decode()


LINES = ["edgec runs on the edge", "Raspberry Pi 5 and Jetson", "int8 models 2026", "table lookups",
         "low-bit weights", "T-MAC on a CPU", "quick brown fox 42", "PP-OCR recognizer"]


def text_lines(lines):
    """PP-OCR rec inputs [1, 3, 48, 320] of Pillow-rendered text lines (apps/ocr.py's preprocessing)."""
    from PIL import Image, ImageDraw, ImageFont

    from edgec.apps.ocr import REC_H, REC_W, _line_input
    out = []
    for t in lines:
        img = Image.new("RGB", (600, 60), (255, 255, 255))
        ImageDraw.Draw(img).text((10, 5), t, fill=(0, 0, 0), font=ImageFont.load_default(size=40))
        out.append(_line_input(img, REC_H, REC_W))
    return out


def sensitive_layers(src, shape, x, want, keep: int, precision: str = "int4") -> list:
    """Names of the `keep` layers whose low-bit weights alone (every other layer fp32) give
    the lowest output SNR on x: a one-layer-at-a-time sweep through the real runtime."""
    import edgec
    full = edgec.convert(str(src), quantize=precision, input_shape=shape, progress=False)
    names = [n.name for n in full.graph.nodes if n.op == "LUT_FULLY_CONNECTED"]
    scores = []
    for name in names:
        model = edgec.convert(str(src), quantize=precision, input_shape=shape, progress=False,
                              exclude=[n for n in names if n != name])
        scores.append((error(edgec_runner(model)(x), want)[1], name))
    return [name for _snr, name in sorted(scores)[:keep]]


def bench_rec(rounds: int, tmp: Path):
    """PP-OCR rec (rapidocr's ONNX, 1x3x48x320): fp32, int8 (calibrated on 4 rendered lines) and
    int4 / int3 / int2 (1x1 convs and FC as LUT_FULLY_CONNECTED, the rest fp32) on 8 other
    rendered lines: logits SNR vs onnxruntime fp32, and how many lines decode (CTC) to the same
    text as onnxruntime fp32."""
    import importlib.util

    import onnxruntime as ort

    import edgec
    from edgec.apps.ocr import characters, ctc_decode
    spec = importlib.util.find_spec("rapidocr")
    src = Path(list(spec.submodule_search_locations)[0]) / "models" / "PP-OCRv6_rec_small.onnx"
    shape = {"x": (1, 3, 48, 320)}
    xs = text_lines(LINES)
    calib = text_lines(["calibration text", "Hello World 123", "edge inference", "abcdefghij"])
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    wants = [sess.run(None, {"x": x})[0] for x in xs]
    chars = characters()
    texts = [ctc_decode(w[0], chars)[0] for w in wants]
    runners, sizes, lut_nodes = {}, {}, {}
    sensitive = sensitive_layers(src, shape, calib[0], sess.run(None, {"x": calib[0]})[0], keep=8)
    for q in ["fp32", "int8", "int4", "int4 keep8", "int3", "int2"]:
        kw = {"calibration": calib} if q == "int8" else {"exclude": sensitive} if "keep" in q else {}
        model = edgec.convert(str(src), quantize=q.split()[0], input_shape=shape, progress=False, **kw)
        runners[f"edgec {q}"], sizes[f"edgec {q}"] = edgec_runner(model), len(model)
        lut_nodes[f"edgec {q}"] = sum(n.op == "LUT_FULLY_CONNECTED" for n in model.graph.nodes)
    times = interleaved(runners, xs[0], rounds)
    base = times["edgec int8"]
    print(f"\n`int4 keep8`: int4 but the 8 layers whose int4 weights alone hurt the logits most stay "
          f"fp32 ({', '.join(sensitive)}; one-layer-at-a-time sweep on a calibration line)")
    print(f"\n{src.name} (1x3x48x320), 1 thread, median of {rounds} interleaved rounds; "
          f"onnxruntime fp32 reads {texts}\n")
    print("| edgec model | LUT nodes | ms | time vs int8 | logits SNR dB vs onnxruntime fp32 (min over lines) "
          "| lines decoded as fp32 | file bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, t in times.items():
        outs = [runners[name](x) for x in xs]
        snr = min(error(o, w)[1] for o, w in zip(outs, wants))
        same = sum(ctc_decode(o[0], chars)[0] == txt for o, txt in zip(outs, texts))
        print(f"| {name} | {lut_nodes[name]} | {t * 1e3:.2f} | {t / base:.2f}x | {snr:.1f} | {same}/{len(xs)} | "
              f"{sizes[name]} |")


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _f1(pred, ref, thr=0.5):
    used, tp = set(), 0
    for p in pred:
        best = max(((_iou(p, r), j) for j, r in enumerate(ref) if j not in used), default=(0, None))
        if best[0] >= thr:
            used.add(best[1])
            tp += 1
    return 2 * tp / (len(pred) + len(ref)) if pred or ref else 1.0


def det_pages(n: int, seed: int = 0):
    """PP-OCR det inputs [1, 3, 480, 640]: Pillow-rendered pages of 3-5 text lines."""
    from PIL import Image, ImageDraw, ImageFont
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = Image.new("RGB", (640, 480), (255, 255, 255))
        d = ImageDraw.Draw(img)
        for j in range(int(rng.integers(3, 6))):
            t = LINES[int(rng.integers(len(LINES)))]
            d.text((int(rng.integers(5, 120)), 20 + 90 * j), t, fill=(0, 0, 0),
                   font=ImageFont.load_default(size=int(rng.integers(28, 48))))
        a = (np.asarray(img, np.float32) / 255 - 0.5) / 0.5
        out.append(a.transpose(2, 0, 1)[None].copy())
    return out


def bench_det(rounds: int, tmp: Path):
    """PP-OCR det (rapidocr's PP-OCRv6_det_small ONNX, 1x3x480x640, 63 1x1 convs): fp32, int8
    (calibrated on 4 pages) and int4 / int3 / int2 (1x1 convs as LUT_FULLY_CONNECTED, the rest
    fp32) on 6 other pages: probability-map SNR and DB box F1 (IoU 0.5) vs onnxruntime fp32."""
    import importlib.util

    import onnxruntime as ort

    import edgec
    from edgec.apps.ocr import boxes_from_prob
    spec = importlib.util.find_spec("rapidocr")
    src = Path(list(spec.submodule_search_locations)[0]) / "models" / "PP-OCRv6_det_small.onnx"
    shape = {"x": (1, 3, 480, 640)}
    xs, calib = det_pages(6, seed=1), det_pages(4, seed=2)
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    wants = [sess.run(None, {"x": x})[0] for x in xs]
    ref_boxes = [boxes_from_prob(w[0, 0]) for w in wants]
    runners, sizes, lut_nodes = {}, {}, {}
    for q in ["fp32", "int8", "int4", "int4 int8-tables", "int3", "int2"]:
        kw = {"calibration": calib} if q == "int8" else {"lut_tables": "int8"} if "tables" in q else {}
        model = edgec.convert(str(src), quantize=q.split()[0], input_shape=shape, progress=False, **kw)
        runners[f"edgec {q}"], sizes[f"edgec {q}"] = edgec_runner(model), len(model)
        lut_nodes[f"edgec {q}"] = sum(n.op == "LUT_FULLY_CONNECTED" for n in model.graph.nodes)
    times = interleaved(runners, xs[0], rounds)
    base = times["edgec int8"]
    print(f"\n{src.name} (1x3x480x640), 1 thread, median of {rounds} interleaved rounds; "
          f"{sum(len(b) for b in ref_boxes)} onnxruntime fp32 boxes on {len(xs)} pages\n")
    print("| edgec model | LUT nodes | ms | time vs int8 | prob. map SNR dB vs onnxruntime fp32 (min over pages) "
          "| box F1 vs fp32 (mean) | file bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, t in times.items():
        outs = [runners[name](x) for x in xs]
        snr = min(error(o, w)[1] for o, w in zip(outs, wants))
        f1 = float(np.mean([_f1(boxes_from_prob(o[0, 0]), r) for o, r in zip(outs, ref_boxes)]))
        print(f"| {name} | {lut_nodes[name]} | {t * 1e3:.1f} | {t / base:.2f}x | {snr:.1f} | {f1:.3f} | {sizes[name]} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["gemv", "gemm", "det", "rec"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--m", type=int, default=64)
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=4096)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if a.what == "gemv":
            bench_matmul(1, a.k, a.n, a.rounds, Path(d))
        elif a.what == "gemm":
            bench_matmul(a.m, a.k, a.n, a.rounds, Path(d))
        elif a.what == "det":
            bench_det(a.rounds, Path(d))
        else:
            bench_rec(a.rounds, Path(d))


if __name__ == "__main__":
    main()
