"""Frames per second of each demo's pipeline on this machine (pre-processing, edgec
inference, post-processing and drawing; no JPEG encoding or browser):

    python bench/demo_fps.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fps(pipeline, img, seconds=3.0):
    pipeline(img)  # warm up (and convert/cache models)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pipeline(img)
        n += 1
    return n / (time.perf_counter() - t0)


def main():
    sys.path.insert(0, str(ROOT / "tests"))
    from PIL import Image
    from edgec.apps import web
    from test_demo_ocr import LINES, render
    faces_img = Image.open(ROOT / "apps" / "data" / "astronaut.jpg").convert("RGB")
    print("| demo | input | FPS (1 thread) |\n|---|---|---|")
    for kind in ("short", "full"):
        print(f"| faces ({kind}) | 512x512 photo | {fps(web.faces_pipeline(kind), faces_img):.1f} |")
    print(f"| ocr (det 640 + cls + rec, 3 lines) | 640x320 text | {fps(web.ocr_pipeline(), render(LINES)):.1f} |")


if __name__ == "__main__":
    main()
