"""Constant folding: a node whose inputs are all constants is evaluated once with the
numpy reference executor (runtime/reference.py, the definition of every op) and
replaced by its result."""
from __future__ import annotations


def fold_constants(graph) -> int:
    from ...runtime import reference
    outputs = set(graph.outputs)
    kept, folded = [], 0
    for node in graph.nodes:
        ins = [graph.tensors[i] for i in node.inputs if i]
        if ins and all(t.is_constant for t in ins) and not any(o in outputs for o in node.outputs):
            arrays = [graph.tensors[i].data if i else None for i in node.inputs]
            results = reference.OPS[node.op](arrays, node.params, [graph.tensors[o] for o in node.outputs],
                                             [graph.tensors[i] if i else None for i in node.inputs])
            for name, value in zip(node.outputs, results):
                t = graph.tensors[name]
                t.data = value.astype(t.dtype).reshape(t.shape)
            folded += 1
        else:
            kept.append(node)
    graph.nodes = kept
    return folded
