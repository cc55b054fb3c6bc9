"""Fold a per-channel constant ADD (or SUB) after a convolution into the convolution's
bias. Exporters such as Paddle2ONNX write Conv (no bias) -> Add(reshape(bias)) -> Relu;
kept apart, the add costs a pass over the tensor and, once quantized, a second rounding
of every activation. The add's fused activation moves onto the convolution. Through a
DEPTH_TO_SPACE too (DB heads: Conv -> DepthToSpace -> Add(bias)), whose output channel c
reads conv channels (i*b + j)*C' + c (DCR) or c*b*b + i*b + j (CRD)."""
from __future__ import annotations

import numpy as np

WEIGHTED = ("CONV2D", "DEPTHWISE_CONV2D", "FULLY_CONNECTED")


def _channel_constant(graph, name: str, channels: int):
    """The constant as a [channels] vector if it broadcasts along the last axis only."""
    c = graph.const(name)
    if c is None or c.dtype != np.float32 or c.size not in (1, channels):
        return None
    if c.size == channels and c.ndim and c.shape[-1] != channels:
        return None
    return np.broadcast_to(c.reshape(-1), (channels,)).astype(np.float32)


def fold_bias_adds(graph) -> int:
    """Returns the number of adds folded."""
    producers = graph.producers()
    users = graph.consumers()
    outputs = set(graph.outputs)
    folded = 0
    for node in list(graph.nodes):
        if node.op not in ("ADD", "SUB") or len(node.inputs) != 2:
            continue
        for k in (0, 1) if node.op == "ADD" else (0,):
            x, c = node.inputs[k], node.inputs[1 - k]
            conv = producers.get(x)
            if (conv is None or conv.op not in WEIGHTED or len(users.get(x, [])) != 1 or x in outputs
                    or graph.tensors[x].dtype != np.float32 or graph.const(conv.inputs[1]) is None
                    or graph.const(conv.inputs[1]).dtype != np.float32
                    or graph.tensors[node.outputs[0]].shape != graph.tensors[x].shape
                    or (conv.params["act_min"], conv.params["act_max"]) != (-np.inf, np.inf)):
                continue
            channels = graph.tensors[x].shape[-1]
            shift = _channel_constant(graph, c, channels)
            if shift is None:
                continue
            old = graph.const(conv.inputs[2]) if len(conv.inputs) > 2 and conv.inputs[2] else None
            bias = (np.zeros(channels, np.float32) if old is None else old.astype(np.float32))
            bias = bias + (shift if node.op == "ADD" else -shift)
            bname = graph.add_constant(f"{node.outputs[0]}/bias", bias.astype(np.float32)).name
            conv.inputs = conv.inputs[:2] + [bname] + conv.inputs[3:]
            conv.params["act_min"], conv.params["act_max"] = node.params["act_min"], node.params["act_max"]
            conv.outputs = [node.outputs[0]]
            producers[node.outputs[0]] = conv
            graph.nodes.remove(node)
            folded += 1
            break
        else:
            if node.op == "ADD" and _fold_through_depth_to_space(graph, node, graph.producers(), graph.consumers(),
                                                                 outputs):
                producers = graph.producers()
                folded += 1
    return folded


def _fold_through_depth_to_space(graph, node, producers, users, outputs) -> bool:
    """ADD(DEPTH_TO_SPACE(conv(x)), per-channel constant) -> bias of conv."""
    for k in (0, 1):
        x, c = node.inputs[k], node.inputs[1 - k]
        d2s = producers.get(x)
        if d2s is None or d2s.op != "DEPTH_TO_SPACE" or len(users.get(x, [])) != 1 or x in outputs:
            continue
        inner = d2s.inputs[0]
        conv = producers.get(inner)
        if (conv is None or conv.op not in WEIGHTED or len(users.get(inner, [])) != 1 or inner in outputs
                or graph.tensors[inner].dtype != np.float32 or graph.const(conv.inputs[1]) is None
                or graph.tensors[node.outputs[0]].shape != graph.tensors[x].shape
                or (conv.params["act_min"], conv.params["act_max"]) != (-np.inf, np.inf)):
            continue
        out_c, in_c = graph.tensors[x].shape[-1], graph.tensors[inner].shape[-1]
        shift = _channel_constant(graph, c, out_c)
        if shift is None or in_c % out_c:
            continue
        per = np.arange(in_c)
        per = per % out_c if d2s.params.get("mode", 0) == 0 else per // (in_c // out_c)
        old = graph.const(conv.inputs[2]) if len(conv.inputs) > 2 and conv.inputs[2] else None
        bias = (np.zeros(in_c, np.float32) if old is None else old.astype(np.float32)) + shift[per]
        bname = graph.add_constant(f"{node.outputs[0]}/bias", bias.astype(np.float32)).name
        conv.inputs = conv.inputs[:2] + [bname] + conv.inputs[3:]
        # an element-wise clamp commutes with the permutation DEPTH_TO_SPACE is
        conv.params["act_min"], conv.params["act_max"] = node.params["act_min"], node.params["act_max"]
        d2s.outputs = [node.outputs[0]]
        graph.nodes.remove(node)
        return True
    return False
