"""Constant folding: a node whose inputs are all constants is evaluated once with the
numpy reference executor (runtime/reference.py, the definition of every op) and
replaced by its result. A node that writes a graph output stays (outputs are bound to
caller memory, so an op must write them); so does one the reference cannot evaluate
(e.g. an integer variant not defined yet): it then runs on the device as before."""
from __future__ import annotations


def fold_constants(graph) -> int:
    """Returns the number of nodes folded."""
    from ...runtime import reference
    outputs = set(graph.outputs)
    kept, folded = [], 0
    for node in graph.nodes:
        ins = [graph.tensors[i] for i in node.inputs if i]
        foldable = ins and all(t.is_constant for t in ins) and not any(o in outputs for o in node.outputs)
        results = _evaluate(reference, graph, node) if foldable else None
        if results is None:
            kept.append(node)
            continue
        for name, value in zip(node.outputs, results):
            t = graph.tensors[name]
            t.data = value.astype(t.dtype).reshape(t.shape)
        folded += 1
    graph.nodes = kept
    return folded


def _evaluate(reference, graph, node):
    fn = reference.OPS.get(node.op)
    if fn is None:
        return None
    arrays = [graph.tensors[i].data if i else None for i in node.inputs]
    try:
        return fn(arrays, node.params, [graph.tensors[o] for o in node.outputs],
                  [graph.tensors[i] if i else None for i in node.inputs])
    except NotImplementedError:
        return None
