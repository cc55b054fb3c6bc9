"""Binary layers from ONNX (issue #7): BNNs exported from PyTorch compute
Conv(Sign(x), W) where W is +-alpha per output channel (or Sign(W), which folds to +-1),
and Gemm / MatMul(Sign(x), W) likewise. The ONNX frontend (converters/onnx.py) hands such
layers here: BINARY_CONV2D with the sign bits of W (runtime/bnn.py), scale alpha, the
layer's bias (fully-connected layers as a 1x1 BINARY_CONV2D between two RESHAPEs).

Exactness: BINARY_CONV2D binarizes exactly as ONNX Sign (0 stays 0) and pads with 0, as
Conv does on Sign's output, and computes float32(integer sum) * alpha + bias. ONNX sums
+-alpha terms in float: the same value whenever those partial sums are exact (alpha a
power of two, e.g. Sign(W) with alpha 1, and |sum| < 2^24 alpha), else within rounding.
A Sign whose output feeds anything but such a Conv is refused with the reason.
"""
from __future__ import annotations

import numpy as np

from ...runtime import bnn
from ..graph import ConversionError


def sign_consumers_ok(c, sign_output: str) -> str | None:
    """None when every consumer of `sign_output` is a Conv that lowers to BINARY_CONV2D,
    else a message naming the first consumer that does not."""
    if sign_output in {o.name for o in c.m.graph.output}:
        return "it is a graph output"
    for user in c.users.get(sign_output, []):
        name = f"{user.op_type} {user.name or user.output[0]!r}"
        if user.op_type not in ("Conv", "Gemm", "MatMul") or list(user.input).count(sign_output) != 1 \
                or user.input[0] != sign_output:
            return f"node {user.name or user.output[0]!r} ({user.op_type}) uses it"
        w = c.const(user.input[1])
        if user.op_type == "Conv":
            why = "no constant 2-D weights" if w is None or w.ndim != 4 else \
                _binary_weights_problem(w, {a.name: a for a in user.attribute})
        else:
            why = _fc_problem(c, user, sign_output)
        if why:
            return f"{name}: {why}"
    return None


def _fc_weights(node, w):
    """Gemm / MatMul constant B as [N, K] (None when it is not a plain 2-D constant)."""
    if w is None or w.ndim != 2:
        return None
    attrs = {a.name: a for a in node.attribute}
    trans_b = node.op_type == "Gemm" and "transB" in attrs and attrs["transB"].i
    return w if trans_b else w.T


def _fc_problem(c, node, x_onnx) -> str | None:
    attrs = {a.name: a for a in node.attribute}
    if node.op_type == "Gemm" and ("transA" in attrs and attrs["transA"].i or
                                   any(k in attrs and attrs[k].f != 1.0 for k in ("alpha", "beta"))):
        return "Gemm with transA/alpha/beta"
    w = _fc_weights(node, c.const(node.input[1]))
    if w is None:
        return "no constant 2-D weights"
    if len(c.shape(x_onnx)) != 2:
        return f"input of rank {len(c.shape(x_onnx))} (binary fully-connected layers take [M, K])"
    mag = np.abs(w).astype(np.float32)
    if np.any(mag == 0) or np.any(mag != mag[:, :1]):
        return "weights are not +-alpha per output feature"
    return None


def _binary_weights_problem(w: np.ndarray, attrs) -> str | None:
    group = attrs["group"].i if "group" in attrs else 1
    if group != 1:
        return f"group {group} (binary convolutions are dense)"
    mag = np.abs(w.reshape(w.shape[0], -1)).astype(np.float32)
    if np.any(mag == 0) or np.any(mag != mag[:, :1]):
        return "weights are not +-alpha per output channel"
    return None


def lower_binary_conv(c, node, ctx, x_onnx: str, pads: dict, strides, dil):
    """Conv(Sign(x_onnx), W [OC, IC, KH, KW] = +-alpha) -> BINARY_CONV2D on NHWC x."""
    w = c.const(node.input[1])
    why = _binary_weights_problem(w, {a.name: a for a in node.attribute})
    if why:
        raise ConversionError(f"{ctx}: a Conv of Sign(x) lowers to BINARY_CONV2D only with +-alpha weights: {why}")
    b = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    x = c.nhwc_input(x_onnx)
    y = c.output(node.output[0], True)
    alpha = np.abs(w.reshape(w.shape[0], -1)[:, 0]).astype(np.float32)
    bits = bnn.pack_sign_bits_ref(np.transpose(w, (0, 2, 3, 1)))
    ins = [x, c.g.add_constant(f"{y}/sign_bits", bits).name, c.g.add_constant(f"{y}/alpha", alpha).name]
    if b is not None:
        ins.append(c.g.add_constant(f"{y}/bias", b.astype(np.float32)).name)
    params = {"stride_h": strides[0], "stride_w": strides[1], "dilation_h": dil[0], "dilation_w": dil[1], **pads}
    c.g.add_node("BINARY_CONV2D", ins, [y], params, name=node.name or node.output[0])


def lower_binary_fc(c, node, ctx, x_onnx: str):
    """Gemm / MatMul(Sign(x) [M, K], +-alpha B) -> RESHAPE [M,1,1,K] -> BINARY_CONV2D 1x1 ->
    RESHAPE [M, N]: a binary fully-connected layer on the convolution kernels."""
    why = _fc_problem(c, node, x_onnx)
    if why:
        raise ConversionError(f"{ctx}: a {node.op_type} of Sign(x) lowers to a binary layer only with: {why} fixed")
    w = _fc_weights(node, c.const(node.input[1]))
    b = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    (m, k), n = c.shape(x_onnx), w.shape[0]
    x = c.logical_input(x_onnx)
    y = c.output(node.output[0], False)
    x4, y4 = c.g.unique_name(f"{y}/x_1x1"), c.g.unique_name(f"{y}/y_1x1")
    c.g.add_tensor(x4, (m, 1, 1, k))
    c.g.add_tensor(y4, (m, 1, 1, n))
    c.g.add_node("RESHAPE", [x], [x4], {}, name=x4)
    bits = bnn.pack_sign_bits_ref(w.reshape(n, 1, 1, k))
    alpha = np.abs(w[:, 0]).astype(np.float32)
    ins = [x4, c.g.add_constant(f"{y}/sign_bits", bits).name, c.g.add_constant(f"{y}/alpha", alpha).name]
    if b is not None:
        ins.append(c.g.add_constant(f"{y}/bias", np.broadcast_to(b, (n,)).astype(np.float32)).name)
    c.g.add_node("BINARY_CONV2D", ins, [y4], {}, name=node.name or node.output[0])
    c.g.add_node("RESHAPE", [y4], [y], {}, name=f"{y}/reshape")
