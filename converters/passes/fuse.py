"""Fuse a CLAMP (ReLU, ReLU6, ...) into the op that produces its input when that op
applies a clamp itself: conv, depthwise, fully connected, element-wise binary (OPS.md:
every binary op ends with the act clamp), pooling. Each activation is then written once
instead of twice. Only float clamps fuse: an int8 clamp is a requantization (q_min/q_max
are set by the int8 lowering)."""
from __future__ import annotations

import numpy as np

FUSABLE = {"CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "DIV", "MAXIMUM",
           "MINIMUM", "POW", "PRELU", "MAX_POOL2D", "AVG_POOL2D"}


def fuse_activations(graph) -> int:
    """Returns the number of clamps fused."""
    producers = graph.producers()
    users = graph.consumers()
    outputs = set(graph.outputs)
    fused = 0
    for node in list(graph.nodes):
        if node.op != "CLAMP":
            continue
        src = node.inputs[0]
        prod = producers.get(src)
        out = graph.tensors[node.outputs[0]]
        if (prod is None or prod.op not in FUSABLE or len(users.get(src, [])) != 1 or src in outputs
                or graph.tensors[src].dtype != np.float32 or out.dtype != np.float32
                or out.shape != graph.tensors[src].shape):
            continue
        lo = max(float(prod.params["act_min"]), float(node.params["min"]))
        hi = min(float(prod.params["act_max"]), float(node.params["max"]))
        if lo > hi:  # disjoint ranges: the composition is a constant, not one clamp
            continue
        prod.params["act_min"], prod.params["act_max"] = lo, hi
        # the producer now writes the clamp's output directly
        prod.outputs = [node.outputs[0]]
        graph.nodes.remove(node)
        producers[node.outputs[0]] = prod
        fused += 1
    return fused
