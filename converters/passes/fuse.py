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
        writer = producers.get(src)  # the op that will write the clamp's output
        if writer is not None and writer.op == "DEPTH_TO_SPACE" and _sole_float_use(graph, src, users, outputs):
            src = writer.inputs[0]  # the permutation's input: the clamp goes before it
        prod = producers.get(src)
        if (prod is None or prod.op not in FUSABLE or not _sole_float_use(graph, src, users, outputs)
                or graph.tensors[node.outputs[0]].dtype != np.float32
                or graph.tensors[node.outputs[0]].shape != graph.tensors[writer.outputs[0]].shape):
            continue
        lo = max(float(prod.params["act_min"]), float(node.params["min"]))
        hi = min(float(prod.params["act_max"]), float(node.params["max"]))
        if lo > hi:  # disjoint ranges: the composition is a constant, not one clamp
            continue
        prod.params["act_min"], prod.params["act_max"] = lo, hi
        # the producer (or the permutation after it) now writes the clamp's output directly
        writer.outputs = [node.outputs[0]]
        graph.nodes.remove(node)
        producers[node.outputs[0]] = writer
        fused += 1
    return fused


def _sole_float_use(graph, name: str, users, outputs) -> bool:
    """A float32 tensor read by one op only and not a graph output: its producer may change
    what it writes."""
    return len(users.get(name, [])) == 1 and name not in outputs and graph.tensors[name].dtype == np.float32
