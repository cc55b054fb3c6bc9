"""Calibration data and activation ranges for post-training quantization.

Calibration data may be: an iterable of arrays (single-input models) or of
{input name: array} dicts; a path to an .npz whose arrays are named after the inputs
(first axis = samples); or a folder of images (resized to the input, normalized with
the model's preprocessing metadata: (x - mean) / std, default [0, 1]).
Ranges are collected by running the float graph with the numpy reference executor.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..graph import ConversionError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm"}


def _image_batches(folder: Path, graph):
    from PIL import Image
    if len(graph.inputs) != 1:
        raise ConversionError(f"{graph.name}: an image folder calibrates single-input models only")
    t = graph.tensors[graph.inputs[0]]
    n, h, w, c = t.shape
    pre = graph.metadata.get("preprocessing", {})
    mean, std = np.float32(pre.get("mean", 0.0)), np.float32(pre.get("std", 255.0))
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConversionError(f"calibration folder {folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    for f in files:
        img = Image.open(f).convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
        x = (np.asarray(img, np.float32).reshape(h, w, c) - mean) / std
        yield {graph.inputs[0]: np.repeat(x[None], n, axis=0).astype(np.float32)}


def calibration_batches(calibration, graph) -> list:
    """A list of feed dicts, validated against the graph's inputs."""
    if calibration is None:
        raise ConversionError(f"{graph.name}: quantize='int8' needs calibration data "
                              "(arrays, an .npz or an image folder)")
    if isinstance(calibration, (str, Path)):
        p = Path(calibration)
        if p.is_dir():
            batches = list(_image_batches(p, graph))
        elif p.suffix == ".npz":
            with np.load(p) as z:
                missing = [n for n in graph.inputs if n not in z.files]
                if missing:
                    raise ConversionError(f"{p}: no arrays for inputs {missing} (has {z.files})")
                count = len(z[graph.inputs[0]])
                batches = [{n: z[n][i:i + 1] for n in graph.inputs} for i in range(count)]
        else:
            raise ConversionError(f"calibration {p}: expected an image folder or an .npz")
    else:
        batches = []
        for item in calibration:
            if isinstance(item, dict):
                batches.append(dict(item))
            elif len(graph.inputs) == 1:
                batches.append({graph.inputs[0]: item})
            else:
                raise ConversionError(f"{graph.name}: the model has inputs {graph.inputs}; "
                                      "give calibration samples as dicts")
    if not batches:
        raise ConversionError(f"{graph.name}: the calibration data is empty")
    for i, b in enumerate(batches):
        for name in graph.inputs:
            t = graph.tensors[name]
            a = np.asarray(b.get(name))
            if a.shape != t.shape:
                if a.shape == t.shape[1:]:
                    a = a[None]
                else:
                    raise ConversionError(f"calibration sample {i}: input {name!r} has shape {a.shape}, "
                                          f"the model takes {t.shape}")
            b[name] = a.astype(np.float32)
    return batches


class Progress:
    """A minimal progress bar on stderr (silent when not a terminal or disabled)."""

    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.done = total, label, 0
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.perf_counter()

    def step(self):
        self.done += 1
        if self.enabled:
            width = 30
            fill = int(width * self.done / self.total)
            sys.stderr.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                             f"{time.perf_counter() - self.start:.1f}s")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def collect_ranges(graph, batches, method: str = "minmax", percentile: float = 99.99,
                   progress: bool = True) -> dict:
    """{tensor name: (min, max)} over the calibration data for every float activation.
    minmax: the extremes; percentile: per sample, the given percentile of the values
    (and 100 - it for the minimum), averaged over samples; mse: the clipping range whose
    int8 quantize-dequantize error over all calibration values is smallest (a search
    over shrinking ranges, as TensorRT's and PyTorch's MSE observers). Deterministic."""
    from ...runtime import reference
    if method not in ("minmax", "percentile", "mse"):
        raise ConversionError(f"calibration method {method!r}: choose minmax, percentile or mse")
    lows, highs, samples = {}, {}, {}
    bar = Progress(len(batches), "calibrating", progress)
    for feeds in batches:
        values = reference.run_graph(graph, feeds, keep_all=True)
        for name, v in values.items():
            t = graph.tensors.get(name)
            if t is None or t.is_constant or v.dtype != np.float32:
                continue
            if method == "mse":  # a deterministic sample of the values for the search
                flat = v.ravel()
                samples.setdefault(name, []).append(flat[::max(1, flat.size // 4096)])
            if method in ("minmax", "mse"):
                lo, hi = float(v.min()), float(v.max())
            else:
                lo, hi = (float(x) for x in np.percentile(v, [100 - percentile, percentile]))
            lows.setdefault(name, []).append(lo)
            highs.setdefault(name, []).append(hi)
        bar.step()
    if method == "minmax":
        return {n: (min(lows[n]), max(highs[n])) for n in lows}
    if method == "mse":
        return {n: _mse_range(np.concatenate(samples[n]), min(lows[n]), max(highs[n])) for n in lows}
    return {n: (float(np.mean(lows[n])), float(np.mean(highs[n]))) for n in lows}


def _mse_range(values: np.ndarray, lo: float, hi: float, steps: int = 64) -> tuple:
    """The (lo, hi) among shrinking fractions of the full range with the least squared
    int8 quantize-dequantize error over `values` (kept in the range: 0 stays exact)."""
    v = values.astype(np.float64)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    best, best_err = (lo, hi), np.inf
    for f in np.linspace(1.0, 0.05, steps):
        a, b = lo * f, hi * f
        scale = (b - a) / 255.0 or 1.0
        q = np.clip(np.rint((v - a) / scale), 0, 255) * scale + a
        err = float(np.sum((q - v) ** 2))
        if err < best_err - 1e-12:
            best, best_err = (float(a), float(b)), err
    return best
