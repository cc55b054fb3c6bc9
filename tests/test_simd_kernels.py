"""The SIMD int8 kernels (packed GEMM conv, depthwise, element-wise) bit-exact with the
C reference kernels and runtime/reference.py, on shapes that reach every block and tail
of the SIMD loops (16-channel blocks, 4-row tiles, odd K, padding, stride, dilation) and
on the real int8 models. EDGEC_KERNELS=reference makes a new interpreter keep the
reference kernels."""
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import edgec
from conftest import need
from test_int8_differential import int8_graph, weights
from test_ops_differential import _geo_params, conv_out, geometry, run_both, single

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
quant = st.tuples(st.floats(0.005, 0.5), st.integers(-128, 127))
FIXTURES = Path(__file__).parent / "fixtures"


def simd_available() -> bool:
    from edgec.runtime._lib import ffi, lib
    return "avx2" in ffi.string(lib().edgec_cpu_features()).decode()


def reference_kernels(data, feeds):
    os.environ["EDGEC_KERNELS"] = "reference"
    try:
        it = edgec.Interpreter(data)
        assert it.packed_bytes == 0  # no kernel asked for packed weights: reference loops
        return it.run(feeds)
    finally:
        del os.environ["EDGEC_KERNELS"]


def check_paths(g, feeds):
    got = run_both(g, feeds)  # default kernels vs reference.py, 1 and 2 threads
    data = edgec.Model(g).to_bytes()
    for name, want in reference_kernels(data, feeds).items():
        np.testing.assert_array_equal(got[name], want)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 11), st.integers(1, 40), st.integers(1, 40), st.integers(1, 3),
       st.integers(1, 2), st.integers(1, 2), st.tuples(*[st.integers(0, 2)] * 4), quant, quant,
       st.sampled_from([(-np.inf, np.inf), (0.0, 6.0)]), st.booleans(), st.integers(0, 10 ** 6))
def test_conv_int8_simd(h, w, ic, oc, k, stride, dilation, pads, xq, yq, act, depthwise, seed):
    rng = np.random.default_rng(seed)
    t, l, b, r = pads
    oh, ow = conv_out(h, k, stride, dilation, t, b), conv_out(w, k, stride, dilation, l, r)
    if oh < 1 or ow < 1:
        return
    p = {"stride_h": stride, "stride_w": stride, "dilation_h": dilation, "dilation_w": dilation, "pad_top": t,
         "pad_left": l, "pad_bottom": b, "pad_right": r, "act_min": act[0], "act_max": act[1]}
    if depthwise:
        wt, scales = weights(rng, (1, k, k, ic), ic)
        op, oc, p = "DEPTHWISE_CONV2D", ic, {**p, "depth_multiplier": 1}
    else:
        wt, scales = weights(rng, (oc, k, k, ic), oc)
        op = "CONV2D"
    bias = rng.integers(-20000, 20000, oc).astype(np.int32)
    g, feeds = int8_graph(op, [(1, h, w, ic)], [xq], (1, oh, ow, oc), yq, p,
                          [("w", wt, scales), ("b", bias, None)], seed)
    check_paths(g, feeds)


@SETTINGS
@given(st.integers(1, 300), st.integers(1, 40), st.sampled_from(["ADD", "SUB", "MUL"]), quant, quant, quant,
       st.booleans(), st.integers(0, 10 ** 6))
def test_binary_int8_simd(n, c, op, aq, bq, yq, broadcast, seed):
    other = (c,) if broadcast else (n, c)
    g, feeds = int8_graph(op, [(n, c), other], [aq, bq], (n, c), yq, {}, seed=seed)
    check_paths(g, feeds)


def lookup_graph(n, dtype, table):
    from edgec.converters.graph import Graph
    g = Graph(name="lookup")
    g.add_tensor("x", (n,), dtype, scale=0.1)
    g.add_tensor("t", (256,), table.dtype, table)
    g.add_tensor("y", (n,), table.dtype, scale=0.1)
    g.inputs, g.outputs = ["x"], ["y"]
    g.add_node("LOOKUP", ["x", "t"], ["y"])
    return g


@SETTINGS
@given(st.integers(1, 9000), st.sampled_from([np.int8, np.uint8]), st.integers(0, 10 ** 6))
def test_lookup_simd(n, dtype, seed):
    """int8/uint8 LOOKUP on 32-byte pshufb slices (lookup_simd.c): every byte of every
    table position, odd lengths (tail buffer), chunk boundaries of the thread split."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 256, 256).astype(np.uint8).view(dtype)
    x = np.concatenate([np.arange(256, dtype=np.uint8).view(dtype), rng.integers(0, 256, n).astype(np.uint8).view(dtype)])
    g = lookup_graph(x.size, dtype, table)
    got = run_both(g, {"x": x})["y"]
    np.testing.assert_array_equal(got, table[x.astype(np.int64) + (128 if dtype == np.int8 else 0)])
    check_paths(g, {"x": x})


@pytest.mark.parametrize("name", ["mobilenet_v2_035_96_int8", "efficientnet_b0_int8"])
def test_real_models_both_paths(name, tmp_path):
    """Real TF-converted int8 models: SIMD path == reference path, every output byte."""
    need(simd_available(), "this CPU has no AVX2: only the reference kernels exist here")
    data = edgec.convert(FIXTURES / f"{name}.tflite").to_bytes()
    it = edgec.Interpreter(data)
    assert it.packed_bytes > 0  # the SIMD kernels are in use
    x = {d.name: np.random.default_rng(1).integers(-128, 128, d.shape).astype(np.int8) for d in it.inputs}
    got, want = it.run(x), reference_kernels(data, x)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


@SETTINGS
@given(geometry, st.integers(1, 40), st.integers(1, 40), st.booleans())
def test_conv_f32_simd(d, ic, oc, depthwise):
    """fp32: FMA kernels agree with reference.py and the reference kernels within fp32
    rounding (relative to the output's magnitude), across channel blocks and tails."""
    p, oh, ow = _geo_params(d, d["k"], d["k"])
    if oh < 1 or ow < 1:
        return
    rng = np.random.default_rng(d["seed"])
    shape = (1, d["k"], d["k"], ic) if depthwise else (oc, d["k"], d["k"], ic)
    w = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[0] if not depthwise else ic).astype(np.float32)
    op, params = ("DEPTHWISE_CONV2D", {**p, "depth_multiplier": 1}) if depthwise else ("CONV2D", p)
    g, feeds = single(op, [(d["n"], d["h"], d["w"], ic), None, None], (d["n"], oh, ow, ic if depthwise else oc),
                      params, consts={1: w, 2: b}, seed=d["seed"])
    got = run_both(g, feeds, rtol=1e-4)["y"]
    want = reference_kernels(edgec.Model(g).to_bytes(), feeds)["y"]
    # 1e-5 relative to the sums' magnitude: a clamp to [-1, 1] can hide sums of 20 and more
    free, _ = single(op, [(d["n"], d["h"], d["w"], ic), None, None], (d["n"], oh, ow, ic if depthwise else oc),
                     {**params, "act_min": -np.inf, "act_max": np.inf}, consts={1: w, 2: b}, seed=d["seed"])
    scale = float(np.abs(reference_kernels(edgec.Model(free).to_bytes(), feeds)["y"]).max())
    assert np.abs(got - want).max() <= 1e-5 * max(scale, 1e-6)


@SETTINGS
@given(geometry, st.integers(1, 40), st.sampled_from([(-np.inf, np.inf), (0.0, 6.0)]))
def test_maxpool_f32_simd(d, c, act):
    """fp32 MAX_POOL2D: the SIMD kernel (16/8-channel blocks, masked tail) equals the
    reference loops bit for bit, NaN and infinities included (a NaN tap wins and stays)."""
    k = d["k"]
    t, l, b, r = (min(x, k - 1) for x in d["pads"])
    p, oh, ow = _geo_params({**d, "pads": (t, l, b, r), "dil": 1}, k, k)
    if oh < 1 or ow < 1:
        return
    p = {key: v for key, v in p.items() if not key.startswith("dilation")}
    p.update({"filter_h": k, "filter_w": k, "count_include_pad": 0, "act_min": act[0], "act_max": act[1]})
    g, feeds = single("MAX_POOL2D", [(d["n"], d["h"], d["w"], c)], (d["n"], oh, ow, c), p, seed=d["seed"])
    x = feeds["x0"]
    special = np.random.default_rng(d["seed"]).random(x.shape)
    x[special < 0.03] = np.nan
    x[(special >= 0.03) & (special < 0.05)] = np.inf
    x[(special >= 0.05) & (special < 0.07)] = -np.inf
    data = edgec.Model(g).to_bytes()
    got = edgec.Interpreter(data).run(feeds)["y"]
    np.testing.assert_array_equal(got, reference_kernels(data, feeds)["y"])


@pytest.mark.parametrize("k,stride", [(3, 1), (3, 2), (5, 1), (5, 2), (7, 1), (7, 2)])
@pytest.mark.parametrize("c", [5, 8, 13, 24])
def test_depthwise_f32_interiors(k, stride, c):
    """fp32 depthwise: the 8-pixel register-blocked interiors (and the edge pixels around
    them) agree with the reference loops within fp32 rounding, on rows wide enough to
    reach several interior runs."""
    rng = np.random.default_rng(k * 100 + stride * 10 + c)
    h, w, pad = 9, 45, k // 2
    oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
    p = {"stride_h": stride, "stride_w": stride, "dilation_h": 1, "dilation_w": 1, "pad_top": pad,
         "pad_left": pad, "pad_bottom": pad, "pad_right": pad, "act_min": -np.inf, "act_max": np.inf,
         "depth_multiplier": 1}
    g, feeds = single("DEPTHWISE_CONV2D", [(1, h, w, c), None, None], (1, oh, ow, c), p,
                      consts={1: rng.standard_normal((1, k, k, c)).astype(np.float32),
                              2: rng.standard_normal(c).astype(np.float32)}, seed=k + c)
    data = edgec.Model(g).to_bytes()
    got = edgec.Interpreter(data).run(feeds)["y"]
    want = reference_kernels(data, feeds)["y"]
    assert np.abs(got - want).max() <= 1e-5 * max(float(np.abs(want).max()), 1e-6)


@pytest.mark.parametrize("c", [4, 8, 12, 16, 20, 24, 30, 33, 48])
@pytest.mark.parametrize("k,stride", [(3, 1), (3, 2), (5, 1)])
def test_depthwise_int8_runs(c, k, stride):
    """int8 depthwise on rows wide enough for runs of interior pixels (edgec_dw_i8_run):
    full 16-channel blocks, partial blocks of whole int32 lanes (masked loads) and others
    (copies), all bit-exact with the reference loops and reference.py."""
    rng = np.random.default_rng(c * 10 + k + stride)
    h, w, pad = 6, 41, k // 2
    oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
    p = {"stride_h": stride, "stride_w": stride, "dilation_h": 1, "dilation_w": 1, "pad_top": pad,
         "pad_left": pad, "pad_bottom": pad, "pad_right": pad, "act_min": -np.inf, "act_max": np.inf,
         "depth_multiplier": 1}
    wt, scales = weights(rng, (1, k, k, c), c)
    bias = rng.integers(-20000, 20000, c).astype(np.int32)
    g, feeds = int8_graph("DEPTHWISE_CONV2D", [(1, h, w, c)], [(0.05, 3)], (1, oh, ow, c), (0.08, -5), p,
                          [("w", wt, scales), ("b", bias, None)], c)
    check_paths(g, feeds)
