"""Fuse a CLAMP (ReLU, ReLU6, ...) into the op that produces its input when that op
applies a clamp itself: conv, depthwise, fully connected, element-wise binary (OPS.md:
every binary op ends with the act clamp), pooling. Each activation is then written once
instead of twice. Only float clamps fuse: an int8 clamp is a requantization (q_min/q_max
are set by the int8 lowering).
A clamp after a DEPTH_TO_SPACE moves onto the op before it (a clamp commutes with a
permutation of values): DB heads write ConvTranspose -> Relu, lowered to conv ->
DEPTH_TO_SPACE -> CLAMP."""
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
        if (prod is not None and prod.op == "DEPTH_TO_SPACE" and len(users.get(src, [])) == 1
                and src not in outputs and _through_depth_to_space(graph, node, prod, producers, users, outputs)):
            fused += 1
            continue
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


def _through_depth_to_space(graph, clamp, d2s, producers, users, outputs) -> bool:
    """CLAMP(DEPTH_TO_SPACE(p(x))) -> DEPTH_TO_SPACE(p'(x)), p' = p with the clamp fused."""
    inner = d2s.inputs[0]
    prod = producers.get(inner)
    out = graph.tensors[clamp.outputs[0]]
    if (prod is None or prod.op not in FUSABLE or len(users.get(inner, [])) != 1 or inner in outputs
            or graph.tensors[inner].dtype != np.float32 or out.dtype != np.float32
            or out.shape != graph.tensors[d2s.outputs[0]].shape):
        return False
    lo = max(float(prod.params["act_min"]), float(clamp.params["min"]))
    hi = min(float(prod.params["act_max"]), float(clamp.params["max"]))
    if lo > hi:
        return False
    prod.params["act_min"], prod.params["act_max"] = lo, hi
    d2s.outputs = [clamp.outputs[0]]  # the permutation now writes the clamp's output
    graph.nodes.remove(clamp)
    producers[clamp.outputs[0]] = d2s
    return True
