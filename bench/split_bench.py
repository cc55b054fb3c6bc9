"""Split computing numbers for BENCHMARKS.md: bytes on the wire per inference for each
codec at single-tensor cuts of PP-OCR's cls model, with the agreement loss (fraction of
held-out Pillow-rendered crops whose 0/180 decision changes) and a quality-90 JPEG of
the input for comparison; then a loopback load test of `edgec serve` (32 clients x 200
requests): p50/p99 latency and throughput.

    python bench/split_bench.py
"""
from __future__ import annotations

import io
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main():
    import edgec
    from edgec.converters.split.cut import single_cuts, write_split
    from PIL import Image
    from test_split_serve import Server, ocr_models, text_crops, through_codec
    m = edgec.convert(ocr_models() / "ch_ppocr_mobile_v2.0_cls_mobile.onnx", input_shape={"x": (1, 3, 48, 192)},
                      progress=False)
    crops = text_crops(60, seed=1)
    jpeg = []
    for x in crops:
        img = Image.fromarray(((x[0].transpose(1, 2, 0) * 0.5 + 0.5) * 255).clip(0, 255).astype(np.uint8))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        jpeg.append(len(buf.getvalue()))
    print(f"input: 3x48x192 crops; JPEG q90 mean {np.mean(jpeg):.0f} B; fp32 input {crops[0].nbytes} B\n")
    print("| cut tensor | shape | fp32 B | codec | wire B (mean) | / JPEG q90 | / fp32 cut | agreement loss |")
    print("|---|---|---|---|---|---|---|---|")
    cuts = single_cuts(m.graph)
    with tempfile.TemporaryDirectory() as tmp:
        for t in [cuts[len(cuts) // 4], cuts[len(cuts) // 2], cuts[3 * len(cuts) // 4]]:
            d = Path(tmp) / t.replace("/", "_")
            desc = write_split(m.graph, [t], d)
            head, tail, whole = (edgec.Interpreter(d / f) for f in ("head.edgec", "tail.edgec", "model.edgec"))
            want = [int(np.argmax(list(whole.run(x).values())[0])) for x in crops]
            fp32 = m.graph.tensors[t].nbytes
            for mode in ("lossless", "q8", "q6", "q4", "q2"):
                sizes, changed = [], 0
                for x, w in zip(crops, want):
                    out, sent = through_codec(head, tail, desc, x, mode)
                    sizes.append(sent)
                    changed += int(np.argmax(list(out.values())[0]) != w)
                print(f"| {t} | {list(m.graph.tensors[t].shape)} | {fp32} | {mode} | {np.mean(sizes):.0f} | "
                      f"{np.mean(sizes) / np.mean(jpeg):.2f} | {np.mean(sizes) / fp32:.3f} | {changed / len(crops):.1%} |")
        # load test, without and with dynamic batching (tails for batch 4 and 8, 2 ms delay)
        src = ocr_models() / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
        batch = {b: edgec.convert(src, input_shape={"x": (b, 3, 48, 192)}, progress=False).graph for b in (4, 8)}
        d = Path(tmp) / "load"
        write_split(m.graph, [cuts[len(cuts) // 2]], d / "cls", batch_graphs=batch)
        for extra in ((), ("--max-delay-ms", 2)):
            load_test(d, Path(tmp), extra)


def load_test(d, tmp, extra):
    import json
    import edgec
    from test_split_serve import Server
    if True:
        s = Server(d, tmp, *extra)
        try:
            tail = edgec.Interpreter(d / "cls" / "tail.edgec")
            x = np.random.default_rng(0).standard_normal(tail.inputs[0].shape).astype(np.float32)
            header = json.dumps({"inputs": [{"name": tail.inputs[0].name, "shape": list(x.shape), "datatype": "FP32",
                                             "parameters": {"binary_data_size": x.nbytes}}],
                                 "parameters": {"binary_data_output": True}}).encode()
            lat, bad = [], []

            def client():
                for _ in range(200):
                    t0 = time.perf_counter()
                    st, _ = s.request("POST", "/v2/models/cls/infer", header + x.tobytes(),
                                      headers={"Inference-Header-Content-Length": str(len(header))})
                    lat.append(time.perf_counter() - t0)
                    if st != 200:
                        bad.append(st)
            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(32)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t0
            print(f"\nload{' with dynamic batching' if extra else ''}: 32 clients x 200 requests "
                  f"({tail.inputs[0].name} tail): {len(lat)} replies, {len(bad)} errors; "
                  f"p50 {np.percentile(lat, 50) * 1e3:.1f} ms, p99 {np.percentile(lat, 99) * 1e3:.1f} ms, "
                  f"{len(lat) / wall:.0f} requests/s")
        finally:
            s.stop()


if __name__ == "__main__":
    main()
