"""Per-layer quantization sensitivity: quantize one layer at a time (the rest stays
float) and measure how far the outputs move from the float model on calibration data.
The rows rank the layers that int8 hurts most: candidates for --exclude or for more bits
(mixed precision)."""
from __future__ import annotations

import copy

import numpy as np

from ..graph import Graph


def _sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    r, e = ref.astype(np.float64), ref.astype(np.float64) - got.astype(np.float64)
    p_err = float(np.sum(e * e))
    return float("inf") if p_err == 0 else 10 * np.log10(max(float(np.sum(r * r)), 1e-30) / p_err)


def sensitivity(model, calibration, input_shape=None, method: str = "minmax", layers=None,
                progress: bool = False) -> list:
    """Rows {node, op, sqnr_db} sorted from most to least sensitive: output SQNR (dB, over
    all outputs and samples) of the model with only that node in int8."""
    from .. import load
    from ..passes import run_passes
    from ...runtime import reference
    from . import calibration_batches, collect_ranges, lower_int8, quantize_graph
    from .int8 import _int8_capable
    base = load(model, input_shape=input_shape)
    run_passes(base)
    batches = calibration_batches(calibration, base)
    ranges = collect_ranges(base, batches, method, progress=progress)
    want = [reference.run_graph(base, f) for f in batches]
    candidates = [n for n in base.nodes if _int8_capable(base, n) and n.op in ("CONV2D", "DEPTHWISE_CONV2D",
                                                                              "FULLY_CONNECTED")]
    if layers is not None:
        candidates = [n for n in candidates if n.name in set(layers)]
    rows = []
    for node in candidates:
        g: Graph = copy.deepcopy(base)
        quantize_graph(g, ranges, lambda n, name=node.name: n.name != name)
        lower_int8(g)
        ref = np.concatenate([np.concatenate([w[k].ravel() for k in sorted(w)]) for w in want])
        got = np.concatenate([np.concatenate([o[k].ravel() for k in sorted(o)])
                              for o in (reference.run_graph(g, f) for f in batches)])
        rows.append({"node": node.name, "op": node.op, "sqnr_db": _sqnr(ref, got)})
    return sorted(rows, key=lambda r: r["sqnr_db"])
