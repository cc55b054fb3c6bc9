"""Every C kernel against runtime/reference.py (the definition of each op) on random
shapes, strides, paddings and parameters; fp32 within 1e-5 relative. The same C kernels
are also run split into two row ranges by the thread pool (num_threads=2), which must not
change a single bit."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import edgec
from edgec.converters.graph import Graph
from edgec.runtime import format as fmt
from edgec.runtime import reference

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_both(g: Graph, feeds: dict, rtol=1e-5):
    g.validate()
    data = edgec.Model(g).to_bytes()
    ref = reference.run_model(data, feeds)
    one = edgec.Interpreter(data).run(feeds)
    two = edgec.Interpreter(data, num_threads=2).run(feeds)
    for name, want in ref.items():
        got = one[name]
        assert got.shape == want.shape and got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, two[name])  # threads split rows, same bits
        if got.dtype.kind == "f":
            scale = max(float(np.abs(want).max()), 1e-6)
            err = float(np.abs(got.astype(np.float64) - want).max())
            assert err <= rtol * scale, f"{name}: max|d| {err:.3g} > {rtol} * {scale:.3g}"
        else:
            np.testing.assert_array_equal(got, want)
    return one


def single(op, in_shapes, out_shape, params=None, consts=None, out_dtype=np.float32, seed=0):
    """A graph with one op: inputs x0.. (or constants from `consts`), output y."""
    rng = np.random.default_rng(seed)
    g = Graph(name=f"single-{op}")
    names, feeds = [], {}
    for i, shape in enumerate(in_shapes):
        name = f"x{i}"
        if consts and i in consts:
            if consts[i] is None:
                names.append("")
                continue
            g.add_tensor(name, consts[i].shape, consts[i].dtype, consts[i])
        else:
            g.add_tensor(name, shape)
            g.inputs.append(name)
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
        names.append(name)
    g.add_tensor("y", out_shape, out_dtype)
    g.add_node(op, names, ["y"], params or {}, name=f"{op.lower()}_under_test")
    g.outputs = ["y"]
    return g, feeds


def conv_out(size, k, stride, dil, before, after):
    return (size + before + after - dil * (k - 1) - 1) // stride + 1


geometry = st.fixed_dictionaries({
    "n": st.integers(1, 2), "h": st.integers(1, 12), "w": st.integers(1, 12),
    "k": st.integers(1, 5), "stride": st.integers(1, 3), "dil": st.integers(1, 2),
    "pads": st.tuples(*[st.integers(0, 2)] * 4), "seed": st.integers(0, 10 ** 6),
    "act": st.sampled_from([(-np.inf, np.inf), (0.0, np.inf), (0.0, 6.0), (-1.0, 1.0)]),
})


def _geo_params(d, kh, kw):
    t, l, b, r = d["pads"]
    oh = conv_out(d["h"], kh, d["stride"], d["dil"], t, b)
    ow = conv_out(d["w"], kw, d["stride"], d["dil"], l, r)
    p = {"stride_h": d["stride"], "stride_w": d["stride"], "dilation_h": d["dil"], "dilation_w": d["dil"],
         "pad_top": t, "pad_left": l, "pad_bottom": b, "pad_right": r,
         "act_min": d["act"][0], "act_max": d["act"][1]}
    return p, oh, ow


@SETTINGS
@given(geometry, st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 2]), st.booleans())
def test_conv2d(d, ic, oc, groups, with_bias):
    ic, oc = ic * groups, oc * groups
    p, oh, ow = _geo_params(d, d["k"], d["k"])
    if oh < 1 or ow < 1:
        return
    rng = np.random.default_rng(d["seed"])
    w = rng.standard_normal((oc, d["k"], d["k"], ic // groups)).astype(np.float32)
    b = rng.standard_normal(oc).astype(np.float32) if with_bias else None
    g, feeds = single("CONV2D", [(d["n"], d["h"], d["w"], ic), None, None], (d["n"], oh, ow, oc),
                      {**p, "groups": groups}, consts={1: w, 2: b}, seed=d["seed"])
    run_both(g, feeds)


@SETTINGS
@given(geometry, st.integers(1, 20), st.integers(1, 20), st.sampled_from([1, 2]), st.booleans(), st.data())
def test_conv2d_residual(d, ic, oc, groups, with_bias, data):
    """fp32 CONV2D with a fused residual (input 3, RC <= OC channels, the rest add 0),
    added before the act clamp, on every conv path (1x1 GEMM, im2col GEMM, grouped loops)."""
    ic, oc = ic * groups, oc * groups
    p, oh, ow = _geo_params(d, d["k"], d["k"])
    if oh < 1 or ow < 1:
        return
    rc = data.draw(st.integers(1, oc))
    rng = np.random.default_rng(d["seed"])
    w = rng.standard_normal((oc, d["k"], d["k"], ic // groups)).astype(np.float32)
    b = rng.standard_normal(oc).astype(np.float32) if with_bias else None
    g, feeds = single("CONV2D", [(d["n"], d["h"], d["w"], ic), None, None, (d["n"], oh, ow, rc)],
                      (d["n"], oh, ow, oc), {**p, "groups": groups}, consts={1: w, 2: b}, seed=d["seed"])
    # sums of up to ~700 products, then clamped: tolerance relative to the unclamped sum
    out = run_both(g, feeds, rtol=1e-4)["y"]
    plain, _ = single("CONV2D", [(d["n"], d["h"], d["w"], ic), None, None], (d["n"], oh, ow, oc),
                      {**p, "groups": groups, "act_min": -np.inf, "act_max": np.inf}, consts={1: w, 2: b})
    conv = reference.run_model(edgec.Model(plain).to_bytes(), {"x0": feeds["x0"]})["y"]
    conv[..., :rc] += feeds["x3"]
    want = np.clip(conv, p["act_min"], p["act_max"])
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-4 * max(1.0, float(np.abs(conv).max())))


@SETTINGS
@given(geometry, st.integers(1, 16), st.integers(1, 3))
def test_depthwise_conv2d(d, c, mult):
    p, oh, ow = _geo_params(d, d["k"], d["k"])
    if oh < 1 or ow < 1:
        return
    rng = np.random.default_rng(d["seed"])
    w = rng.standard_normal((1, d["k"], d["k"], c * mult)).astype(np.float32)
    b = rng.standard_normal(c * mult).astype(np.float32)
    g, feeds = single("DEPTHWISE_CONV2D", [(d["n"], d["h"], d["w"], c), None, None], (d["n"], oh, ow, c * mult),
                      {**p, "depth_multiplier": mult}, consts={1: w, 2: b}, seed=d["seed"])
    run_both(g, feeds)


@SETTINGS
@given(geometry, st.integers(1, 40), st.sampled_from(["MAX_POOL2D", "AVG_POOL2D"]), st.booleans())
def test_pool(d, c, op, include_pad):
    k = d["k"]
    t, l, b, r = (min(x, k - 1) for x in d["pads"])
    d = {**d, "pads": (t, l, b, r), "dil": 1}
    p, oh, ow = _geo_params(d, k, k)
    if oh < 1 or ow < 1:
        return
    p = {key: v for key, v in p.items() if not key.startswith("dilation")}
    p.update({"filter_h": k, "filter_w": k, "count_include_pad": int(include_pad)})
    g, feeds = single(op, [(d["n"], d["h"], d["w"], c)], (d["n"], oh, ow, c), p, seed=d["seed"])
    run_both(g, feeds)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 40), st.booleans(), st.integers(0, 10 ** 6))
def test_fully_connected(m, k, n, with_bias, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32) if with_bias else None
    g, feeds = single("FULLY_CONNECTED", [(m, k), None, None], (m, n), {"act_min": 0.0},
                      consts={1: w, 2: b}, seed=seed)
    run_both(g, feeds)


@SETTINGS
@given(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.integers(1, 6), st.integers(1, 6),
       st.integers(1, 6), st.booleans(), st.booleans(), st.integers(0, 10 ** 6))
def test_batch_matmul(batch, m, k, n, ta, tb, seed):
    a = tuple(batch) + ((k, m) if ta else (m, k))
    bshape = ((1,) * len(batch)) + ((n, k) if tb else (k, n))
    g, feeds = single("BATCH_MATMUL", [a, bshape], tuple(batch) + (m, n),
                      {"transpose_a": int(ta), "transpose_b": int(tb)}, seed=seed)
    run_both(g, feeds)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=5)


def _broadcast_variant(shape, rng):
    """A shape that broadcasts to `shape`: some dims set to 1, maybe fewer leading dims."""
    s = [d if rng.random() < 0.6 else 1 for d in shape]
    return tuple(s[int(rng.integers(0, len(s) + 1)):]) or (1,)


@SETTINGS
@given(shapes, st.sampled_from(["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "PRELU"]),
       st.integers(0, 10 ** 6), st.booleans())
def test_binary_broadcast(shape, op, seed, swap):
    rng = np.random.default_rng(seed)
    other = _broadcast_variant(shape, rng)
    ins = [tuple(shape), other] if not swap or op == "PRELU" else [other, tuple(shape)]
    g, feeds = single(op, ins, tuple(shape), {"act_min": -2.0, "act_max": 3.0} if seed % 2 else {}, seed=seed)
    run_both(g, feeds)


@pytest.mark.parametrize("kind", sorted(fmt.UNARY_KINDS))
def test_unary(kind):
    g, feeds = single("UNARY", [(2, 7, 5, 3)], (2, 7, 5, 3),
                      {"kind": fmt.UNARY_KINDS[kind], "alpha": 0.2, "beta": 0.5})
    if kind in ("log", "sqrt", "rsqrt"):
        feeds["x0"] = np.abs(feeds["x0"]) + 0.1
    run_both(g, feeds)


@pytest.mark.parametrize("op,params", [("CLAMP", {"min": -0.5, "max": 0.7}), ("LEAKY_RELU", {"alpha": 0.1}),
                                       ("GELU", {"approximate": 0}), ("GELU", {"approximate": 1}),
                                       ("SOFTMAX", {"axis": 3, "beta": 1.0}), ("SOFTMAX", {"axis": 1, "beta": 0.5})])
def test_elementwise_and_softmax(op, params):
    g, feeds = single(op, [(2, 9, 4, 6)], (2, 9, 4, 6), params)
    run_both(g, feeds)


@SETTINGS
@given(shapes, st.integers(1, 2 ** 6 - 1), st.sampled_from(sorted(fmt.REDUCE_KINDS)), st.booleans(),
       st.integers(0, 10 ** 6))
def test_reduce(shape, mask, kind, keep, seed):
    mask &= (1 << len(shape)) - 1
    if not mask:
        return
    out = tuple(1 if mask >> i & 1 else d for i, d in enumerate(shape))
    if not keep:
        out = tuple(d for i, d in enumerate(shape) if not mask >> i & 1) or (1,)
    g, feeds = single("REDUCE", [tuple(shape)], out, {"axes_mask": mask, "kind": fmt.REDUCE_KINDS[kind]}, seed=seed)
    run_both(g, feeds)


@SETTINGS
@given(shapes, st.sampled_from([0, 1, 2]), st.integers(0, 10 ** 6))
def test_pad(shape, mode, seed):
    rng = np.random.default_rng(seed)
    limit = [d - 1 if mode == 1 else 3 for d in shape]
    pads = [int(rng.integers(0, lim + 1)) for lim in limit for _ in range(2)]
    out = tuple(d + pads[2 * i] + pads[2 * i + 1] for i, d in enumerate(shape))
    g, feeds = single("PAD", [tuple(shape)], out, {"pads": pads, "mode": mode, "value": 0.5}, seed=seed)
    run_both(g, feeds)


@SETTINGS
@given(shapes, st.integers(0, 10 ** 6), st.integers(1, 4))
def test_concat_transpose_reshape(shape, seed, parts):
    rng = np.random.default_rng(seed)
    axis = int(rng.integers(0, len(shape)))
    ins = [tuple(int(rng.integers(1, 4)) if i == axis else d for i, d in enumerate(shape)) for _ in range(parts)]
    out = list(shape)
    out[axis] = sum(s[axis] for s in ins)
    g, feeds = single("CONCAT", ins, tuple(out), {"axis": axis}, seed=seed)
    run_both(g, feeds)
    perm = [int(p) for p in rng.permutation(len(shape))]
    g, feeds = single("TRANSPOSE", [tuple(shape)], tuple(shape[p] for p in perm), {"perm": perm}, seed=seed)
    run_both(g, feeds)
    g, feeds = single("RESHAPE", [tuple(shape)], (int(np.prod(shape)),), seed=seed)
    run_both(g, feeds)


@SETTINGS
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 20), st.integers(1, 20), st.integers(0, 1),
       st.sampled_from(sorted(fmt.RESIZE_COORDS)), st.sampled_from(sorted(fmt.RESIZE_NEAREST)),
       st.integers(0, 10 ** 6))
def test_resize(h, w, oh, ow, mode, coord, nearest, seed):
    p = {"mode": mode, "coord": fmt.RESIZE_COORDS[coord], "nearest": fmt.RESIZE_NEAREST[nearest]}
    g, feeds = single("RESIZE", [(1, h, w, 3)], (1, oh, ow, 3), p, seed=seed)
    run_both(g, feeds)


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize("block", [1, 2, 3])
def test_depth_to_space(mode, block):
    g, feeds = single("DEPTH_TO_SPACE", [(2, 3, 4, 2 * block * block)], (2, 3 * block, 4 * block, 2),
                      {"block_size": block, "mode": mode})
    run_both(g, feeds)


def test_quantize_dequantize_lookup_roundtrip():
    g = Graph(name="q")
    g.add_tensor("x", (4, 50))
    g.add_tensor("q", (4, 50), np.int8, scale=0.05, zero_point=-3)
    g.add_tensor("t", (4, 50), np.int8, scale=0.05, zero_point=-3)
    table = np.clip(np.arange(-128, 128) * -1, -128, 127).astype(np.int8)
    g.add_tensor("table", (256,), np.int8, table)
    g.add_tensor("y", (4, 50))
    g.add_node("QUANTIZE", ["x"], ["q"])
    g.add_node("LOOKUP", ["q", "table"], ["t"])
    g.add_node("DEQUANTIZE", ["t"], ["y"])
    g.inputs, g.outputs = ["x"], ["y"]
    x = np.linspace(-8, 8, 200, dtype=np.float32).reshape(4, 50)
    x[0, :4] = [0.025, -0.025, 0.075, -0.075]  # exact halves: round away from zero
    run_both(g, {"x": x}, rtol=0)
