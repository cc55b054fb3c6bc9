"""Lower int8 nodes to what the C kernels execute: integer-only parameters computed here,
once, in double precision exactly as TFLite's Prepare functions do, and stored in the IR.

  CONV2D / DEPTHWISE_CONV2D / FULLY_CONNECTED: inputs become
      [x, w, bias(int32 or absent), multiplier(int32[OC]), shift(int32[OC])]
      with multiplier/shift = QuantizeMultiplier(x.scale * w.scale[oc] / y.scale);
      per-channel FULLY_CONNECTED follows TFLite's double-precision path instead
      (requant=1, input 3 = weight scales)
  ADD / SUB: TFLite's left_shift = 20 and per-input multipliers (SmallerThanOneExp)
  MUL: QuantizeMultiplier(a.scale * b.scale / y.scale)
  every op with a fused activation: q_min/q_max = the clamp in the output's integers
"""
from __future__ import annotations

import numpy as np

from ...runtime import fixedpoint as fp
from ..graph import ConversionError, Graph

INT8_MIN, INT8_MAX = -128, 127
WEIGHTED = ("CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED")


def _f32(x) -> float:
    """A Python float rounded through float32, as TFLite's float fields are."""
    return float(np.float32(x))


def quantized_activation_range(act_min: float, act_max: float, scale: float, zero_point: int,
                               qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple:
    """TFLite CalculateActivationRangeQuantized for a float clamp [act_min, act_max]."""
    def quantize(f):
        v = np.float32(f) / np.float32(scale)
        return zero_point + int(np.floor(abs(v) + 0.5) * np.sign(v))
    lo = qmin if not np.isfinite(act_min) else max(qmin, quantize(act_min))
    hi = qmax if not np.isfinite(act_max) else min(qmax, quantize(act_max))
    return lo, hi


def _is_int8(graph: Graph, name: str) -> bool:
    return bool(name) and graph.tensors[name].dtype == np.int8


def _weight_scales(graph: Graph, w_name: str, channels: int, node_desc: str) -> np.ndarray:
    w = graph.tensors[w_name]
    if w.channel_scales is not None:
        scales = np.asarray(w.channel_scales, dtype=np.float64).ravel()
    else:
        scales = np.array([w.scale], dtype=np.float64)
    if scales.size == 1:
        scales = np.repeat(scales, channels)
    if scales.size != channels:
        raise ConversionError(f"{node_desc}: {scales.size} weight scales for {channels} output channels")
    return scales


def _lower_weighted(graph: Graph, node):
    desc = graph.describe(node)
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    y = graph.tensors[node.outputs[0]]
    if w.dtype != np.int8:
        raise ConversionError(f"{desc}: int8 activations with {w.dtype} weights are not supported")
    channels = w.shape[0] if node.op != "DEPTHWISE_CONV2D" else w.shape[-1]
    scales = _weight_scales(graph, node.inputs[1], channels, desc)
    mults, shifts = [], []
    for s in scales:
        if node.op == "FULLY_CONNECTED" and w.channel_scales is None:
            # per-tensor: TFLite GetQuantizedConvolutionMultipler, the input*filter product in float
            real = float(np.float32(x.scale) * np.float32(s)) / _f32(y.scale)
        else:
            # PopulateConvolutionQuantizationParams: double(input) * double(filter) / double(output)
            real = _f32(x.scale) * _f32(s) / _f32(y.scale)
        m, sh = fp.quantize_multiplier(real)
        mults.append(m)
        shifts.append(sh)
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    if bias and graph.tensors[bias].dtype != np.int32:
        raise ConversionError(f"{desc}: int8 {node.op} needs an int32 bias, got {graph.tensors[bias].dtype}")
    if node.op == "FULLY_CONNECTED" and w.channel_scales is not None:
        # TFLite's per-channel FULLY_CONNECTED requantizes in double (see format.h)
        node.params["requant"] = 1
        s_name = graph.add_constant(f"{node.outputs[0]}/weight_scales", scales.astype(np.float32)).name
        node.inputs = [node.inputs[0], node.inputs[1], bias, s_name, ""]
        return
    m_name = graph.add_constant(f"{node.outputs[0]}/multiplier", np.array(mults, np.int32)).name
    s_name = graph.add_constant(f"{node.outputs[0]}/shift", np.array(shifts, np.int32)).name
    node.inputs = [node.inputs[0], node.inputs[1], bias, m_name, s_name]


def _lower_binary(graph: Graph, node):
    a, b = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    y = graph.tensors[node.outputs[0]]
    p = node.params
    if node.op in ("ADD", "SUB"):
        left_shift = 20
        twice_max = 2.0 * max(_f32(a.scale), _f32(b.scale))
        p["left_shift"] = left_shift
        p["in1_multiplier"], p["in1_shift"] = fp.quantize_multiplier_smaller_than_one_exp(_f32(a.scale) / twice_max)
        p["in2_multiplier"], p["in2_shift"] = fp.quantize_multiplier_smaller_than_one_exp(_f32(b.scale) / twice_max)
        p["out_multiplier"], p["out_shift"] = fp.quantize_multiplier_smaller_than_one_exp(
            twice_max / ((1 << left_shift) * _f32(y.scale)))
    elif node.op == "MUL":
        p["out_multiplier"], p["out_shift"] = fp.quantize_multiplier(_f32(a.scale) * _f32(b.scale) / _f32(y.scale))
    else:
        raise ConversionError(f"{graph.describe(node)}: int8 {node.op} is not supported yet")


def lower_int8(graph: Graph) -> Graph:
    """Fill integer parameters for every node whose output is int8 (in place)."""
    for node in graph.nodes:
        if not node.outputs or not _is_int8(graph, node.outputs[0]) or node.op == "QUANTIZE":
            continue
        if not all(graph.tensors[o].scale > 0 for o in node.outputs):
            raise ConversionError(f"{graph.describe(node)}: int8 output without a quantization scale")
        y = graph.tensors[node.outputs[0]]
        if "q_min" in node.params:
            node.params["q_min"], node.params["q_max"] = quantized_activation_range(
                node.params.get("act_min", -np.inf), node.params.get("act_max", np.inf), y.scale, y.zero_point)
        if node.op in WEIGHTED and len(node.inputs) < 5:
            _lower_weighted(graph, node)
        elif node.op in ("ADD", "SUB", "MUL") and _is_int8(graph, node.inputs[0]):
            _lower_binary(graph, node)
    return graph
