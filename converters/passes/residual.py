"""Fuse a residual ADD into the fp32 CONV2D that produces one of its operands:

    y = act(conv(x) + skip)          ->  CONV2D(x, w, bias, skip) with the ADD's act
    y = act(conv(x) + pad_c(skip))   ->  CONV2D(x, w, bias, skip)  (zero channel-pad folded)

BlazeFace's blocks and ResNet-style ONNX models end this way. The conv then adds the skip
to the rows it just computed (runtime/ops/conv.c), so the ADD's pass over both tensors and
the PAD's copy disappear. Conditions: everything float32; the conv has no activation of its
own, its output feeds only this ADD and is not a graph output; the skip has the output's
[N,H,W] and at most its channels (fewer only through a PAD that appends zero channels);
the skip is produced before the conv (node order is kept)."""
from __future__ import annotations

import math

import numpy as np


def _channel_pad_source(graph, name, producers):
    """The input of a PAD that only appends zero channels (last axis), else None."""
    pad = producers.get(name)
    if pad is None or pad.op != "PAD" or pad.params.get("mode", 0) != 0 or float(pad.params.get("value", 0.0)) != 0.0:
        return None
    src = graph.tensors[pad.inputs[0]]
    pads = list(pad.params["pads"])[:2 * len(src.shape)]
    if len(src.shape) != 4 or any(pads[:7]) or pads[7] < 0:
        return None
    return pad.inputs[0]


def fuse_residuals(graph) -> int:
    """Returns the number of ADDs fused into convs."""
    fused = 0
    for add in [n for n in graph.nodes if n.op == "ADD"]:
        producers, users = graph.producers(), graph.consumers()
        order = {id(n): i for i, n in enumerate(graph.nodes)}
        out = graph.tensors[add.outputs[0]]
        if len(add.inputs) != 2 or out.dtype != np.float32 or len(out.shape) != 4:
            continue
        for conv_in, skip in (add.inputs, add.inputs[::-1]):
            conv = producers.get(conv_in)
            if (conv is None or conv.op != "CONV2D" or len(conv.inputs) > 3 or conv_in in graph.outputs
                    or len(users.get(conv_in, [])) != 1 or graph.tensors[conv_in].shape != out.shape
                    or graph.tensors[conv_in].dtype != np.float32
                    or not (math.isinf(conv.params["act_min"]) and conv.params["act_min"] < 0
                            and math.isinf(conv.params["act_max"]) and conv.params["act_max"] > 0)):
                continue
            src = skip
            if graph.tensors[skip].shape != out.shape:
                continue
            narrowed = _channel_pad_source(graph, skip, producers)
            if narrowed is not None:
                src = narrowed
            t = graph.tensors[src]
            if t.dtype != np.float32 or len(t.shape) != 4 or t.shape[:3] != out.shape[:3] or t.shape[3] > out.shape[3]:
                continue
            src_node = producers.get(src)
            if src_node is not None and order[id(src_node)] > order[id(conv)]:
                continue  # the skip is computed after the conv: fusing would reorder the graph
            conv.inputs = (conv.inputs + ["", ""])[:3] + [src]
            conv.params["act_min"], conv.params["act_max"] = add.params["act_min"], add.params["act_max"]
            conv.outputs = [add.outputs[0]]
            graph.nodes.remove(add)
            fused += 1
            break
    if fused:
        graph.prune()  # channel PADs nobody reads any more
    return fused
