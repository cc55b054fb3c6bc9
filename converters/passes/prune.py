"""Block-sparse weights (issue #7): magnitude pruning of FULLY_CONNECTED and 1x1 CONV2D
weights in blocks, and lowering of block-sparse layers to SPARSE_FULLY_CONNECTED.

prune_graph runs on the float graph before quantization: zeroed blocks stay exactly 0
under symmetric int8 weight quantization, so lower_sparse (after lower_int8) finds the
same blocks, and the sparse int8 layer computes the dense int8 layer's integers.
Formats and the _ref pack/unpack: runtime/sparse.py and format.h.
"""
from __future__ import annotations

import numpy as np

from ...runtime import sparse as sp
from ..graph import ConversionError, Graph

MIN_WEIGHTS = 1024  # smaller layers stay dense: index overhead beats the saved work


def _weights_nk(graph: Graph, node):
    """The layer's constant weights as [N, K] (None if the node is not a candidate):
    FULLY_CONNECTED, or a dense 1x1, stride-1, unpadded CONV2D ([OC,1,1,IC] -> [OC, IC])."""
    if len(node.inputs) < 2 or not node.inputs[1]:
        return None
    w = graph.tensors[node.inputs[1]]
    if not w.is_constant or w.dtype not in (np.float32, np.int8):
        return None
    if node.op == "FULLY_CONNECTED" and len(w.shape) == 2:
        return w.data
    p = node.params
    if (node.op == "CONV2D" and len(w.shape) == 4 and w.shape[1:3] == (1, 1) and p.get("groups", 1) == 1
            and p.get("stride_h", 1) == 1 and p.get("stride_w", 1) == 1
            and not any(p.get(k, 0) for k in ("pad_top", "pad_left", "pad_bottom", "pad_right"))):
        return w.data.reshape(w.shape[0], w.shape[3])
    return None


def _candidate(graph: Graph, node, bs):
    """The [N, K] weights when the layer can run as SPARSE_FULLY_CONNECTED with bs blocks:
    >= MIN_WEIGHTS weights, a whole number of blocks, input [..., K] and output [..., N]."""
    w = _weights_nk(graph, node)
    if w is None or w.size < MIN_WEIGHTS or w.shape[0] % bs[0] or w.shape[1] % bs[1]:
        return None
    x_shape, y_shape = graph.tensors[node.inputs[0]].shape, graph.tensors[node.outputs[0]].shape
    if not x_shape or x_shape[-1] != w.shape[1] or y_shape[-1] != w.shape[0]:
        return None  # e.g. a FULLY_CONNECTED that flattens [1, H, W, C] into K
    return w


def prune_graph(graph: Graph, sparsity: float, block="1x4") -> list:
    """Zero the `sparsity` fraction of smallest-L1 blocks in every float layer that can run
    on the sparse kernels (_candidate). Returns the pruned node names; records them in
    graph.metadata."""
    if not 0.0 <= float(sparsity) < 1.0:
        raise ConversionError(f"{graph.name}: sparsity={sparsity} must be in [0, 1)")
    bs = sp.block_shape(block)
    pruned = []
    for node in graph.nodes:
        w = _candidate(graph, node, bs)
        if w is None or w.dtype != np.float32:
            continue
        t = graph.tensors[node.inputs[1]]
        name = graph.unique_name(f"{node.inputs[1]}/pruned")  # the source tensor may be shared
        graph.add_tensor(name, t.shape, t.dtype, sp.prune_blocks_ref(w, sparsity, bs).reshape(t.shape))
        node.inputs[1] = name
        pruned.append(node.name or node.outputs[0])
    graph.metadata["sparsity"] = {"target": float(sparsity), "block": "%dx%d" % bs, "pruned": pruned}
    return pruned


def lower_sparse(graph: Graph, block="1x4", min_zero_blocks: float = 0.5) -> list:
    """Rewrite candidate layers whose weights have >= min_zero_blocks all-zero blocks as
    SPARSE_FULLY_CONNECTED (after lower_int8; int8 keeps the layer's requantization).
    Returns the rewritten node names."""
    bs = sp.block_shape(block)
    done = []
    for node in graph.nodes:
        w = _candidate(graph, node, bs)
        if w is None or (w.dtype == np.int8 and len(node.inputs) < 5):
            continue
        if w.dtype != np.int8 and len(node.inputs) > 3 and node.inputs[3]:
            continue  # an fp32 conv with a fused residual (passes/residual.py) stays dense
        values, cols, rowptr = sp.pack_block_csr_ref(w, bs)
        if 1.0 - len(cols) / (w.size // (bs[0] * bs[1])) < min_zero_blocks:
            continue
        base = node.inputs[1]
        names = []
        for suffix, arr in (("values", values), ("cols", cols), ("rowptr", rowptr)):
            n = graph.unique_name(f"{base}/sparse_{suffix}")
            graph.add_tensor(n, arr.shape, arr.dtype, arr)
            names.append(n)
        p = node.params
        params = {"block_h": bs[0], "block_w": bs[1], "act_min": p.get("act_min", -np.inf),
                  "act_max": p.get("act_max", np.inf), "q_min": p.get("q_min", -128), "q_max": p.get("q_max", 127),
                  "requant": p.get("requant", 0) if w.dtype == np.int8 else 0}
        bias = node.inputs[2] if len(node.inputs) > 2 else ""
        extra = list(node.inputs[3:5]) if w.dtype == np.int8 else []
        node.op, node.params = "SPARSE_FULLY_CONNECTED", params
        node.inputs = [node.inputs[0]] + names + [bias] + extra
        done.append(node.name or node.outputs[0])
    if done:
        graph.metadata.setdefault("sparsity", {})["sparse_layers"] = done
    graph.prune()
    return done
