"""Low-bit weight quantization (--quantize int4|int3|int2): FULLY_CONNECTED (ONNX Gemm and
MatMul with constant weights) and 1x1 stride-1 unpadded CONV2D nodes with float weights
become LUT_FULLY_CONNECTED over a T-MAC bit-plane blob (runtime/lowbit.py, format.h);
every other node stays fp32, and so do layers so small that the blob (32-column and
8-input padding, 32-byte header) would not be smaller than their fp32 weights. Activations are quantized per row to int8 inside the op."""
from __future__ import annotations

import numpy as np

from ...runtime import format as fmt
from ...runtime.lowbit import GROUPS, blob_bytes, pack_ref, quantize_weights
from ..graph import ConversionError

BITS = {"int4": 4, "int3": 3, "int2": 2}


def _lowbit_weights(graph, node):
    """[N, K] float weights of a node the LUT op can take, else None."""
    x = graph.tensors.get(node.inputs[0]) if node.inputs and node.inputs[0] else None
    if x is None or x.dtype != np.float32:
        return None
    w = graph.const(node.inputs[1]) if len(node.inputs) > 1 else None
    if w is None or w.dtype != np.float32:
        return None
    p = node.params
    if node.op == "FULLY_CONNECTED" and w.ndim == 2:
        return w
    if (node.op == "CONV2D" and w.ndim == 4 and w.shape[1:3] == (1, 1) and p.get("groups", 1) == 1
            and p["stride_h"] == p["stride_w"] == 1
            and not any(p[k] for k in ("pad_top", "pad_left", "pad_bottom", "pad_right"))):
        return w.reshape(w.shape[0], w.shape[3])
    return None


TABLES = {"exact": 0, "int8": 1}


def lowbit_blob(graph, node, w: np.ndarray, bits: int, group_size: int) -> bytes:
    try:
        q, scales, zeros = quantize_weights(w, bits, group_size)
    except ValueError as e:
        raise ConversionError(f"{graph.describe(node)}: {e}") from None
    return pack_ref(q, scales, zeros, bits, group_size)


def rewrite(graph, node, w: np.ndarray, bits: int, group_size: int, lut_tables: str, blob: bytes | None = None):
    """node (FULLY_CONNECTED or 1x1 CONV2D with [N, K] weights w) -> LUT_FULLY_CONNECTED."""
    n, k = w.shape
    blob = lowbit_blob(graph, node, w, bits, group_size) if blob is None else blob
    name = graph.add_constant(f"{node.inputs[1]}_int{bits}_g{group_size}", np.frombuffer(blob, np.uint8)).name
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    params = {"bits": bits, "group_size": group_size, "n": n, "k": k,
              "act_min": node.params.get("act_min", -np.inf), "act_max": node.params.get("act_max", np.inf),
              "table_mode": TABLES[lut_tables]}
    node.op, node.inputs = "LUT_FULLY_CONNECTED", [node.inputs[0], name, bias]
    node.params = fmt.complete_params("LUT_FULLY_CONNECTED", params)


def quantize_lowbit(graph, precision: str, group_size: int = 128, lut_tables: str = "exact", exclude=(),
                    skip_tiny: bool = True) -> dict:
    """Rewrite the graph in place; returns a report {nodes, weight_bytes, int8_bytes, fp32_bytes}
    (int8_bytes: the same weights as int8 per output channel with float32 scales).
    lut_tables="int8" selects T-MAC's int8 tables (table_mode 1: faster, not exact).
    Nodes named in `exclude` (source model names) keep their fp32 weights."""
    exclude = set(exclude or ())
    unknown = exclude - {n.name for n in graph.nodes}
    if unknown:
        raise ConversionError(f"{graph.name}: exclude names no node: {sorted(unknown)[:5]} "
                              "(node names as in the source model; see `edgec inspect`)")
    if lut_tables not in TABLES:
        raise ConversionError(f"{graph.name}: lut_tables={lut_tables!r}: choose exact or int8")
    if precision not in BITS:
        raise ConversionError(f"{graph.name}: low-bit precision {precision!r}: choose int4, int3 or int2")
    if group_size not in GROUPS:
        raise ConversionError(f"{graph.name}: group size {group_size}: choose 32, 64 or 128")
    bits = BITS[precision]
    report = {"nodes": 0, "weight_bytes": 0, "int8_bytes": 0, "fp32_bytes": 0}
    for node in graph.nodes:
        if node.op not in ("FULLY_CONNECTED", "CONV2D") or node.name in exclude:
            continue
        w = _lowbit_weights(graph, node)
        if w is None:
            continue
        n, k = w.shape
        if skip_tiny and blob_bytes(BITS[precision], group_size, n, k) >= 4 * n * k:
            continue  # tiny layer: padding to 32 columns / 8 inputs would not save bytes over fp32
        rewrite(graph, node, w, bits, group_size, lut_tables)
        report["nodes"] += 1
        report["weight_bytes"] += blob_bytes(bits, group_size, n, k)
        report["int8_bytes"] += n * k + 4 * n
        report["fp32_bytes"] += 4 * n * k
    graph.prune()
    return report
