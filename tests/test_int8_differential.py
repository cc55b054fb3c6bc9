"""Every int8 C kernel bit-exact with runtime/reference.py over random shapes, strides,
paddings, scales and zero points (hypothesis). Requantization parameters come from the
converter's lowering pass, as in real models."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from edgec.converters.graph import Graph
from edgec.converters.quantize import lower_int8
from edgec.converters.tflite import int8_mean_params
from test_ops_differential import conv_out, run_both

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
quant = st.tuples(st.floats(0.005, 0.5), st.integers(-128, 127))
acts = st.sampled_from([(-np.inf, np.inf), (0.0, np.inf), (0.0, 6.0)])


def int8_graph(op, x_shapes, x_quants, y_shape, y_quant, params=None, consts=(), seed=0):
    rng = np.random.default_rng(seed)
    g = Graph(name=f"int8-{op}")
    feeds, names = {}, []
    for i, (shape, (s, zp)) in enumerate(zip(x_shapes, x_quants)):
        g.add_tensor(f"x{i}", shape, np.int8, scale=s, zero_point=zp)
        g.inputs.append(f"x{i}")
        feeds[f"x{i}"] = rng.integers(-128, 128, shape).astype(np.int8)
        names.append(f"x{i}")
    for name, array, scales in consts:
        t = g.add_tensor(name, array.shape, array.dtype, array)
        if scales is not None:
            t.channel_scales, t.scale = scales, float(scales[0])
        names.append(name)
    g.add_tensor("y", y_shape, np.int8, scale=y_quant[0], zero_point=y_quant[1])
    g.add_node(op, names, ["y"], params or {}, name=f"{op.lower()}_int8")
    g.outputs = ["y"]
    lower_int8(g)
    return g, feeds


def weights(rng, shape, channels):
    w = rng.integers(-127, 128, shape).astype(np.int8)
    return w, rng.uniform(0.001, 0.02, channels).astype(np.float32)


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3),
       st.integers(1, 2), st.tuples(*[st.integers(0, 2)] * 4), quant, quant, acts, st.booleans(),
       st.integers(0, 10 ** 6))
def test_conv2d_int8(h, w, ic, oc, k, stride, pads, xq, yq, act, depthwise, seed):
    rng = np.random.default_rng(seed)
    t, l, b, r = pads
    oh, ow = conv_out(h, k, stride, 1, t, b), conv_out(w, k, stride, 1, l, r)
    if oh < 1 or ow < 1:
        return
    p = {"stride_h": stride, "stride_w": stride, "pad_top": t, "pad_left": l, "pad_bottom": b, "pad_right": r,
         "act_min": act[0], "act_max": act[1]}
    if depthwise:
        wt, scales = weights(rng, (1, k, k, ic), ic)
        op, oc, p = "DEPTHWISE_CONV2D", ic, {**p, "depth_multiplier": 1}
    else:
        wt, scales = weights(rng, (oc, k, k, ic), oc)
        op = "CONV2D"
    bias = rng.integers(-5000, 5000, oc).astype(np.int32)
    g, feeds = int8_graph(op, [(1, h, w, ic)], [xq], (1, oh, ow, oc), yq, p,
                          [("w", wt, scales), ("b", bias, None)], seed)
    run_both(g, feeds)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 64), st.integers(1, 32), quant, quant, st.booleans(), st.booleans(),
       st.integers(0, 10 ** 6))
def test_fully_connected_int8(m, k, n, xq, yq, per_channel, with_bias, seed):
    rng = np.random.default_rng(seed)
    wt, scales = weights(rng, (n, k), n)
    if not per_channel:
        scales = scales[:1]
    consts = [("w", wt, scales)] + ([("b", rng.integers(-3000, 3000, n).astype(np.int32), None)] if with_bias else [])
    g, feeds = int8_graph("FULLY_CONNECTED", [(m, k)], [xq], (m, n), yq, {}, consts, seed)
    if not with_bias:
        g.nodes[0].inputs[2] = ""
    run_both(g, feeds)


@SETTINGS
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.sampled_from(["ADD", "SUB", "MUL"]), quant, quant,
       quant, acts, st.booleans(), st.integers(0, 10 ** 6))
def test_binary_int8(shape, op, aq, bq, yq, act, broadcast, seed):
    other = (shape[-1],) if broadcast else tuple(shape)
    g, feeds = int8_graph(op, [tuple(shape), other], [aq, bq], tuple(shape), yq,
                          {"act_min": act[0], "act_max": act[1]}, seed=seed)
    run_both(g, feeds)


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 3), st.integers(1, 2),
       st.sampled_from(["MAX_POOL2D", "AVG_POOL2D"]), quant, st.integers(0, 10 ** 6))
def test_pool_int8(h, w, c, k, stride, op, q, seed):
    pad = (k - 1) // 2
    oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
    if oh < 1 or ow < 1:
        return
    p = {"filter_h": k, "filter_w": k, "stride_h": stride, "stride_w": stride, "pad_top": pad,
         "pad_left": pad, "pad_bottom": pad, "pad_right": pad, "act_max": 3.0}
    g, feeds = int8_graph(op, [(1, h, w, c)], [q], (1, oh, ow, c), q, p, seed=seed)
    run_both(g, feeds)


@SETTINGS
@given(st.integers(1, 2), st.integers(1, 12), st.integers(1, 12), st.integers(1, 8), quant, quant, st.booleans(),
       st.integers(0, 10 ** 6))
def test_mean_int8(n, h, w, c, xq, yq, keep, seed):
    y_shape = (n, 1, 1, c) if keep else (n, c)
    g, feeds = int8_graph("REDUCE", [(n, h, w, c)], [xq], y_shape, yq, {"axes_mask": 0b0110}, seed=seed)
    node = g.nodes[0]
    node.params.update(int8_mean_params(g.tensors["x0"], g.tensors["y"], 0b0110, keep))
    run_both(g, feeds)
