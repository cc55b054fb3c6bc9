"""Mixed-precision weights (--quantize mixed --size-budget F): each layer the LUT op can
take (FULLY_CONNECTED, MatMul with constant weights, 1x1 convs) gets 4, 3, 2 or 1 bits
(binary: two levels per group, T-MAC's LUT path with one bit plane) or stays fp32, so
that all the model's constants take at most F times their fp32 bytes; every other layer
stays fp32.

Per layer and option the error is the layer's own relative output error,
||X (W - Wq)^T||^2 / ||X W^T||^2, with X the layer's inputs on the calibration data (the
weight error ||W - Wq||^2 / ||W||^2 without calibration data): a simple per-layer
sensitivity, no retraining. A greedy search starts every layer at its smallest option and
repeatedly takes the upgrade with the largest error reduction per added byte that still
fits the budget (the classic knapsack heuristic). Returns the per-layer report."""
from __future__ import annotations

import numpy as np

from ...runtime.lowbit import blob_bytes, dequantize, unpack_ref
from ..graph import ConversionError
from .lowbit import _lowbit_weights, lowbit_blob, rewrite

OPTIONS = (1, 2, 3, 4, 32)  # bits per weight; 32 = the layer keeps its fp32 weights
MAX_ROWS = 2048             # calibration rows per layer for the error


def _layer_inputs(graph, nodes, batches) -> dict:
    """{node name: [rows, K] float32} inputs of each candidate layer on the calibration data."""
    from ...runtime import reference
    rows = {}
    for feeds in batches[:4]:
        values = reference.run_graph(graph, feeds, keep_all=True)
        for node, w in nodes:
            x = values[node.inputs[0]].reshape(-1, w.shape[1])
            rows.setdefault(node.name, []).append(x[:: max(1, x.shape[0] // MAX_ROWS)])
    return {k: np.concatenate(v)[:MAX_ROWS].astype(np.float64) for k, v in rows.items()}


def _error(w: np.ndarray, wq: np.ndarray, x) -> float:
    if x is None:
        return float(np.sum((w - wq) ** 2) / max(np.sum(w.astype(np.float64) ** 2), 1e-30))
    ref = x @ w.T.astype(np.float64)
    return float(np.sum((x @ (w - wq).T.astype(np.float64)) ** 2) / max(np.sum(ref ** 2), 1e-30))


def quantize_mixed(graph, size_budget: float, batches=None, group_size: int = 128, lut_tables: str = "exact",
                   exclude=()) -> dict:
    if not size_budget or not 0 < size_budget <= 1:
        raise ConversionError(f"{graph.name}: quantize='mixed' needs size_budget in (0, 1] (a fraction of the "
                              f"fp32 size), got {size_budget!r}")
    exclude = set(exclude or ())
    total = sum(t.nbytes for t in graph.tensors.values() if t.is_constant)
    nodes = [(n, w) for n in graph.nodes if n.op in ("FULLY_CONNECTED", "CONV2D") and n.name not in exclude
             for w in [_lowbit_weights(graph, n)] if w is not None]
    inputs = _layer_inputs(graph, nodes, batches) if batches else {}
    layers = []
    for node, w in nodes:
        n, k = w.shape
        opts = []
        for bits in OPTIONS:
            if bits == 32:
                opts.append({"bits": 32, "bytes": 4 * n * k, "error": 0.0, "blob": None})
                continue
            size = blob_bytes(bits, group_size, n, k)
            if size >= 4 * n * k:
                continue  # padding would make this layer larger than fp32
            blob = lowbit_blob(graph, node, w, bits, group_size)
            opts.append({"bits": bits, "bytes": size, "blob": blob,
                         "error": _error(w, dequantize(unpack_ref(blob)), inputs.get(node.name))})
        layers.append({"node": node, "w": w, "opts": opts, "at": 0})
    fixed = total - sum(4 * w.shape[0] * w.shape[1] for _, w in nodes)
    budget = size_budget * total
    used = fixed + sum(layer["opts"][0]["bytes"] for layer in layers)
    if used > budget:
        raise ConversionError(f"{graph.name}: size budget {size_budget} of {total} fp32 bytes is below the smallest "
                              f"mixed model ({used / total:.3f}: {fixed} bytes of layers that stay fp32)")
    while True:
        best, gain = None, 0.0
        for layer in layers:
            if layer["at"] + 1 >= len(layer["opts"]):
                continue
            now, nxt = layer["opts"][layer["at"]], layer["opts"][layer["at"] + 1]
            extra = nxt["bytes"] - now["bytes"]
            if used + extra > budget:
                continue
            g = (now["error"] - nxt["error"]) / max(extra, 1)
            if best is None or g > gain:
                best, gain = layer, g
        if best is None:
            break
        used += best["opts"][best["at"] + 1]["bytes"] - best["opts"][best["at"]]["bytes"]
        best["at"] += 1
    rows = []
    for layer in layers:
        opt, node, w = layer["opts"][layer["at"]], layer["node"], layer["w"]
        rows.append({"node": node.name, "shape": list(w.shape), "bits": opt["bits"], "bytes": opt["bytes"],
                     "error_db": round(float(-10 * np.log10(opt["error"])), 1) if opt["error"] > 0 else None})
        if opt["bits"] != 32:
            rewrite(graph, node, w, opt["bits"], group_size, lut_tables, opt["blob"])
    graph.prune()
    return {"size_budget": size_budget, "fp32_bytes": total, "bytes": used, "size_ratio": round(used / total, 4),
            "error": "calibration outputs" if inputs else "weights", "layers": rows}


def format_report(report: dict) -> str:
    lines = [f"mixed precision: {report['bytes']} of {report['fp32_bytes']} fp32 bytes "
             f"({report['size_ratio']:.3f}, budget {report['size_budget']}); per-layer error on {report['error']}",
             f"{'layer':40s} {'[N, K]':>12s} {'bits':>5s} {'bytes':>9s} {'SQNR dB':>8s}"]
    for r in report["layers"]:
        bits = "fp32" if r["bits"] == 32 else str(r["bits"])
        db = "-" if r["error_db"] is None else f"{r['error_db']:.1f}"
        lines.append(f"{r['node'][:40]:40s} {str(r['shape']):>12s} {bits:>5s} {r['bytes']:>9d} {db:>8s}")
    return "\n".join(lines)
