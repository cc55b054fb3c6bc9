"""Fold int8 `MUL(x, LOOKUP(x))` into one LOOKUP: swish / SiLU (`x * sigmoid(x)`) and
hard-swish patterns of int8 models (EfficientNet, MobileNetV3). Both inputs are functions
of the same int8 byte, so the composition is a 256-entry table, built here with the int8
MUL's own integer arithmetic (runtime/fixedpoint.py, as runtime/reference.py and the C
kernel): outputs stay bit-exact, and one pass over the tensor and the MUL disappear.
Runs after lower_int8 (which sets the MUL's multiplier and shift)."""
from __future__ import annotations

import numpy as np

from ...runtime import fixedpoint as fxp


def _composed_table(graph, lookup, mul, x_name: str) -> np.ndarray:
    x, t, y = graph.tensors[x_name], graph.tensors[lookup.outputs[0]], graph.tensors[mul.outputs[0]]
    qs = np.arange(256, dtype=np.int64) - (128 if x.dtype == np.int8 else 0)
    tv = graph.const(lookup.inputs[1]).reshape(256).astype(np.int64)
    p = mul.params
    v = fxp.multiply_by_quantized_multiplier((qs - x.zero_point) * (tv - t.zero_point), p["out_multiplier"],
                                             p["out_shift"])
    return np.clip(np.asarray(v, np.int64) + y.zero_point, p["q_min"], p["q_max"]).astype(y.dtype)


def fuse_lookup_mul(graph) -> int:
    """Returns the number of MULs folded into their LOOKUP."""
    fused = 0
    for mul in [n for n in graph.nodes if n.op == "MUL"]:
        producers, users = graph.producers(), graph.consumers()
        y = graph.tensors[mul.outputs[0]]
        if len(mul.inputs) != 2 or y.dtype != np.int8 or not y.scale:
            continue
        for x_name, t_name in (mul.inputs, mul.inputs[::-1]):
            lookup = producers.get(t_name)
            t = graph.tensors[t_name]
            if (lookup is None or lookup.op != "LOOKUP" or lookup.inputs[0] != x_name
                    or graph.tensors[x_name].dtype != np.int8 or t.dtype != np.int8
                    or graph.tensors[x_name].shape != y.shape or t.shape != y.shape
                    or len(users.get(t_name, [])) != 1 or t_name in graph.outputs
                    or graph.const(lookup.inputs[1]) is None):
                continue
            table = _composed_table(graph, lookup, mul, x_name)
            lookup.inputs = [x_name, graph.add_constant(f"{mul.outputs[0]}/table", table).name]
            lookup.outputs = [mul.outputs[0]]
            graph.nodes.remove(mul)
            fused += 1
            break
    if fused:
        graph.prune()
    return fused
