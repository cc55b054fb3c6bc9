"""Post-training int8 quantization of a float Graph (TFLite's quantization spec).

- activations: asymmetric int8 per tensor from the calibrated range (widened to hold 0);
- weights: symmetric int8 per output channel; bias: int32 at x_scale * w_scale[oc];
- ops with int8 kernels run in int8; ops that only move data share their input's
  quantization; element-wise functions (clamp, sigmoid, tanh, hard-swish, leaky ReLU)
  become 256-entry LOOKUP tables; every other op stays float, with QUANTIZE /
  DEQUANTIZE inserted at the boundaries. Graph inputs and outputs stay float32.
The integer parameters are then computed by lower.lower_int8.
"""
from __future__ import annotations

import numpy as np

from ...runtime import format as fmt
from ..graph import ConversionError, Graph
from .lower import lower_int8

WEIGHTED = {"CONV2D": 0, "DEPTHWISE_CONV2D": 3, "FULLY_CONNECTED": 0}  # op -> channel axis of w
ARITHMETIC = {"ADD", "SUB", "MUL"}
SAME_QUANT = {"MAX_POOL2D", "AVG_POOL2D", "PAD", "RESHAPE", "TRANSPOSE", "DEPTH_TO_SPACE"}
TABLED = {"CLAMP", "LEAKY_RELU", "UNARY", "GELU"}


def quant_params(lo: float, hi: float) -> tuple:
    """(scale, zero_point) for the range [lo, hi] widened to contain 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0
    if scale <= 0.0 or not np.isfinite(scale):
        return 1e-8, 0
    zp = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return float(np.float32(scale)), zp


def _table_for(node, x_scale, x_zp, y_scale, y_zp) -> np.ndarray:
    """The float op applied to every int8 input, requantized: an int8 LOOKUP table."""
    from ...runtime import reference
    q = np.arange(-128, 128, dtype=np.int64)
    x = (np.float32(x_scale) * (q - x_zp).astype(np.float32)).astype(np.float32)
    spec = type("Spec", (), {"shape": x.shape, "dtype": np.dtype(np.float32), "scale": 0.0, "zero_point": 0})
    y = reference.OPS[node.op]([x], node.params, [spec], [spec])[0].astype(np.float32)
    r = y / np.float32(y_scale)
    r = np.where(r >= 0, np.floor(r + 0.5), -np.floor(-r + 0.5))
    return np.clip(r + y_zp, -128, 127).astype(np.int8)


def _int8_capable(graph: Graph, node) -> bool:
    if node.op in WEIGHTED:
        w = graph.const(node.inputs[1])
        return w is not None and w.dtype == np.float32
    if node.op == "REDUCE":
        return node.params["kind"] == fmt.REDUCE_KINDS["mean"]
    if node.op == "UNARY":
        names = {v: k for k, v in fmt.UNARY_KINDS.items()}
        return names[node.params["kind"]] in ("sigmoid", "tanh", "hard_swish", "hard_sigmoid")
    if node.op == "PAD":
        return node.params["mode"] == 0 and node.params["value"] == 0.0
    return node.op in ARITHMETIC | SAME_QUANT | TABLED | {"CONCAT"}


class _Rewriter:
    def __init__(self, graph: Graph, ranges: dict):
        self.g = graph
        self.ranges = ranges
        self.q = {}        # float tensor name -> its int8 twin
        self.nodes = []

    def qparams(self, name):
        if name not in self.ranges:
            raise ConversionError(f"{self.g.name}: no calibration range for tensor {name!r}")
        return quant_params(*self.ranges[name])

    def int8_of(self, name: str, scale=None, zp=None) -> str:
        """The int8 twin of float tensor `name`, quantizing it with a QUANTIZE node (or at
        conversion for constants) the first time it is needed."""
        if name in self.q:
            return self.q[name]
        t = self.g.tensors[name]
        if scale is None:
            if t.is_constant:
                scale, zp = quant_params(float(t.data.min()), float(t.data.max()))
            else:
                scale, zp = self.qparams(name)
        qname = self.g.unique_name(f"{name}/int8")
        if t.is_constant:
            data = np.clip(np.round(t.data / np.float32(scale)) + zp, -128, 127).astype(np.int8)
            self.g.add_tensor(qname, t.shape, np.int8, data, scale, zp)
        else:
            self.g.add_tensor(qname, t.shape, np.int8, None, scale, zp)
            self.nodes.append(self.g.nodes[0].__class__("QUANTIZE", [name], [qname],
                                                         fmt.complete_params("QUANTIZE", {}), f"{name}/quantize"))
        self.q[name] = qname
        return qname

    def new_output(self, name: str, scale, zp) -> str:
        t = self.g.tensors[name]
        qname = self.g.unique_name(f"{name}/int8")
        self.g.add_tensor(qname, t.shape, np.int8, None, scale, zp)
        self.q[name] = qname
        return qname

    def weights(self, node):
        axis = WEIGHTED[node.op]
        w = self.g.tensors[node.inputs[1]]
        reduce_axes = tuple(i for i in range(w.data.ndim) if i != axis)
        scales = (np.abs(w.data).max(axis=reduce_axes) / 127.0).astype(np.float32)
        scales = np.where(scales > 0, scales, np.float32(1e-8)).astype(np.float32)
        shape = [1] * w.data.ndim
        shape[axis] = -1
        wq = np.clip(np.round(w.data / scales.reshape(shape)), -127, 127).astype(np.int8)
        wname = self.g.unique_name(f"{node.inputs[1]}/int8")
        t = self.g.add_tensor(wname, w.shape, np.int8, wq, float(scales[0]), 0)
        t.channel_scales, t.quant_axis = scales, axis
        return wname, scales

    def rewrite(self, node):
        g = self.g
        y = node.outputs[0]
        if node.op in WEIGHTED:
            x = self.int8_of(node.inputs[0])
            wname, scales = self.weights(node)
            bias = ""
            b = g.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
            if b is not None:
                bq = np.round(b / (np.float64(g.tensors[x].scale) * scales.astype(np.float64))).astype(np.int32)
                bias = g.add_constant(f"{node.inputs[2]}/int32", bq).name
            node.inputs = [x, wname, bias]
            node.outputs = [self.new_output(y, *self.qparams(y))]
        elif node.op in ARITHMETIC:
            node.inputs = [self.int8_of(i) for i in node.inputs]
            node.outputs = [self.new_output(y, *self.qparams(y))]
        elif node.op in SAME_QUANT:
            x = self.int8_of(node.inputs[0])
            xt = g.tensors[x]
            if node.op == "PAD":
                node.params["value"] = float(xt.zero_point)
            node.inputs = [x] + node.inputs[1:]
            node.outputs = [self.new_output(y, xt.scale, xt.zero_point)]
        elif node.op == "CONCAT":
            scale, zp = self.qparams(y)
            ins = []
            for i in node.inputs:
                xi = self.int8_of(i)
                xt = g.tensors[xi]
                if (xt.scale, xt.zero_point) != (scale, zp):  # requantize through a table
                    table = np.clip(np.round((np.arange(-128, 128) - xt.zero_point) * (xt.scale / scale)) + zp,
                                    -128, 127).astype(np.int8)
                    rq = g.unique_name(f"{xi}/requant")
                    g.add_tensor(rq, xt.shape, np.int8, None, scale, zp)
                    tname = g.add_constant(f"{rq}/table", table).name
                    self.nodes.append(node.__class__("LOOKUP", [xi, tname], [rq],
                                                     fmt.complete_params("LOOKUP", {}), f"{rq}"))
                    xi = rq
                ins.append(xi)
            node.inputs = ins
            node.outputs = [self.new_output(y, scale, zp)]
        elif node.op in TABLED or node.op == "UNARY":
            x = self.int8_of(node.inputs[0])
            xt = g.tensors[x]
            scale, zp = self.qparams(y)
            table = _table_for(node, xt.scale, xt.zero_point, scale, zp)
            node.op, node.params = "LOOKUP", fmt.complete_params("LOOKUP", {})
            node.inputs = [x, g.add_constant(f"{y}/table", table).name]
            node.outputs = [self.new_output(y, scale, zp)]
        elif node.op == "REDUCE":
            from ..tflite import int8_mean_params
            x = self.int8_of(node.inputs[0])
            scale, zp = self.qparams(y)
            yq = self.new_output(y, scale, zp)
            node.params.update(int8_mean_params(g.tensors[x], g.tensors[yq], node.params["axes_mask"], True))
            node.inputs, node.outputs = [x], [yq]
        node._int8 = True
        self.nodes.append(node)


def quantize_graph(graph: Graph, ranges: dict, keep_float=None) -> Graph:
    """Rewrite `graph` (float, calibrated) into an int8 graph with float inputs/outputs.
    keep_float(node) -> True leaves that node in float (QUANTIZE/DEQUANTIZE around it):
    --exclude NODE names, --keep-float OP types, sensitivity's one-layer-at-a-time."""
    users = graph.consumers()
    rw = _Rewriter(graph, ranges)
    for node in list(graph.nodes):
        if _int8_capable(graph, node) and all(graph.tensors[o].dtype == np.float32 for o in node.outputs) \
                and not (keep_float and keep_float(node)):
            rw.rewrite(node)
        else:  # stays float; reads DEQUANTIZE'd copies of int8 tensors (added below)
            rw.nodes.append(node)
    # float consumers of int8-produced tensors read a DEQUANTIZE'd copy placed right
    # after the producer; rebuild the order so every input exists before use
    produced_q = {n.outputs[0]: n for n in rw.nodes if getattr(n, "_int8", False)}
    ordered, done = [], set()
    for node in rw.nodes:
        ordered.append(node)
        for qname in node.outputs:
            name = next((f for f, q in rw.q.items() if q == qname and qname in produced_q), None)
            if name is None or name in done:
                continue
            float_users = [u for u in users.get(name, []) if not getattr(u, "_int8", False)]
            if name in graph.outputs or float_users:
                ordered.append(node.__class__("DEQUANTIZE", [qname], [name],
                                              fmt.complete_params("DEQUANTIZE", {}), f"{name}/dequantize"))
            done.add(name)
    graph.nodes = ordered
    # for `edgec validate`: each int8 tensor holds the quantized source tensor
    aliases = graph.metadata.setdefault("aliases", {})
    for name, qname in rw.q.items():
        if qname in graph.tensors:
            aliases[qname] = aliases.get(name, name)
    _fix_order(graph)
    graph.prune()
    graph.validate()
    return lower_int8(graph)


def _fix_order(graph: Graph):
    """Topological order (QUANTIZE nodes were appended where first needed)."""
    ready = set(graph.inputs) | {k for k, t in graph.tensors.items() if t.is_constant}
    pending, out = list(graph.nodes), []
    while pending:
        progressed = False
        rest = []
        for n in pending:
            if all((not i) or i in ready for i in n.inputs):
                out.append(n)
                ready.update(n.outputs)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            raise ConversionError(f"{graph.name}: quantization produced a cycle at {rest[0].name!r}")
        pending = rest
    graph.nodes = out
