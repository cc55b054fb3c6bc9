"""The numpy executor of the edgec IR: the living definition of every op (runtime/OPS.md).

Each op is a small function fn(inputs, params, outputs, specs) -> [arrays]; `inputs` are
numpy arrays (None for an absent optional input), `params` the op's params struct as a
dict, `outputs` and `specs` the output and input tensors' records (shape, dtype, scale,
zero_point). Float ops compute
in float32. The C kernels must match these (fp32 to 1e-5 relative, integer ops exactly).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import format as fmt

OPS = {}
F32 = np.float32


def op(*names):
    def deco(fn):
        for n in names:
            OPS[n] = fn
        return fn
    return deco


def _clamp(v, lo, hi):
    return np.minimum(np.maximum(v, F32(lo)), F32(hi)).astype(F32)


def _float_only(name, arrays):
    for a in arrays:
        if a is not None and a.dtype != np.float32:
            raise NotImplementedError(f"reference {name}: {a.dtype} inputs are not defined yet")


# -- convolution ---------------------------------------------------------------------------

def _pad_nhwc(x, p, value=0.0):
    return np.pad(x, ((0, 0), (p["pad_top"], p["pad_bottom"]), (p["pad_left"], p["pad_right"]), (0, 0)),
                  constant_values=value)


def _windows(x, kh, kw, p, oh, ow):
    """[N, OH, OW, KH, KW, C] view of the padded input's receptive fields (x already padded)."""
    sh, sw, dh, dw = p["stride_h"], p["stride_w"], p["dilation_h"], p["dilation_w"]
    n, h, w, c = x.shape
    # as_strided does not check bounds: a window reaching past the padded input would read
    # foreign memory, so the output size must be exactly OPS.md's formula
    want = ((h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1)
    if min(sh, sw, dh, dw, kh, kw) < 1 or (oh, ow) != want or min(want) < 1:
        raise ValueError(f"output is {oh}x{ow} but kernel {kh}x{kw}, strides {sh},{sw}, dilations {dh},{dw} "
                         f"over the padded {h}x{w} input give {want[0]}x{want[1]}")
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]), writeable=False)


@op("CONV2D")
def conv2d(inputs, p, outputs, specs=None):
    x, w, b, res = (inputs + [None, None])[:4]
    _float_only("CONV2D", [x, w, b, res])
    oc, kh, kw, icg = w.shape
    _, oh, ow, _ = outputs[0].shape
    g = p["groups"]
    if g < 1 or icg * g != x.shape[3] or oc % g or outputs[0].shape[3] != oc:
        raise ValueError(f"x {x.shape}, weights {w.shape}, groups {g} and output {tuple(outputs[0].shape)} "
                         "do not fit [OC,KH,KW,IC/groups] -> [N,OH,OW,OC]")
    win = _windows(_pad_nhwc(x, p), kh, kw, p, oh, ow)
    ocg = oc // g
    out = np.empty((x.shape[0], oh, ow, oc), F32)
    for gi in range(g):
        part = win[..., gi * icg:(gi + 1) * icg].reshape(x.shape[0] * oh * ow, kh * kw * icg)
        wg = w[gi * ocg:(gi + 1) * ocg].reshape(ocg, kh * kw * icg)
        out[..., gi * ocg:(gi + 1) * ocg] = (part @ wg.T).reshape(x.shape[0], oh, ow, ocg)
    if b is not None:
        out += b
    if res is not None:  # fused residual: its channels, zero-extended to OC, then the clamp
        if res.shape[:3] != out.shape[:3] or res.shape[3] > oc:
            raise ValueError(f"residual {res.shape} does not fit output {out.shape}")
        out[..., :res.shape[3]] += res
    return [_clamp(out, p["act_min"], p["act_max"])]


@op("DEPTHWISE_CONV2D")
def depthwise_conv2d(inputs, p, outputs, specs=None):
    x, w, b = (inputs + [None])[:3]
    _float_only("DEPTHWISE_CONV2D", [x, w, b])
    _, kh, kw, oc = w.shape
    _, oh, ow, _ = outputs[0].shape
    m = p["depth_multiplier"]
    if m < 1 or w.shape[0] != 1 or oc != x.shape[3] * m or outputs[0].shape[3] != oc:
        raise ValueError(f"x {x.shape}, weights {w.shape}, depth_multiplier {m} and output "
                         f"{tuple(outputs[0].shape)} do not fit [1,KH,KW,C*M] -> [N,OH,OW,C*M]")
    xs = np.repeat(x, m, axis=3) if m > 1 else x  # output channel oc reads input channel oc // m
    win = _windows(_pad_nhwc(xs, p), kh, kw, p, oh, ow)
    out = np.einsum("nhwijc,ijc->nhwc", win, w[0], dtype=F32).astype(F32)
    if b is not None:
        out += b
    return [_clamp(out, p["act_min"], p["act_max"])]


@op("FULLY_CONNECTED")
def fully_connected(inputs, p, outputs, specs=None):
    x, w, b = (inputs + [None])[:3]
    _float_only("FULLY_CONNECTED", [x, w, b])
    out = x.reshape(-1, w.shape[1]) @ w.T
    if b is not None:
        out = out + b
    return [_clamp(out, p["act_min"], p["act_max"]).reshape(outputs[0].shape)]


@op("LUT_FULLY_CONNECTED")
def lut_fully_connected(inputs, p, outputs, specs=None):
    """Low-bit weights (T-MAC): semantics and the blob format in runtime/lowbit.py."""
    from .lowbit import lut_fully_connected_ref, unpack_ref
    x, w, b = (inputs + [None])[:3]
    u = unpack_ref(w)  # ValueError on a malformed blob
    bits, group, (n, k) = u["bits"], u["group"], u["q"].shape
    if (bits, group, n, k) != (p["bits"], p["group_size"], p["n"], p["k"]):
        raise ValueError(f"params (bits, group, N, K) {(p['bits'], p['group_size'], p['n'], p['k'])} "
                         f"disagree with the weights' header {(bits, group, n, k)}")
    y = lut_fully_connected_ref(x.reshape(-1, k), w, b, p["act_min"], p["act_max"], p.get("table_mode", 0))
    return [y.reshape(outputs[0].shape)]

@op("BATCH_MATMUL")
def batch_matmul(inputs, p, outputs, specs=None):
    a, b = inputs
    _float_only("BATCH_MATMUL", [a, b])
    if p["transpose_a"]:
        a = np.swapaxes(a, -1, -2)
    if p["transpose_b"]:
        b = np.swapaxes(b, -1, -2)
    return [np.matmul(a, b).astype(F32).reshape(outputs[0].shape)]


# -- element-wise ----------------------------------------------------------------------------

_BINARY = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide,
           "MAXIMUM": np.maximum, "MINIMUM": np.minimum, "POW": np.power,
           "PRELU": lambda x, a: np.where(x >= 0, x, x * a)}


def _binary(name):
    def fn(inputs, p, outputs, specs=None):
        a, b = inputs
        _float_only(name, [a, b])
        with np.errstate(all="ignore"):
            out = _BINARY[name](a, b).astype(F32)
        return [_clamp(out, p["act_min"], p["act_max"]).reshape(outputs[0].shape)]
    return fn


for _name in _BINARY:
    OPS[_name] = _binary(_name)


@op("CLAMP")
def clamp(inputs, p, outputs, specs=None):
    _float_only("CLAMP", inputs)
    return [_clamp(inputs[0], p["min"], p["max"]).reshape(outputs[0].shape)]


@op("LEAKY_RELU")
def leaky_relu(inputs, p, outputs, specs=None):
    x = inputs[0]
    _float_only("LEAKY_RELU", inputs)
    return [np.where(x >= 0, x, x * F32(p["alpha"])).astype(F32)]


def _erf(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.float64])(x)


@op("GELU")
def gelu(inputs, p, outputs, specs=None):
    _float_only("GELU", inputs)
    x = inputs[0].astype(np.float64)  # erf is evaluated in double, then rounded once
    if p["approximate"]:
        y = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    else:
        y = 0.5 * x * (1 + _erf(x / np.sqrt(2)))
    return [y.astype(F32)]


_UNARY = {
    "sigmoid": lambda x: F32(1) / (F32(1) + np.exp(-x)),
    "tanh": np.tanh,
    "hard_swish": lambda x: x * np.clip(x + F32(3), 0, 6) / F32(6),
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: F32(1) / np.sqrt(x),
    "abs": np.abs, "neg": np.negative, "floor": np.floor, "ceil": np.ceil,
}
_UNARY_BY_CODE = {code: name for name, code in fmt.UNARY_KINDS.items()}


@op("UNARY")
def unary(inputs, p, outputs, specs=None):
    x = inputs[0]
    _float_only("UNARY", inputs)
    kind = _UNARY_BY_CODE[p["kind"]]
    with np.errstate(all="ignore"):
        if kind == "hard_sigmoid":
            y = np.clip(F32(p["alpha"]) * x + F32(p["beta"]), 0, 1)
        else:
            y = _UNARY[kind](x)
    return [np.asarray(y, F32)]


# -- pooling, reductions ---------------------------------------------------------------------

def _pool(avg):
    def fn(inputs, p, outputs, specs=None):
        x = inputs[0]
        _float_only("AVG_POOL2D" if avg else "MAX_POOL2D", inputs)
        kh, kw = p["filter_h"], p["filter_w"]
        _, oh, ow, _ = outputs[0].shape
        geo = {**p, "dilation_h": 1, "dilation_w": 1}
        if avg:
            win = _windows(_pad_nhwc(x, p, 0.0), kh, kw, geo, oh, ow)
            ones = _pad_nhwc(np.ones(x.shape[:3] + (1,), F32), p, 0.0)
            counts = _windows(ones, kh, kw, geo, oh, ow).sum(axis=(3, 4), dtype=F32)
            if p["count_include_pad"]:
                counts = np.full_like(counts, kh * kw)
            out = win.sum(axis=(3, 4), dtype=F32) / counts
        else:
            win = _windows(_pad_nhwc(x, p, -np.inf), kh, kw, geo, oh, ow)
            out = win.max(axis=(3, 4))
        return [_clamp(out, p["act_min"], p["act_max"])]
    return fn


OPS["MAX_POOL2D"] = _pool(False)
OPS["AVG_POOL2D"] = _pool(True)

_REDUCE_BY_CODE = {code: name for name, code in fmt.REDUCE_KINDS.items()}


@op("REDUCE")
def reduce(inputs, p, outputs, specs=None):
    x = inputs[0]
    _float_only("REDUCE", inputs)
    axes = tuple(i for i in range(x.ndim) if p["axes_mask"] >> i & 1)
    fn = {"mean": np.mean, "sum": np.sum, "max": np.max, "min": np.min}[_REDUCE_BY_CODE[p["kind"]]]
    return [np.asarray(fn(x, axis=axes, dtype=F32) if fn in (np.mean, np.sum) else fn(x, axis=axes),
                       F32).reshape(outputs[0].shape)]


# -- data movement ---------------------------------------------------------------------------

@op("PAD")
def pad(inputs, p, outputs, specs=None):
    x = inputs[0]
    widths = [(p["pads"][2 * i], p["pads"][2 * i + 1]) for i in range(x.ndim)]
    mode = {0: "constant", 1: "reflect", 2: "edge"}[p["mode"]]
    kw = {"constant_values": np.asarray(p["value"]).astype(x.dtype)} if mode == "constant" else {}
    return [np.pad(x, widths, mode=mode, **kw)]


@op("CONCAT")
def concat(inputs, p, outputs, specs=None):
    return [np.concatenate(inputs, axis=p["axis"])]


@op("RESHAPE")
def reshape(inputs, p, outputs, specs=None):
    return [inputs[0].reshape(outputs[0].shape)]


@op("TRANSPOSE")
def transpose(inputs, p, outputs, specs=None):
    x = inputs[0]
    return [np.ascontiguousarray(np.transpose(x, p["perm"][:x.ndim]))]


@op("SOFTMAX")
def softmax(inputs, p, outputs, specs=None):
    x = inputs[0]
    _float_only("SOFTMAX", inputs)
    e = np.exp(F32(p["beta"]) * (x - x.max(axis=p["axis"], keepdims=True)))
    return [(e / e.sum(axis=p["axis"], keepdims=True, dtype=F32)).astype(F32)]


def _resize_axis(n_in, n_out, coord):
    d = np.arange(n_out, dtype=F32)
    if coord == fmt.RESIZE_COORDS["align_corners"]:
        scale = F32((n_in - 1) / (n_out - 1)) if n_out > 1 else F32(0)
    else:
        scale = F32(n_in) / F32(n_out)
    if coord == fmt.RESIZE_COORDS["half_pixel"]:
        return (d + F32(0.5)) * scale - F32(0.5)
    if coord == fmt.RESIZE_COORDS["pytorch_half_pixel"]:
        return (d + F32(0.5)) * scale - F32(0.5) if n_out > 1 else np.zeros(n_out, F32)
    return d * scale


def _nearest_index(s, mode, n):
    names = {v: k for k, v in fmt.RESIZE_NEAREST.items()}
    r = {"round_prefer_floor": lambda v: np.ceil(v - F32(0.5)), "round_prefer_ceil": lambda v: np.floor(v + F32(0.5)),
         "floor": np.floor, "ceil": np.ceil}[names[mode]](s)
    return np.clip(r.astype(np.int64), 0, n - 1)


def _linear_axis(s, n):
    s = np.maximum(s, F32(0))
    i0 = np.minimum(np.floor(s).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    f = np.where(i0 == n - 1, F32(0), s - np.floor(s)).astype(F32)
    return i0, i1, f


@op("RESIZE")
def resize(inputs, p, outputs, specs=None):
    x = inputs[0]
    _float_only("RESIZE", inputs)
    _, h, w, _ = x.shape
    _, oh, ow, _ = outputs[0].shape
    sy, sx = _resize_axis(h, oh, p["coord"]), _resize_axis(w, ow, p["coord"])
    if p["mode"] == 0:
        return [x[:, _nearest_index(sy, p["nearest"], h)][:, :, _nearest_index(sx, p["nearest"], w)]]
    y0, y1, fy = _linear_axis(sy, h)
    x0, x1, fx = _linear_axis(sx, w)
    fx = fx[None, None, :, None]
    fy = fy[None, :, None, None]
    top = x[:, y0][:, :, x0] + (x[:, y0][:, :, x1] - x[:, y0][:, :, x0]) * fx
    bottom = x[:, y1][:, :, x0] + (x[:, y1][:, :, x1] - x[:, y1][:, :, x0]) * fx
    return [(top + (bottom - top) * fy).astype(F32)]


@op("SLICE")
def slice_op(inputs, p, outputs, specs=None):
    x = inputs[0]
    shape = outputs[0].shape
    index = [p["begin"][d] + p["step"][d] * np.arange(shape[d]) for d in range(x.ndim)]
    return [np.ascontiguousarray(x[np.ix_(*index)]) if x.ndim else x.copy()]


@op("DEPTH_TO_SPACE")
def depth_to_space(inputs, p, outputs, specs=None):
    x = inputs[0]
    n, h, w, c = x.shape
    b = p["block_size"]
    if p["mode"] == 0:   # DCR
        y = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
    else:                # CRD
        y = x.reshape(n, h, w, c // (b * b), b, b).transpose(0, 1, 4, 2, 5, 3)
    return [np.ascontiguousarray(y.reshape(n, h * b, w * b, c // (b * b)))]


# -- quantization -----------------------------------------------------------------------------

@op("QUANTIZE")
def quantize(inputs, p, outputs, specs=None):
    x, out = inputs[0], outputs[0]
    info = np.iinfo(out.dtype)
    q = x.astype(F32) / F32(out.scale)
    if p.get("round_half_even"):
        q = np.rint(q)  # ties to even (ONNX QuantizeLinear)
    else:
        q = np.where(q >= 0, np.floor(q + F32(0.5)), -np.floor(-q + F32(0.5)))  # half away from zero
    return [np.clip(q.astype(np.int64) + out.zero_point, info.min, info.max).astype(out.dtype)]


@op("DEQUANTIZE")
def dequantize(inputs, p, outputs, specs=None):
    x, spec = inputs[0], specs[0]
    return [(np.float64(F32(spec.scale)) * (x.astype(np.float64) - spec.zero_point)).astype(F32)]


@op("LOOKUP")
def lookup(inputs, p, outputs, specs=None):
    x, table = inputs
    idx = x.astype(np.int64) + (128 if x.dtype == np.int8 else 0)
    return [table.reshape(256)[idx].astype(outputs[0].dtype)]


# -- executors -------------------------------------------------------------------------------

def _check_feed_names(feeds, inputs, what):
    unknown = sorted(set(feeds) - set(inputs))
    missing = [n for n in inputs if n not in feeds]
    if unknown or missing:
        raise KeyError(f"{what}: inputs are {list(inputs)}; unknown {unknown}, missing {missing}")


def _bind_feeds(tensors, feeds, inputs, what, label=str) -> dict:
    _check_feed_names(feeds, inputs, what)
    bound = {}
    for n in inputs:
        a = np.asarray(feeds[n])
        t = tensors[n]
        if a.shape != tuple(t.shape) or a.dtype != t.dtype:
            raise ValueError(f"{what}: input {label(n)!r} must be {t.dtype}{tuple(t.shape)}, got {a.dtype}{a.shape}")
        bound[n] = a
    return bound


def _run_node(node, values, tensors, what):
    """node: (name, op, input names, output names, params). Returns the output arrays,
    checked against the output records."""
    name, op_name, ins, outs, params = node
    where = f"{what}, node {name!r} ({op_name})"
    fn = OPS.get(op_name)
    if fn is None:
        raise NotImplementedError(f"{where}: the reference executor has no op {op_name!r}")
    absent = [i for i in ins if i and i not in values]
    if absent:
        raise ValueError(f"{where}: input(s) {absent} are used before they are computed")
    args = [values[i] if i else None for i in ins]
    out_specs = [tensors[o] for o in outs]
    try:
        res = fn(args, params, out_specs, [tensors[i] if i else None for i in ins])
    except NotImplementedError as e:
        raise NotImplementedError(f"{where}: {e}") from None
    except (ValueError, IndexError, TypeError, KeyError) as e:  # shape mismatches surface here
        raise ValueError(f"{where}: {e}") from e
    for o, t, r in zip(outs, out_specs, res):
        if r.shape != tuple(t.shape) or r.dtype != t.dtype:
            raise ValueError(f"{where}: computed {r.dtype}{r.shape} for output {o!r}, "
                             f"whose record says {t.dtype}{tuple(t.shape)}")
    return res


def _run(nodes, tensors, feeds, inputs, outputs, keep_all, what, label=str):
    """nodes: (name, op, input names, output names, params) in execution order; tensors:
    name -> record with .shape/.dtype/.scale/.zero_point/.data; label(name) is how
    messages show a tensor name."""
    values = {n: t.data for n, t in tensors.items() if t.data is not None}
    values.update(_bind_feeds(tensors, feeds, inputs, what, label))
    for node in nodes:
        values.update(zip(node[3], _run_node(node, values, tensors, what)))
    never = [o for o in outputs if o not in values]
    if never:
        raise ValueError(f"{what}: graph output(s) {never} are never computed")
    return values if keep_all else {o: values[o] for o in outputs}


def run_graph(graph, feeds: dict, keep_all: bool = False) -> dict:
    """Execute a converter Graph: graph outputs by name (every tensor when keep_all)."""
    nodes = [(n.name or n.outputs[0], n.op, n.inputs, n.outputs, n.params) for n in graph.nodes]
    return _run(nodes, graph.tensors, feeds, graph.inputs, graph.outputs, keep_all, f"model {graph.name!r}")


def run_model(model, feeds: dict, keep_all: bool = False) -> dict:
    """Execute a .edgec file (path or bytes; checksum verified) with the reference ops."""
    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    m = fmt.read_model(data, verify_checksum=True)
    # names in a file are not guaranteed unique: key tensors by index
    names = {t.index: f"{t.index}:{t.name}" for t in m.tensors}
    tensors = {names[t.index]: t for t in m.tensors}

    def name(i):
        return names[i] if i >= 0 else ""
    nodes = [(o.name, o.op, [name(i) for i in o.inputs], [name(i) for i in o.outputs], o.params) for o in m.ops]
    what = f"edgec model {str(model)!r}" if isinstance(model, (str, Path)) else "edgec model"
    _check_feed_names(feeds, [m.tensors[i].name for i in m.inputs], what)
    feeds = {names[i]: feeds[m.tensors[i].name] for i in m.inputs}
    out = _run(nodes, tensors, feeds, [names[i] for i in m.inputs], [names[i] for i in m.outputs],
               keep_all, what, label=_file_name)
    return {_file_name(k): v for k, v in out.items()}


def _file_name(key: str) -> str:
    return key.split(":", 1)[1]


# -- int8 (TFLite's reference integer kernels; runtime/fixedpoint.py has the primitives) ----

from . import fixedpoint as fxp  # noqa: E402

INT8_OPS = {}


def int8_op(*names):
    def deco(fn):
        for n in names:
            INT8_OPS[n] = fn
        return fn
    return deco


def _requant_clamp(acc, mult, shift, zp, lo, hi):
    out = fxp.multiply_by_quantized_multiplier(acc, mult, shift) + zp
    return np.clip(out, lo, hi).astype(np.int8)


def _conv_int8(x, w, b, mult, shift, specs, outputs, p, kh, kw, depthwise):
    x_off = np.int64(-specs[0].zero_point)
    _, oh, ow, oc = outputs[0].shape
    # padded taps contribute 0, i.e. they read the input zero point
    xp = _pad_nhwc(x.astype(np.int64) + x_off, p, 0)
    win = _windows(xp, kh, kw, p, oh, ow)
    if depthwise:
        m = p["depth_multiplier"]
        if m > 1:
            win = np.repeat(win, m, axis=5)
        acc = np.einsum("nhwijc,ijc->nhwc", win, w[0].astype(np.int64))
    else:
        g = p["groups"]
        icg, ocg = w.shape[3], oc // g
        acc = np.empty((x.shape[0], oh, ow, oc), np.int64)
        for gi in range(g):
            part = win[..., gi * icg:(gi + 1) * icg].reshape(-1, kh * kw * icg)
            wg = w[gi * ocg:(gi + 1) * ocg].reshape(ocg, -1).astype(np.int64)
            acc[..., gi * ocg:(gi + 1) * ocg] = (part @ wg.T).reshape(x.shape[0], oh, ow, ocg)
    if b is not None:
        acc = acc + b.astype(np.int64)
    return [_requant_clamp(acc, mult, shift, outputs[0].zero_point, p["q_min"], p["q_max"])]


@int8_op("CONV2D")
def conv2d_int8(inputs, p, outputs, specs):
    x, w, b, mult, shift = inputs
    return _conv_int8(x, w, b, mult, shift, specs, outputs, p, w.shape[1], w.shape[2], False)


@int8_op("DEPTHWISE_CONV2D")
def depthwise_conv2d_int8(inputs, p, outputs, specs):
    x, w, b, mult, shift = inputs
    return _conv_int8(x, w, b, mult, shift, specs, outputs, p, w.shape[1], w.shape[2], True)


@int8_op("FULLY_CONNECTED")
def fully_connected_int8(inputs, p, outputs, specs):
    x, w, b, mult, shift = inputs
    acc = (x.reshape(-1, w.shape[1]).astype(np.int64) - specs[0].zero_point) @ w.T.astype(np.int64)
    if b is not None:
        acc = acc + b.astype(np.int64)
    if p["requant"] == 1:  # TFLite's per-channel double path; `mult` holds the weight scales
        x_scale, y_scale = np.float64(np.float32(specs[0].scale)), np.float64(np.float32(outputs[0].scale))
        scale = x_scale * mult.astype(np.float64) / y_scale
        v = acc.astype(np.float64) * scale
        v = np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5)).astype(np.int64) + outputs[0].zero_point
        return [np.clip(v, p["q_min"], p["q_max"]).astype(np.int8).reshape(outputs[0].shape)]
    y = _requant_clamp(acc, mult, shift, outputs[0].zero_point, p["q_min"], p["q_max"])
    return [y.reshape(outputs[0].shape)]


def _binary_int8(name):
    def fn(inputs, p, outputs, specs):
        a = inputs[0].astype(np.int64) - specs[0].zero_point
        b = inputs[1].astype(np.int64) - specs[1].zero_point
        a, b = np.broadcast_arrays(a, b)
        if name == "MUL":
            v = fxp.multiply_by_quantized_multiplier(a * b, p["out_multiplier"], p["out_shift"])
        else:
            small = fxp.multiply_by_quantized_multiplier_smaller_than_one_exp
            sa = small(a * (1 << p["left_shift"]), p["in1_multiplier"], p["in1_shift"])
            sb = small(b * (1 << p["left_shift"]), p["in2_multiplier"], p["in2_shift"])
            v = small(sa + sb if name == "ADD" else sa - sb, p["out_multiplier"], p["out_shift"])
        v = v + outputs[0].zero_point
        return [np.clip(v, p["q_min"], p["q_max"]).astype(np.int8).reshape(outputs[0].shape)]
    return fn


for _name in ("ADD", "SUB", "MUL"):
    INT8_OPS[_name] = _binary_int8(_name)


def _pool_int8(avg):
    def fn(inputs, p, outputs, specs):
        x = inputs[0].astype(np.int64)
        kh, kw = p["filter_h"], p["filter_w"]
        _, oh, ow, _ = outputs[0].shape
        geo = {**p, "dilation_h": 1, "dilation_w": 1}
        if avg:
            win = _windows(_pad_nhwc(x, p, 0), kh, kw, geo, oh, ow)
            ones = _pad_nhwc(np.ones(x.shape[:3] + (1,), np.int64), p, 0)
            count = _windows(ones, kh, kw, geo, oh, ow).sum(axis=(3, 4))
            acc = win.sum(axis=(3, 4))
            half = count // 2
            v = np.where(acc > 0, (acc + half) // count, -((-acc + half) // count))  # C truncation
        else:
            v = _windows(_pad_nhwc(x, p, -128), kh, kw, geo, oh, ow).max(axis=(3, 4))
        return [np.clip(v, p["q_min"], p["q_max"]).astype(np.int8)]
    return fn


INT8_OPS["MAX_POOL2D"] = _pool_int8(False)
INT8_OPS["AVG_POOL2D"] = _pool_int8(True)


def _trunc_div(a, n):
    return np.where(a >= 0, a // n, -((-a) // n))


@int8_op("REDUCE")
def reduce_int8(inputs, p, outputs, specs):
    x = inputs[0].astype(np.int64)
    axes = tuple(i for i in range(x.ndim) if p["axes_mask"] >> i & 1)
    count = int(np.prod([x.shape[a] for a in axes]))
    total = x.sum(axis=axes)
    if p["q_mode"] == 0:
        acc = fxp.multiply_by_quantized_multiplier(total - specs[0].zero_point * count, p["q_multiplier"], p["q_shift"])
        v = np.clip(acc + outputs[0].zero_point, -128, 127)
    else:
        v = np.clip(_trunc_div(total, count), -128, 127)
    return [v.astype(np.int8).reshape(outputs[0].shape)]


def _dispatch(float_fn, int8_fn):
    def fn(inputs, p, outputs, specs=None):
        if inputs and inputs[0] is not None and inputs[0].dtype == np.int8:
            return int8_fn(inputs, p, outputs, specs)
        return float_fn(inputs, p, outputs, specs)
    fn.__name__ = float_fn.__name__
    return fn


for _name, _fn in INT8_OPS.items():
    OPS[_name] = _dispatch(OPS[_name], _fn)


# -- block-sparse weights (runtime/sparse.py defines the format) -----------------------------

@op("SPARSE_FULLY_CONNECTED")
def sparse_fully_connected(inputs, p, outputs, specs=None):
    """FULLY_CONNECTED of the unpacked dense weights (x [..., K] -> y [..., N])."""
    from .sparse import unpack_block_csr_ref
    x, values, cols, rowptr = inputs[:4]
    block = (p["block_h"], p["block_w"])
    w = unpack_block_csr_ref(values, cols, rowptr, (outputs[0].shape[-1], x.shape[-1]), block)
    if x.dtype == np.int8:
        q = {"requant": p.get("requant", 0), "q_min": p["q_min"], "q_max": p["q_max"]}
        return fully_connected_int8([x, w] + list(inputs[4:7]), q, outputs, specs)
    return fully_connected([x, w, inputs[4] if len(inputs) > 4 else None], p, outputs, specs)


# -- binary layers (runtime/bnn.py defines the formats) ----------------------------------------

@op("BINARY_CONV2D")
def binary_conv2d(inputs, p, outputs, specs=None):
    """acc = exact integer sum of sign(x) * w over in-image taps (padding taps are 0);
    y = clamp(float32(acc) * scale + bias)."""
    from .bnn import binarize_ref, unpack_sign_bits_ref
    x, bits, scale, bias = (list(inputs) + [None])[:4]
    xs = binarize_ref(x).astype(np.int32)
    w = unpack_sign_bits_ref(bits, x.shape[3]).astype(np.int32)
    oc, kh, kw, c = w.shape
    _, oh, ow, _ = outputs[0].shape
    win = _windows(_pad_nhwc(xs, p, 0), kh, kw, p, oh, ow)
    acc = np.tensordot(win.astype(np.int32), w, axes=([3, 4, 5], [1, 2, 3]))  # [N, OH, OW, OC]
    y = acc.astype(F32) * scale.astype(F32)
    if bias is not None:
        y = (y + bias.astype(F32)).astype(F32)
    return [_clamp(y, p["act_min"], p["act_max"])]
