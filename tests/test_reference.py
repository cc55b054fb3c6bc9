"""runtime/reference.py, the definition of every op (runtime/OPS.md), against plain numpy
formulations and hand-computed values on tiny shapes; the executors' error messages;
the graph passes that evaluate ops with it (constant folding, activation fusion)."""
import math

import numpy as np
import pytest

from edgec.converters.graph import Graph, Tensor
from edgec.converters.passes import fold_constants, fuse_activations, run_passes
from edgec.converters.writer import write_model
from edgec.runtime import format as fmt
from edgec.runtime import reference

RNG = np.random.default_rng(0)
F32 = np.float32


def randn(*shape):
    return RNG.standard_normal(shape).astype(F32)


def run(op, inputs, out_shape, params=None, out_dtype=F32, out_scale=0.0, out_zp=0):
    """Call reference.OPS[op] directly, as the executors do."""
    specs = [None if a is None else Tensor(f"x{i}", a.shape, a.dtype) for i, a in enumerate(inputs)]
    out = Tensor("y", out_shape, out_dtype, scale=out_scale, zero_point=out_zp)
    (y,) = reference.OPS[op](list(inputs), fmt.complete_params(op, params or {}), [out], specs)
    assert y.shape == tuple(out_shape) and y.dtype == np.dtype(out_dtype)
    return y


def close(got, want, rtol=1e-5):
    want = np.asarray(want, np.float64)
    scale = max(float(np.abs(want).max()), 1e-6)
    assert float(np.abs(got.astype(np.float64) - want).max()) <= rtol * scale


def test_every_registered_op_has_a_reference():
    assert set(fmt.OPS) <= set(reference.OPS)


# -- convolution, matmul ------------------------------------------------------------------

def conv_loop(x, w, b, sh, sw, dh, dw, pads, groups, oh, ow):
    """OPS.md's CONV2D formula, one output element at a time."""
    n, h, wd, _ = x.shape
    oc, kh, kw, icg = w.shape
    pt, pl = pads[0], pads[1]
    out = np.zeros((n, oh, ow, oc), np.float64)
    for o in range(oc):
        g = o // (oc // groups)
        for y in range(oh):
            for xx in range(ow):
                acc = 0.0 if b is None else float(b[o])
                for ky in range(kh):
                    for kx in range(kw):
                        iy, ix = y * sh - pt + ky * dh, xx * sw - pl + kx * dw
                        if 0 <= iy < h and 0 <= ix < wd:
                            acc += x[:, iy, ix, g * icg:(g + 1) * icg] @ w[o, ky, kx].astype(np.float64)
                out[:, y, xx, o] = acc
    return out


def out_size(size, k, s, d, before, after):
    return (size + before + after - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("stride,dil,pads,groups,bias", [
    ((1, 1), (1, 1), (1, 1, 1, 1), 1, True),
    ((2, 1), (1, 2), (0, 2, 1, 0), 1, False),   # asymmetric padding, dilation
    ((2, 2), (1, 1), (1, 0, 0, 1), 2, True),     # grouped
    ((1, 3), (2, 1), (3, 1, 2, 2), 3, True),
])
def test_conv2d_matches_direct_loop(stride, dil, pads, groups, bias):
    x = randn(2, 7, 6, 6)
    w = randn(6, 3, 2, 6 // groups)
    b = randn(6) if bias else None
    pt, pl, pb, pr = pads
    oh = out_size(7, 3, stride[0], dil[0], pt, pb)
    ow = out_size(6, 2, stride[1], dil[1], pl, pr)
    p = {"stride_h": stride[0], "stride_w": stride[1], "dilation_h": dil[0], "dilation_w": dil[1],
         "pad_top": pt, "pad_left": pl, "pad_bottom": pb, "pad_right": pr, "groups": groups}
    got = run("CONV2D", [x, w, b], (2, oh, ow, 6), p)
    close(got, conv_loop(x, w, b, *stride, *dil, (pt, pl), groups, oh, ow))


def test_conv2d_act_clamp():
    x, w = randn(1, 4, 4, 2), randn(3, 1, 1, 2)
    got = run("CONV2D", [x, w, None], (1, 4, 4, 3), {"act_min": 0.0, "act_max": 0.5})
    close(got, np.clip(np.einsum("nhwc,oc->nhwo", x, w[:, 0, 0]), 0, 0.5))


def test_depthwise_with_multiplier_matches_grouped_conv():
    """Depthwise = grouped conv with groups = C where output channel oc reads oc // M."""
    c, m = 3, 2
    x, w, b = randn(1, 6, 5, c), randn(1, 3, 3, c * m), randn(c * m)
    p = {"stride_h": 2, "pad_top": 1, "pad_bottom": 1, "pad_left": 1, "pad_right": 1,
         "depth_multiplier": m, "dilation_w": 2}
    oh, ow = out_size(6, 3, 2, 1, 1, 1), out_size(5, 3, 1, 2, 1, 1)
    got = run("DEPTHWISE_CONV2D", [x, w, b], (1, oh, ow, c * m), p)
    w_conv = np.transpose(w, (3, 1, 2, 0))  # [C*M, KH, KW, 1]
    close(got, conv_loop(x, w_conv, b, 2, 1, 1, 2, (1, 1), c, oh, ow))


def test_fully_connected_flattens_leading_dims():
    x, w, b = randn(2, 3, 4), randn(5, 4), randn(5)
    got = run("FULLY_CONNECTED", [x, w, b], (2, 3, 5), {"act_min": -0.5, "act_max": 1.0})
    close(got, np.clip(x @ w.T + b, -0.5, 1.0))
    close(run("FULLY_CONNECTED", [x, w, None], (6, 5)), x.reshape(6, 4) @ w.T)


@pytest.mark.parametrize("ta,tb", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_batch_matmul_transposes_and_broadcasts(ta, tb):
    a = randn(2, 1, 3, 4) if not ta else randn(2, 1, 4, 3)
    b = randn(5, 4, 6) if not tb else randn(5, 6, 4)
    want = np.matmul(np.swapaxes(a, -1, -2) if ta else a, np.swapaxes(b, -1, -2) if tb else b)
    close(run("BATCH_MATMUL", [a, b], (2, 5, 3, 6), {"transpose_a": ta, "transpose_b": tb}), want)


# -- element-wise -------------------------------------------------------------------------

@pytest.mark.parametrize("op,fn", [("ADD", np.add), ("SUB", np.subtract), ("MUL", np.multiply),
                                   ("DIV", np.divide), ("MAXIMUM", np.maximum), ("MINIMUM", np.minimum)])
def test_binary_broadcasts_then_clamps(op, fn):
    a, b = randn(2, 1, 4), randn(3, 1) + F32(3)
    close(run(op, [a, b], (2, 3, 4)), fn(a, b))
    close(run(op, [a, b], (2, 3, 4), {"act_min": 0.0, "act_max": 2.0}), np.clip(fn(a, b), 0, 2))


def test_pow_and_prelu():
    a, b = np.abs(randn(3, 4)) + F32(0.1), randn(4)
    close(run("POW", [a, b], (3, 4)), np.power(a, b))
    x, alpha = randn(2, 3, 4), randn(4)
    close(run("PRELU", [x, alpha], (2, 3, 4)), np.where(x >= 0, x, alpha * x))


def test_clamp_leaky_relu():
    x = np.array([-3, -0.5, 0, 0.5, 7], F32)
    np.testing.assert_array_equal(run("CLAMP", [x], (5,), {"min": 0.0, "max": 6.0}), [0, 0, 0, 0.5, 6])
    np.testing.assert_array_equal(run("CLAMP", [x], (5,), {"min": 0.0}), [0, 0, 0, 0.5, 7])
    close(run("LEAKY_RELU", [x], (5,), {"alpha": 0.1}), [-0.3, -0.05, 0, 0.5, 7])


def test_gelu_both_forms():
    x = np.linspace(-5, 5, 41).astype(F32)
    exact = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)]
    close(run("GELU", [x], x.shape, {"approximate": 0}), exact)
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    close(run("GELU", [x], x.shape, {"approximate": 1}), tanh_form)


UNARY_CASES = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh,
    "hard_swish": lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6,
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x),
    "abs": np.abs, "neg": np.negative, "floor": np.floor, "ceil": np.ceil,
}


@pytest.mark.parametrize("kind", sorted(UNARY_CASES))
def test_unary(kind):
    x = np.linspace(-6, 6, 25).astype(F32)
    if kind in ("log", "sqrt", "rsqrt"):
        x = np.abs(x) + F32(0.25)
    close(run("UNARY", [x], x.shape, {"kind": fmt.UNARY_KINDS[kind]}), UNARY_CASES[kind](x.astype(np.float64)))


def test_unary_hard_sigmoid_uses_alpha_beta():
    x = np.array([-4, -1, 0, 1, 4], F32)
    got = run("UNARY", [x], (5,), {"kind": fmt.UNARY_KINDS["hard_sigmoid"], "alpha": 0.2, "beta": 0.5})
    close(got, [0.0, 0.3, 0.5, 0.7, 1.0])


def test_every_unary_kind_is_covered():
    assert set(UNARY_CASES) | {"hard_sigmoid"} == set(fmt.UNARY_KINDS)


# -- pooling, reductions ------------------------------------------------------------------

def pool_params(k, s, pads, **kw):
    return {"filter_h": k, "filter_w": k, "stride_h": s, "stride_w": s, "pad_top": pads, "pad_left": pads,
            "pad_bottom": pads, "pad_right": pads, **kw}


def test_max_pool_padding_never_wins():
    x = -np.arange(1, 17, dtype=F32).reshape(1, 4, 4, 1)  # all negative: a 0 pad would win
    got = run("MAX_POOL2D", [x], (1, 2, 2, 1), pool_params(3, 2, 1))
    # windows (rows, cols in the image): (0-1, 0-1), (0-1, 1-3), (1-3, 0-1), (1-3, 1-3)
    np.testing.assert_array_equal(got[0, :, :, 0], [[-1, -2], [-5, -6]])


def test_avg_pool_counts_in_image_taps_or_the_full_window():
    x = np.arange(16, dtype=F32).reshape(1, 4, 4, 1)
    got = run("AVG_POOL2D", [x], (1, 2, 2, 1), pool_params(3, 2, 1))
    # in-image taps: (0+1+4+5)/4, (1+2+3+5+6+7)/6, (4+5+8+9+12+13)/6, (5+6+7+9+10+11+13+14+15)/9
    np.testing.assert_allclose(got[0, :, :, 0], [[2.5, 4], [8.5, 10]], rtol=1e-6)
    got = run("AVG_POOL2D", [x], (1, 2, 2, 1), pool_params(3, 2, 1, count_include_pad=1))
    np.testing.assert_allclose(got[0, :, :, 0], [[10 / 9, 24 / 9], [51 / 9, 90 / 9]], rtol=1e-6)


def test_pool_act_clamp():
    x = randn(1, 4, 4, 2)
    got = run("MAX_POOL2D", [x], (1, 2, 2, 2), pool_params(2, 2, 0, act_min=0.0, act_max=0.5))
    close(got, np.clip(x.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4)), 0, 0.5))


@pytest.mark.parametrize("kind,fn", [("mean", np.mean), ("sum", np.sum), ("max", np.max), ("min", np.min)])
def test_reduce_keeps_or_drops_axes(kind, fn):
    x = randn(2, 3, 4, 5)
    p = {"axes_mask": 0b0110, "kind": fmt.REDUCE_KINDS[kind]}
    close(run("REDUCE", [x], (2, 1, 1, 5), p), fn(x, axis=(1, 2), keepdims=True))
    close(run("REDUCE", [x], (2, 5), p), fn(x, axis=(1, 2)))


# -- data movement ------------------------------------------------------------------------

@pytest.mark.parametrize("mode,name", [(0, "constant"), (1, "reflect"), (2, "edge")])
def test_pad_matches_numpy(mode, name):
    x = randn(1, 4, 5, 2)
    widths = [(0, 0), (2, 1), (3, 0), (0, 1)]
    pads = [v for w in widths for v in w]
    got = run("PAD", [x], (1, 7, 8, 3), {"pads": pads, "mode": mode, "value": 1.5})
    kw = {"constant_values": 1.5} if name == "constant" else {}
    np.testing.assert_array_equal(got, np.pad(x, widths, mode=name, **kw))


def test_pad_is_dtype_agnostic():
    x = np.arange(6, dtype=np.int8).reshape(2, 3)
    got = run("PAD", [x], (2, 5), {"pads": [0, 0, 1, 1], "value": -3.0}, out_dtype=np.int8)
    np.testing.assert_array_equal(got, np.pad(x, [(0, 0), (1, 1)], constant_values=-3))


def test_concat_reshape_transpose():
    a, b = randn(1, 2, 3), randn(1, 4, 3)
    np.testing.assert_array_equal(run("CONCAT", [a, b], (1, 6, 3), {"axis": 1}), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(run("RESHAPE", [a], (3, 2)), a.reshape(3, 2))
    x = randn(2, 3, 4, 5)
    perm = [2, 0, 3, 1]
    np.testing.assert_array_equal(run("TRANSPOSE", [x], (4, 2, 5, 3), {"perm": perm}), np.transpose(x, perm))


def test_softmax_axis_and_beta():
    x = randn(2, 3, 4) * F32(10)
    for axis, beta in [(2, 1.0), (1, 0.5)]:
        e = np.exp(beta * (x - x.max(axis=axis, keepdims=True)).astype(np.float64))
        got = run("SOFTMAX", [x], x.shape, {"axis": axis, "beta": beta})
        close(got, e / e.sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(got.sum(axis=axis), 1, rtol=1e-6)


def depth_to_space_loop(x, b, mode):
    n, h, w, c = x.shape
    cc = c // (b * b)
    out = np.zeros((n, h * b, w * b, cc), x.dtype)
    for i in range(b):
        for j in range(b):
            for k in range(cc):
                src = (i * b + j) * cc + k if mode == 0 else k * b * b + i * b + j
                out[:, i::b, j::b, k] = x[:, :, :, src]
    return out


@pytest.mark.parametrize("mode", [0, 1])
def test_depth_to_space(mode):
    x = randn(2, 3, 2, 12)
    got = run("DEPTH_TO_SPACE", [x], (2, 6, 4, 3), {"block_size": 2, "mode": mode})
    np.testing.assert_array_equal(got, depth_to_space_loop(x, 2, mode))


# -- resize: hand-computed values for a 2x2 -> 4x4 ramp x[y, x] = 2y + x --------------------

RAMP = np.array([[0, 1], [2, 3]], F32).reshape(1, 2, 2, 1)


def resize(coord, mode, nearest="floor", out=(4, 4), x=RAMP):
    p = {"mode": mode, "coord": fmt.RESIZE_COORDS[coord], "nearest": fmt.RESIZE_NEAREST[nearest]}
    return run("RESIZE", [x], (1, *out, 1), p)[0, :, :, 0]


def outer(rows, cols):
    return 2 * np.asarray(rows, F32)[:, None] + np.asarray(cols, F32)[None, :]


@pytest.mark.parametrize("coord,axis", [
    ("asymmetric", [0, 0.5, 1, 1]),           # s = d/2; the last source index clamps
    ("align_corners", [0, 1 / 3, 2 / 3, 1]),  # s = d/3
    ("half_pixel", [0, 0.25, 0.75, 1]),       # s = (d+0.5)/2 - 0.5, clamped at 0 and in-1
    ("pytorch_half_pixel", [0, 0.25, 0.75, 1]),
])
def test_resize_bilinear(coord, axis):
    np.testing.assert_allclose(resize(coord, 1), outer(axis, axis), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("coord,nearest,axis", [
    ("asymmetric", "floor", [0, 0, 1, 1]),
    ("align_corners", "round_prefer_ceil", [0, 0, 1, 1]),    # s = 0, 1/3, 2/3, 1
    ("half_pixel", "round_prefer_ceil", [0, 0, 1, 1]),       # s = -0.25, 0.25, 0.75, 1.25
    ("asymmetric", "ceil", [0, 1, 1, 1]),                     # ceil(1.5) = 2 clamps to 1
    ("half_pixel", "round_prefer_floor", [0, 0, 1, 1]),
])
def test_resize_nearest(coord, nearest, axis):
    np.testing.assert_array_equal(resize(coord, 0, nearest), outer(axis, axis))


def test_resize_ties_and_single_output():
    x = np.arange(4, dtype=F32).reshape(1, 1, 4, 1)
    # 4 -> 2 half_pixel: s = 0.5, 2.5: the tie rule decides
    assert resize("half_pixel", 0, "round_prefer_floor", (1, 2), x).tolist() == [[0, 2]]
    assert resize("half_pixel", 0, "round_prefer_ceil", (1, 2), x).tolist() == [[1, 3]]
    # 4 -> 1: pytorch_half_pixel samples 0, half_pixel samples (0.5)*4-0.5 = 1.5
    assert resize("pytorch_half_pixel", 1, out=(1, 1), x=x).tolist() == [[0]]
    assert resize("half_pixel", 1, out=(1, 1), x=x).tolist() == [[1.5]]


def test_resize_bilinear_downscale_matches_formula():
    x = randn(1, 5, 7, 3)
    got = run("RESIZE", [x], (1, 3, 4, 3), {"mode": 1, "coord": fmt.RESIZE_COORDS["half_pixel"]})
    want = np.zeros((1, 3, 4, 3))
    for oy in range(3):
        for ox in range(4):
            sy, sx = max((oy + 0.5) * 5 / 3 - 0.5, 0), max((ox + 0.5) * 7 / 4 - 0.5, 0)
            y0, x0 = min(int(sy), 4), min(int(sx), 6)
            y1, x1 = min(y0 + 1, 4), min(x0 + 1, 6)
            fy, fx = (0 if y0 == 4 else sy - int(sy)), (0 if x0 == 6 else sx - int(sx))
            top = x[0, y0, x0] + (x[0, y0, x1] - x[0, y0, x0]) * fx
            bottom = x[0, y1, x0] + (x[0, y1, x1] - x[0, y1, x0]) * fx
            want[0, oy, ox] = top + (bottom - top) * fy
    close(got, want)


# -- quantization ops ---------------------------------------------------------------------

def test_quantize_rounds_half_away_from_zero_and_saturates():
    x = np.array([-1.25, -0.75, -0.25, 0.25, 0.75, 100, -100], F32)
    got = run("QUANTIZE", [x], (7,), out_dtype=np.int8, out_scale=0.5, out_zp=1)
    np.testing.assert_array_equal(got, [-2, -1, 0, 2, 3, 127, -128])


def test_dequantize_and_lookup():
    q = np.array([-128, -1, 0, 5, 127], np.int8)
    spec = Tensor("q", q.shape, np.int8, scale=0.25, zero_point=-1)
    (y,) = reference.OPS["DEQUANTIZE"]([q], {}, [Tensor("y", q.shape, F32)], [spec])
    np.testing.assert_array_equal(y, [-31.75, 0, 0.25, 1.5, 32])
    table = np.arange(256, dtype=np.int16).astype(np.int8)[::-1].copy()
    got = run("LOOKUP", [q, table], (5,), out_dtype=np.int8)
    np.testing.assert_array_equal(got, table[q.astype(np.int64) + 128])


# -- executors and their errors -----------------------------------------------------------

def two_op_graph():
    """conv (SAME) -> 2x2 max pool; the same weights on every call."""
    rng = np.random.default_rng(7)
    g = Graph(name="tiny")
    g.add_tensor("x", (1, 4, 4, 3))
    g.add_constant("w", rng.standard_normal((2, 3, 3, 3)).astype(F32))
    g.add_constant("b", rng.standard_normal(2).astype(F32))
    g.add_tensor("c", (1, 4, 4, 2))
    g.add_tensor("y", (1, 2, 2, 2))
    g.add_node("CONV2D", ["x", "w", "b"], ["c"], {"pad_top": 1, "pad_left": 1, "pad_bottom": 1, "pad_right": 1},
               name="conv")
    g.add_node("MAX_POOL2D", ["c"], ["y"], pool_params(2, 2, 0), name="pool")
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_run_graph_and_run_model_agree():
    g = two_op_graph()
    x = randn(1, 4, 4, 3)
    ours = reference.run_graph(g, {"x": x})
    want = conv_loop(x, g.tensors["w"].data, g.tensors["b"].data, 1, 1, 1, 1, (1, 1), 1, 4, 4)
    close(ours["y"], want.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4)))
    everything = reference.run_graph(g, {"x": x}, keep_all=True)
    assert {"x", "w", "b", "c", "y"} <= set(everything)
    data = write_model(two_op_graph())
    from_file = reference.run_model(data, {"x": x})
    np.testing.assert_array_equal(from_file["y"], ours["y"])


def test_run_model_verifies_the_checksum(tmp_path):
    data = bytearray(write_model(two_op_graph()))
    data[-100] ^= 0xFF
    with pytest.raises(fmt.FormatError, match="checksum"):
        reference.run_model(bytes(data), {"x": randn(1, 4, 4, 3)})


def test_feed_errors():
    g = two_op_graph()
    with pytest.raises(KeyError, match=r"missing \['x'\]"):
        reference.run_graph(g, {})
    with pytest.raises(KeyError, match=r"unknown \['nope'\]"):
        reference.run_graph(g, {"x": randn(1, 4, 4, 3), "nope": randn(1)})
    with pytest.raises(ValueError, match=r"input 'x' must be float32\(1, 4, 4, 3\), got float32\(1, 4, 4, 2\)"):
        reference.run_graph(g, {"x": randn(1, 4, 4, 2)})
    with pytest.raises(ValueError, match="got float64"):
        reference.run_model(write_model(two_op_graph()), {"x": np.zeros((1, 4, 4, 3))})


def test_unknown_op_names_the_node():
    g = two_op_graph()
    g.nodes[1].op = "FANCY_POOL"
    with pytest.raises(NotImplementedError, match="node 'pool' .*no op 'FANCY_POOL'"):
        reference.run_graph(g, {"x": randn(1, 4, 4, 3)})


def test_output_record_that_contradicts_the_op_is_refused():
    """A wrong output size must be an error, never a strided read outside the input."""
    g = two_op_graph()
    g.tensors["c"].shape = (1, 6, 6, 2)
    with pytest.raises(ValueError, match=r"node 'conv' \(CONV2D\): output is 6x6 .* give 4x4"):
        reference.run_graph(g, {"x": randn(1, 4, 4, 3)})
    g = two_op_graph()
    g.tensors["y"].shape = (1, 2, 2, 3)
    with pytest.raises(ValueError, match=r"node 'pool' \(MAX_POOL2D\): computed float32\(1, 2, 2, 2\) "
                                         r"for output 'y', whose record says float32\(1, 2, 2, 3\)"):
        reference.run_graph(g, {"x": randn(1, 4, 4, 3)})
    g = two_op_graph()
    g.add_tensor("z", (1, 7))
    g.add_node("RESHAPE", ["y"], ["z"], name="flat")
    g.outputs = ["z"]
    with pytest.raises(ValueError, match=r"node 'flat' \(RESHAPE\): cannot reshape"):
        reference.run_graph(g, {"x": randn(1, 4, 4, 3)})


def test_undefined_integer_variant_names_op_and_dtype():
    x = np.zeros((1, 4), np.int8)
    with pytest.raises(NotImplementedError, match="SOFTMAX: int8"):
        run("SOFTMAX", [x], (1, 4), {"axis": 1}, out_dtype=np.int8)
    g = Graph(name="q")
    g.add_tensor("x", (1, 4), np.uint8, scale=0.1)
    g.add_tensor("y", (1, 4), np.uint8, scale=0.1)
    g.add_node("CLAMP", ["x"], ["y"], {"min": 0.0, "max": 6.0}, name="relu6")
    g.inputs, g.outputs = ["x"], ["y"]
    with pytest.raises(NotImplementedError, match="node 'relu6' \\(CLAMP\\).*uint8"):
        reference.run_graph(g, {"x": np.zeros((1, 4), np.uint8)})


# -- passes that evaluate ops with the reference --------------------------------------------

def test_fold_constants_keeps_nodes_that_write_graph_outputs():
    g = Graph(name="fold")
    g.add_tensor("x", (2, 3))
    g.add_constant("a", np.ones((2, 3), F32))
    g.add_constant("b", np.full((2, 3), 2, F32))
    g.add_tensor("ab", (2, 3))
    g.add_tensor("y", (2, 3))
    g.add_tensor("k", (2, 3))
    g.add_node("ADD", ["a", "b"], ["ab"], name="const_add")
    g.add_node("MUL", ["x", "ab"], ["y"], name="mul")
    g.add_node("UNARY", ["b"], ["k"], {"kind": fmt.UNARY_KINDS["sqrt"]}, name="const_output")
    g.inputs, g.outputs = ["x"], ["y", "k"]
    assert fold_constants(g) == 1
    assert [n.name for n in g.nodes] == ["mul", "const_output"]
    np.testing.assert_array_equal(g.tensors["ab"].data, np.full((2, 3), 3, F32))


def clamp_chain(producer_params=None, clamps=((0.0, 6.0),), extra_user=False, output_is_src=False):
    g = Graph(name="fuse")
    g.add_tensor("x", (1, 4, 4, 2))
    g.add_constant("w", randn(2, 1, 1, 2))
    g.add_tensor("c0", (1, 4, 4, 2))
    g.add_node("CONV2D", ["x", "w", ""], ["c0"], producer_params or {}, name="conv")
    for k, (lo, hi) in enumerate(clamps):
        g.add_tensor(f"c{k + 1}", (1, 4, 4, 2))
        g.add_node("CLAMP", [f"c{k}"], [f"c{k + 1}"], {"min": lo, "max": hi}, name=f"clamp{k}")
    g.inputs, g.outputs = ["x"], [f"c{len(clamps)}"]
    if extra_user:
        g.add_tensor("other", (1, 4, 4, 2))
        g.add_node("UNARY", ["c0"], ["other"], {"kind": fmt.UNARY_KINDS["neg"]}, name="other")
        g.outputs.append("other")
    if output_is_src:
        g.outputs.append("c0")
    return g


def test_fuse_activations_intersects_ranges_and_keeps_results():
    x = randn(1, 4, 4, 2) * F32(5)
    g = clamp_chain({"act_min": -1.0, "act_max": 4.0}, clamps=((0.0, 6.0), (-2.0, 3.0)))
    want = reference.run_graph(g, {"x": x})["c2"]
    run_passes(g)
    assert [n.op for n in g.nodes] == ["CONV2D"]
    assert (g.nodes[0].params["act_min"], g.nodes[0].params["act_max"]) == (0.0, 3.0)
    np.testing.assert_array_equal(reference.run_graph(g, {"x": x})["c2"], want)


@pytest.mark.parametrize("case", [{"extra_user": True}, {"output_is_src": True},
                                  {"producer_params": {"act_min": 0.0, "act_max": 1.0},
                                   "clamps": ((2.0, 3.0),)}])
def test_fuse_activations_leaves_clamps_it_cannot_merge(case):
    g = clamp_chain(**case)
    assert fuse_activations(g) == 0
    assert sum(n.op == "CLAMP" for n in g.nodes) == 1


def test_fuse_activations_through_depth_to_space():
    """conv -> DEPTH_TO_SPACE -> CLAMP (a DB head's ConvTranspose + Relu): the clamp moves
    onto the conv, results unchanged; a second user of the conv output keeps it apart."""
    for extra in (False, True):
        g = Graph(name="d2s")
        g.add_tensor("x", (1, 3, 5, 2))
        g.add_constant("w", randn(8, 1, 1, 2))
        g.add_tensor("c", (1, 3, 5, 8))
        g.add_node("CONV2D", ["x", "w", ""], ["c"], {}, name="conv")
        g.add_tensor("d", (1, 6, 10, 2))
        g.add_node("DEPTH_TO_SPACE", ["c"], ["d"], {"block_size": 2, "mode": 0}, name="d2s")
        g.add_tensor("y", (1, 6, 10, 2))
        g.add_node("CLAMP", ["d"], ["y"], {"min": 0.0, "max": 6.0}, name="relu6")
        g.inputs, g.outputs = ["x"], ["y"]
        if extra:
            g.add_tensor("other", (1, 3, 5, 8))
            g.add_node("UNARY", ["c"], ["other"], {"kind": fmt.UNARY_KINDS["neg"]}, name="other")
            g.outputs.append("other")
        x = randn(1, 3, 5, 2) * F32(5)
        want = reference.run_graph(g, {"x": x})["y"]
        assert fuse_activations(g) == (0 if extra else 1)
        assert sum(n.op == "CLAMP" for n in g.nodes) == (1 if extra else 0)
        np.testing.assert_array_equal(reference.run_graph(g, {"x": x})["y"], want)
