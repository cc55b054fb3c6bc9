"""ONNX frontend: .onnx (opset 11+, older versions converted) -> Graph.

ONNX models are NCHW; edgec's kernels are NHWC. Every rank-4 activation produced by a
spatial op is kept physically NHWC while the converter tracks its logical NCHW shape;
element-wise ops, concatenation, reductions and softmax work on NHWC tensors with their
axes remapped, and a TRANSPOSE is inserted only where an op needs the logical order
(reshape, transpose, matmul, ...) or at a graph output. Shape-computation subgraphs
(Shape -> Gather -> Concat -> Reshape, ...) are evaluated here: every shape is static
once dynamic input dimensions are fixed (input_shape=..., --input-shape).
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..runtime import format as fmt
from .graph import ConversionError, Graph, handler_registry, unsupported_ops_error

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC_AXIS = {0: 0, 1: 3, 2: 1, 3: 2}
UNARY = {"Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hard_swish", "Exp": "exp", "Log": "log",
         "Sqrt": "sqrt", "Abs": "abs", "Neg": "neg", "Floor": "floor", "Ceil": "ceil"}
BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Div": "DIV", "Pow": "POW", "Max": "MAXIMUM",
          "Min": "MINIMUM"}
REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min"}
ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
               10: np.float16, 11: np.float64}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ConversionError("reading .onnx models needs the `onnx` package: pip install 'edgec[convert]'") from None
    return onnx


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Converter:
    def __init__(self, model, name: str):
        from onnx import numpy_helper
        self.m = model
        self.name = name
        self.g = Graph(name=name)
        self.consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.shapes = {}            # onnx name -> logical shape
        self.dtypes = {}
        for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
            self.dtypes[vi.name] = ONNX_DTYPES.get(t.elem_type) if t.elem_type != 11 else None
        self.names = {}             # onnx name -> graph tensor name
        self.signs = {}             # Sign output -> its input (binary layers, passes/binarize.py)
        self.nhwc = set()           # graph tensors stored NHWC whose logical layout is NCHW
        self.views = {}             # (graph name, layout) -> converted copy
        self.users = {}
        for n in model.graph.node:
            for i in n.input:
                self.users.setdefault(i, []).append(n)

    # -- tensors ----------------------------------------------------------------------------
    def dtype(self, onnx_name):
        """The tensor's element type, refusing types the runtime has no tensors for."""
        dt = self.dtypes.get(onnx_name, np.float32)
        if dt is None:
            raise ConversionError(f"{self.name}: tensor {onnx_name!r} has an element type edgec does not "
                                  f"support (float32, float16, int8, uint8, int16, int32, int64, bool)")
        return dt

    def const(self, onnx_name):
        return self.consts.get(onnx_name) if onnx_name else None

    def shape(self, onnx_name) -> tuple:
        if onnx_name in self.consts:
            return tuple(self.consts[onnx_name].shape)
        s = self.shapes.get(onnx_name)
        if s is None or any(d < 0 for d in s):
            raise ConversionError(f"{self.name}: the shape of tensor {onnx_name!r} is unknown after shape "
                                  f"inference ({s}); fix dynamic input dimensions with input_shape")
        return s

    def graph_name(self, onnx_name: str) -> str:
        """The graph tensor holding ONNX tensor `onnx_name` (constants created on use)."""
        if onnx_name in self.names:
            return self.names[onnx_name]
        v = self.const(onnx_name)
        if v is None:
            raise ConversionError(f"{self.name}: tensor {onnx_name!r} is used before it is produced")
        if v.dtype == np.float64:
            v = v.astype(np.float32)
        t = self.g.add_constant(onnx_name, v)
        self.names[onnx_name] = t.name
        return t.name

    def is_nhwc(self, onnx_name) -> bool:
        return self.names.get(onnx_name) in self.nhwc

    def output(self, onnx_name, nhwc: bool, dtype=None) -> str:
        shape = self.shape(onnx_name)
        dtype = dtype or self.dtype(onnx_name)
        phys = tuple(shape[i] for i in TO_NHWC) if nhwc else shape
        t = self.g.add_tensor(self.g.unique_name(onnx_name), phys, dtype)
        self.names[onnx_name] = t.name
        if nhwc:
            self.nhwc.add(t.name)
        return t.name

    def _view(self, gname: str, to_nhwc: bool) -> str:
        key = (gname, to_nhwc)
        if key not in self.views:
            t = self.g.tensors[gname]
            perm = TO_NHWC if to_nhwc else TO_NCHW
            out = self.g.unique_name(f"{gname}/{'nhwc' if to_nhwc else 'nchw'}")
            if t.is_constant:
                self.g.add_tensor(out, tuple(t.shape[p] for p in perm), t.dtype, np.transpose(t.data, perm))
            else:
                self.g.add_tensor(out, tuple(t.shape[p] for p in perm), t.dtype)
                self.g.add_node("TRANSPOSE", [gname], [out], {"perm": list(perm)}, name=out)
            if to_nhwc:
                self.nhwc.add(out)
            self.views[key] = out
        return self.views[key]

    def nhwc_input(self, onnx_name) -> str:
        g = self.graph_name(onnx_name)
        if g in self.nhwc:
            return g
        if len(self.g.tensors[g].shape) != 4:
            raise ConversionError(f"{self.name}: {onnx_name!r} must be 4-D (NCHW), has shape {self.g.tensors[g].shape}")
        return self._view(g, True)

    def logical_input(self, onnx_name) -> str:
        g = self.graph_name(onnx_name)
        return self._view(g, False) if g in self.nhwc else g

    def broadcast_operand(self, onnx_name, nhwc: bool) -> str:
        """An element-wise operand in the layout of the op: NHWC operands get a constant
        reshaped to rank 4 and permuted, a tensor converted."""
        g = self.graph_name(onnx_name)
        t = self.g.tensors[g]
        if not nhwc:
            return self.logical_input(onnx_name)
        if g in self.nhwc:
            return g
        if t.is_constant:
            data = t.data.reshape((1,) * (4 - t.data.ndim) + t.data.shape) if t.data.ndim <= 4 else None
            if data is None:
                raise ConversionError(f"{self.name}: constant {onnx_name!r} of rank {t.data.ndim} in a 4-D op")
            return self.g.add_constant(f"{g}/nhwc", np.ascontiguousarray(np.transpose(data, TO_NHWC))).name
        if len(t.shape) == 4:
            return self._view(g, True)
        raise ConversionError(f"{self.name}: {onnx_name!r} ({t.shape}) cannot broadcast against an NHWC tensor")


HANDLERS, handles = handler_registry()


def _node(c, op, ins, outs, params=None, name=""):
    c.g.add_node(op, ins, outs, params or {}, name or outs[0])


# -- constant folding of shape computations ------------------------------------------------

FOLDABLE = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Reshape", "Mul", "Add",
            "Sub", "Div", "Identity", "Constant", "ConstantOfShape", "Range", "Equal", "Where", "Flatten",
            "Transpose", "Sqrt", "Floor", "Ceil", "Min", "Max", "Expand", "Neg", "Pow", "Sign",
            "DequantizeLinear", "QuantizeLinear"}


def _fold(c: _Converter, node) -> bool:
    """Evaluate `node` in numpy when all its inputs are constants (or it is Shape of a
    tensor with a known shape). Returns True when folded."""
    from onnx import numpy_helper
    op, a = node.op_type, _attrs(node)
    if op == "Constant":
        value = a.get("value")
        v = numpy_helper.to_array(value) if value is not None else np.asarray(
            a.get("value_float", a.get("value_int", a.get("value_floats", a.get("value_ints")))))
        c.consts[node.output[0]] = v
        return True
    if op == "Shape":
        if node.input[0] in c.consts or node.input[0] in c.shapes:
            c.consts[node.output[0]] = np.array(c.shape(node.input[0]), np.int64)
            return True
        return False
    if op not in FOLDABLE:
        return False
    ins = [c.const(i) if i else None for i in node.input]
    if any(v is None for i, v in zip(node.input, ins) if i):
        return False
    x = ins[0]
    if op == "Gather":
        r = np.take(x, ins[1], axis=a.get("axis", 0))
    elif op == "Unsqueeze":
        axes = a.get("axes", None if len(ins) < 2 else list(ins[1]))
        r = x
        for ax in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
            r = np.expand_dims(r, ax)
    elif op == "Squeeze":
        axes = a.get("axes", None if len(ins) < 2 else list(ins[1]))
        r = np.squeeze(x, axis=tuple(axes) if axes is not None else None)
    elif op == "Concat":
        r = np.concatenate([v.reshape(1) if v.ndim == 0 else v for v in ins], axis=a.get("axis", 0))
    elif op == "Cast":
        r = x.astype(ONNX_DTYPES.get(a["to"], np.float32))
    elif op == "Slice":
        starts, ends = ins[1], ins[2]
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else range(len(starts))
        steps = ins[4] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        sl = [slice(None)] * x.ndim
        for s_, e_, ax, st in zip(starts, ends, axes, steps):
            sl[int(ax)] = slice(int(max(min(s_, 2 ** 62), -2 ** 62)), int(max(min(e_, 2 ** 62), -2 ** 62)), int(st))
        r = x[tuple(sl)]
    elif op == "Reshape":
        shape = [int(d) if d != 0 else x.shape[i] for i, d in enumerate(ins[1])]
        r = x.reshape(shape)
    elif op == "Flatten":
        ax = a.get("axis", 1)
        r = x.reshape(int(np.prod(x.shape[:ax])), -1)
    elif op == "Transpose":
        r = np.transpose(x, a.get("perm"))
    elif op == "ConstantOfShape":
        value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        r = np.full(tuple(int(d) for d in x), value.reshape(-1)[0], dtype=value.dtype)
    elif op == "Range":
        r = np.arange(x, ins[1], ins[2])
    elif op == "Expand":
        r = x * np.ones(tuple(int(d) for d in ins[1]), dtype=x.dtype)
    elif op in ("DequantizeLinear", "QuantizeLinear"):
        scale = ins[1].astype(np.float32)
        zp = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros_like(scale, dtype=np.uint8)
        if scale.size > 1:  # per-axis
            shape = [1] * x.ndim
            shape[a.get("axis", 1) % x.ndim] = -1
            scale, zpb = scale.reshape(shape), zp.reshape(shape)
        else:
            zpb = zp
        if op == "DequantizeLinear":
            r = ((x.astype(np.int64) - zpb.astype(np.int64)) * scale).astype(np.float32)
        else:
            info = np.iinfo(zp.dtype)
            r = np.clip(np.rint(x / scale) + zpb.astype(np.int64), info.min, info.max).astype(zp.dtype)
    elif op == "Identity":
        r = x
    elif op == "Where":
        r = np.where(ins[0], ins[1], ins[2])
    else:
        fn = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Equal": np.equal, "Min": np.minimum,
              "Max": np.maximum, "Pow": np.power}.get(op)
        if op == "Div":
            r = (x // ins[1]) if x.dtype.kind in "iu" else (x / ins[1])
        elif fn is not None:
            r = fn(*ins)
        else:
            r = {"Sqrt": np.sqrt, "Floor": np.floor, "Ceil": np.ceil, "Neg": np.negative, "Sign": np.sign}[op](x)
    c.consts[node.output[0]] = np.asarray(r)
    return True


# -- spatial ops -----------------------------------------------------------------------------

def _pads(a, in_hw, k, strides, dil, out_hw):
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(2):
            total = max((out_hw[i] - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 - in_hw[i], 0)
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return {"pad_top": out[0][0], "pad_bottom": out[0][1], "pad_left": out[1][0], "pad_right": out[1][1]}
    if auto == "VALID":
        return {"pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0}
    p = list(a.get("pads", [0, 0, 0, 0]))
    return {"pad_top": p[0], "pad_left": p[1], "pad_bottom": p[2], "pad_right": p[3]}


@handles("Conv")
def _conv(c, node, ctx):
    a = _attrs(node)
    w = c.const(node.input[1])
    if w is None or w.ndim != 4:
        raise ConversionError(f"{ctx}: only 2-D convolutions with constant weights are supported")
    b = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    xs, ys = c.shape(node.input[0]), c.shape(node.output[0])
    oc, icg, kh, kw = w.shape
    groups = a.get("group", 1)
    strides, dil = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
    pads = _pads(a, xs[2:], (kh, kw), strides, dil, ys[2:])
    if node.input[0] in c.signs:  # Conv(Sign(x), +-alpha): a binary layer (passes/binarize.py)
        from .passes.binarize import lower_binary_conv
        return lower_binary_conv(c, node, ctx, c.signs[node.input[0]], pads, strides, dil)
    x = c.nhwc_input(node.input[0])
    p = {"stride_h": strides[0], "stride_w": strides[1], "dilation_h": dil[0], "dilation_w": dil[1], **pads}
    y = c.output(node.output[0], True)
    bias = c.g.add_constant(f"{y}/bias", b.astype(np.float32)).name if b is not None else ""
    if groups > 1 and icg == 1 and groups == xs[1]:
        wt = c.g.add_constant(f"{y}/weights", np.transpose(w, (1, 2, 3, 0)).astype(np.float32)).name
        _node(c, "DEPTHWISE_CONV2D", [x, wt, bias], [y], {**p, "depth_multiplier": oc // groups}, node.name)
    else:
        wt = c.g.add_constant(f"{y}/weights", np.transpose(w, (0, 2, 3, 1)).astype(np.float32)).name
        _node(c, "CONV2D", [x, wt, bias], [y], {**p, "groups": groups}, node.name)


@handles("Sign")
def _sign(c, node, ctx):
    """Sign(x) is a binarized input: only Convs with +-alpha weights may read it, and they
    binarize x themselves (BINARY_CONV2D), so Sign emits no op."""
    from .passes.binarize import sign_consumers_ok
    why = sign_consumers_ok(c, node.output[0])
    if why:
        raise ConversionError(f"{ctx}: Sign is supported as the binarized input of Conv layers with +-alpha "
                              f"weights (binary layers); here {why}")
    c.signs[node.output[0]] = node.input[0]


@handles("ConvTranspose")
def _conv_transpose(c, node, ctx):
    """Kernel == stride, no padding: an exact 1x1 convolution to C*s*s channels followed
    by DEPTH_TO_SPACE (each output pixel receives exactly one tap)."""
    a = _attrs(node)
    w = c.const(node.input[1])
    b = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    strides = tuple(a.get("strides", (1, 1)))
    if (w is None or a.get("group", 1) != 1 or tuple(w.shape[2:]) != strides or any(a.get("pads", [0] * 4))
            or any(a.get("output_padding", [0, 0])) or strides[0] != strides[1]):
        raise ConversionError(f"{ctx}: ConvTranspose is supported with kernel == stride, no padding, group 1 "
                              f"(got kernel {None if w is None else w.shape[2:]}, strides {strides})")
    ic, oc, s, _ = w.shape
    x = c.nhwc_input(node.input[0])
    # conv output channel (i*s + j)*oc + o holds W[:, o, i, j] (DEPTH_TO_SPACE DCR order)
    w1 = np.transpose(w, (2, 3, 1, 0)).reshape(s * s * oc, 1, 1, ic).astype(np.float32)
    b1 = np.tile(b if b is not None else np.zeros(oc, np.float32), s * s).astype(np.float32)
    ys = c.shape(node.output[0])
    mid = c.g.unique_name(f"{node.output[0]}/pre_d2s")
    c.g.add_tensor(mid, (ys[0], ys[2] // s, ys[3] // s, s * s * oc))
    wt = c.g.add_constant(f"{mid}/weights", w1).name
    bt = c.g.add_constant(f"{mid}/bias", b1).name
    _node(c, "CONV2D", [x, wt, bt], [mid], {}, node.name + "/1x1")
    y = c.output(node.output[0], True)
    _node(c, "DEPTH_TO_SPACE", [mid], [y], {"block_size": s, "mode": 0}, node.name)


@handles("BatchNormalization")
def _batchnorm(c, node, ctx):
    scale, bias, mean, var = (c.const(i) for i in node.input[1:5])
    if any(v is None for v in (scale, bias, mean, var)):
        raise ConversionError(f"{ctx}: BatchNormalization needs constant statistics")
    eps = _attrs(node).get("epsilon", 1e-5)
    mul = (scale / np.sqrt(var + eps)).astype(np.float32)
    add = (bias - mean * mul).astype(np.float32)
    src = c.graph_name(node.input[0])
    producer = next((n for n in reversed(c.g.nodes) if n.outputs == [src]), None)
    single_use = len(c.users.get(node.input[0], [])) == 1
    if producer is not None and producer.op in ("CONV2D", "DEPTHWISE_CONV2D") and single_use and \
            np.isinf(producer.params["act_max"]) and np.isinf(producer.params["act_min"]):
        w = c.g.tensors[producer.inputs[1]]
        axis = 0 if producer.op == "CONV2D" else 3
        shape = [1, 1, 1, 1]
        shape[axis] = -1
        w.data = (w.data * mul.reshape(shape)).astype(np.float32)
        old_b = c.g.tensors[producer.inputs[2]].data if producer.inputs[2] else np.zeros_like(mul)
        producer.inputs[2] = c.g.add_constant(f"{src}/bias_bn", (old_b * mul + add).astype(np.float32)).name
        c.names[node.output[0]] = src  # the conv now produces the normalized tensor
        # for `edgec validate`: src now holds the source model's BatchNormalization output
        c.g.metadata.setdefault("aliases", {})[src] = node.output[0]
        return
    nhwc = c.is_nhwc(node.input[0]) or len(c.shape(node.input[0])) == 4
    x = c.nhwc_input(node.input[0]) if nhwc else c.logical_input(node.input[0])
    shape = (-1,) if nhwc else (-1,) + (1,) * (len(c.shape(node.input[0])) - 2)
    mid = c.g.unique_name(f"{node.output[0]}/scaled")
    c.g.add_tensor(mid, c.g.tensors[x].shape)
    _node(c, "MUL", [x, c.g.add_constant(f"{mid}/mul", mul.reshape(shape)).name], [mid], {}, node.name + "/mul")
    y = c.output(node.output[0], nhwc)
    _node(c, "ADD", [mid, c.g.add_constant(f"{mid}/add", add.reshape(shape)).name], [y], {}, node.name)


@handles("MaxPool", "AveragePool")
def _pool(c, node, ctx):
    a = _attrs(node)
    k = tuple(a["kernel_shape"])
    strides = tuple(a.get("strides", (1, 1)))
    if any(d != 1 for d in a.get("dilations", (1, 1))) or len(k) != 2 or len(node.output) > 1:
        raise ConversionError(f"{ctx}: only 2-D pooling without dilations or indices output is supported")
    xs, ys = c.shape(node.input[0]), c.shape(node.output[0])
    p = _pads(a, xs[2:], k, strides, (1, 1), ys[2:])
    # ceil_mode: grow the bottom/right padding until the output has the inferred size
    for axis, key in ((0, "pad_bottom"), (1, "pad_right")):
        while (xs[2 + axis] + p["pad_top" if axis == 0 else "pad_left"] + p[key] - k[axis]) // strides[axis] + 1 < ys[2 + axis]:
            p[key] += 1
    params = {"filter_h": k[0], "filter_w": k[1], "stride_h": strides[0], "stride_w": strides[1], **p}
    if node.op_type == "AveragePool":
        params["count_include_pad"] = int(a.get("count_include_pad", 0))
    x = c.nhwc_input(node.input[0])
    y = c.output(node.output[0], True)
    _node(c, "MAX_POOL2D" if node.op_type == "MaxPool" else "AVG_POOL2D", [x], [y], params, node.name)


@handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(c, node, ctx):
    x = c.nhwc_input(node.input[0])
    y = c.output(node.output[0], True)
    kind = "mean" if node.op_type == "GlobalAveragePool" else "max"
    _node(c, "REDUCE", [x], [y], {"axes_mask": 0b0110, "kind": fmt.REDUCE_KINDS[kind]}, node.name)


@handles("Resize", "Upsample")
def _resize(c, node, ctx):
    a = _attrs(node)
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    coord = a.get("coordinate_transformation_mode", b"half_pixel" if node.op_type == "Resize" else b"asymmetric")
    coord = coord.decode() if isinstance(coord, bytes) else coord
    nearest = a.get("nearest_mode", b"round_prefer_floor")
    nearest = nearest.decode() if isinstance(nearest, bytes) else nearest
    if mode not in ("nearest", "linear") or coord not in fmt.RESIZE_COORDS or nearest not in fmt.RESIZE_NEAREST:
        raise ConversionError(f"{ctx}: Resize mode={mode} coordinate_transformation_mode={coord} "
                              f"nearest_mode={nearest} is not supported")
    xs, ys = c.shape(node.input[0]), c.shape(node.output[0])
    if xs[:2] != ys[:2]:
        raise ConversionError(f"{ctx}: Resize of batch or channel axes is not supported")
    if a.get("antialias", 0) or a.get("exclude_outside", 0) or not set(a.get("axes", [2, 3])) <= {2, 3}:
        raise ConversionError(f"{ctx}: Resize with antialias / exclude_outside / axes is not supported")
    for i in node.input[1:]:
        if i and c.const(i) is None:
            raise ConversionError(f"{ctx}: Resize roi/scales/sizes must be constants (got tensor {i!r})")
    scales = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if node.op_type == "Upsample":
        scales = c.const(node.input[1]) if len(node.input) > 1 else np.asarray(a.get("scales"))
    if scales is not None and scales.size == 4 and any(
            abs(float(scales[i]) - ys[i] / xs[i]) > 1e-6 for i in (2, 3)) and coord != "align_corners":
        raise ConversionError(f"{ctx}: Resize scales {list(scales)} differ from the size ratio; "
                              "edgec resizes by output size (give `sizes`)")
    x = c.nhwc_input(node.input[0])
    y = c.output(node.output[0], True)
    _node(c, "RESIZE", [x], [y], {"mode": int(mode == "linear"), "coord": fmt.RESIZE_COORDS[coord],
                                  "nearest": fmt.RESIZE_NEAREST[nearest]}, node.name)


# -- element-wise ------------------------------------------------------------------------------

def _elementwise_layout(c, inputs) -> bool:
    """NHWC when any 4-D input is stored NHWC."""
    return any(i and c.is_nhwc(i) for i in inputs)


VARIADIC = {"Max": "MAXIMUM", "Min": "MINIMUM", "Sum": "ADD", "Mean": "ADD"}


@handles("Sum", "Mean")
@handles(*BINARY)
def _binary(c, node, ctx):
    if node.op_type in VARIADIC and len(node.input) != 2:
        return _variadic(c, node, ctx)
    if len(node.input) != 2:
        raise ConversionError(f"{ctx}: {node.op_type} with {len(node.input)} inputs is not supported (2 are)")
    if node.op_type == "Mean":
        return _variadic(c, node, ctx)
    if any(c.dtype(i) != np.float32 for i in node.input):
        raise ConversionError(f"{ctx}: {node.op_type} on {[np.dtype(c.dtype(i)).name for i in node.input]} "
                              "tensors is not supported (float32; int8 through QDQ models)")
    nhwc = _elementwise_layout(c, node.input)
    a = c.broadcast_operand(node.input[0], nhwc)
    b = c.broadcast_operand(node.input[1], nhwc)
    y = c.output(node.output[0], nhwc)
    _node(c, BINARY.get(node.op_type) or VARIADIC[node.op_type], [a, b], [y], {}, node.name)


def _variadic(c, node, ctx):
    """Max/Min/Sum/Mean of n inputs as a chain of binary ops (Mean then scales by 1/n)."""
    if any(c.dtype(i) != np.float32 for i in node.input):
        raise ConversionError(f"{ctx}: {node.op_type} of non-float32 tensors is not supported")
    nhwc = _elementwise_layout(c, node.input)
    ys = c.shape(node.output[0])
    phys = tuple(ys[i] for i in TO_NHWC) if nhwc else ys
    acc = c.broadcast_operand(node.input[0], nhwc)
    if len(node.input) == 1 or c.g.tensors[acc].shape != phys:  # broadcast the first operand to the output
        ones = c.g.add_constant(f"{node.output[0]}/zeros", np.zeros(phys, np.float32)).name
        t = c.g.unique_name(f"{node.output[0]}/b")
        c.g.add_tensor(t, phys)
        _node(c, "ADD", [acc, ones], [t], {}, t)
        acc = t
    for k, i in enumerate(node.input[1:], 1):
        t = c.g.unique_name(f"{node.output[0]}/{k}")
        c.g.add_tensor(t, phys)
        _node(c, VARIADIC[node.op_type], [acc, c.broadcast_operand(i, nhwc)], [t], {}, t)
        acc = t
    y = c.output(node.output[0], nhwc)
    scale = 1.0 / len(node.input) if node.op_type == "Mean" else 1.0
    _node(c, "MUL", [acc, c.g.add_constant(f"{y}/scale", np.array([scale], np.float32)).name], [y], {}, node.name)


def _unary_like(c, node, op, params):
    nhwc = _elementwise_layout(c, node.input[:1])
    x = c.nhwc_input(node.input[0]) if nhwc else c.logical_input(node.input[0])
    y = c.output(node.output[0], nhwc)
    _node(c, op, [x], [y], params, node.name)


@handles("Relu")
def _relu(c, node, ctx):
    _unary_like(c, node, "CLAMP", {"min": 0.0, "max": np.inf})


@handles("Clip")
def _clip(c, node, ctx):
    a = _attrs(node)
    lo = c.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("min", -np.inf)
    hi = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("max", np.inf)
    if lo is None or hi is None:
        raise ConversionError(f"{ctx}: Clip bounds must be constants")
    if c.dtype(node.input[0]) != np.float32:
        raise ConversionError(f"{ctx}: Clip of {np.dtype(c.dtype(node.input[0])).name} tensors is not supported")
    _unary_like(c, node, "CLAMP", {"min": float(np.asarray(lo)), "max": float(np.asarray(hi))})


@handles("HardSigmoid")
def _hard_sigmoid(c, node, ctx):
    a = _attrs(node)
    _unary_like(c, node, "UNARY", {"kind": fmt.UNARY_KINDS["hard_sigmoid"], "alpha": a.get("alpha", 0.2),
                                   "beta": a.get("beta", 0.5)})


@handles("LeakyRelu")
def _leaky(c, node, ctx):
    _unary_like(c, node, "LEAKY_RELU", {"alpha": _attrs(node).get("alpha", 0.01)})


@handles(*UNARY)
def _unary(c, node, ctx):
    _unary_like(c, node, "UNARY", {"kind": fmt.UNARY_KINDS[UNARY[node.op_type]]})


def _chain(c, node, steps):
    """Decompose an element-wise op into edgec ops: steps are (op, params, constant or None);
    a constant becomes the second operand (or the first, for ("rdiv", c))."""
    if c.dtype(node.input[0]) != np.float32:
        raise ConversionError(f"model {c.name!r}, node {node.name!r} ({node.op_type}): float32 only")
    nhwc = _elementwise_layout(c, node.input[:1])
    cur = c.nhwc_input(node.input[0]) if nhwc else c.logical_input(node.input[0])
    src = cur
    shape = c.g.tensors[cur].shape
    for k, (op, params, const) in enumerate(steps):
        last = k == len(steps) - 1
        out = c.output(node.output[0], nhwc) if last else c.g.unique_name(f"{node.output[0]}/{k}")
        if not last:
            c.g.add_tensor(out, shape)
        if op == "rdiv":   # const / cur
            _node(c, "DIV", [c.g.add_constant(f"{out}/c", np.array([const], np.float32)).name, cur], [out], {}, out)
        elif op == "div_src":  # src / cur
            _node(c, "DIV", [src, cur], [out], {}, out)
        elif const is not None:
            _node(c, op, [cur, c.g.add_constant(f"{out}/c", np.array([const], np.float32)).name], [out], params, out)
        else:
            _node(c, op, [cur], [out], params, out)
        cur = out


@handles("Reciprocal")
def _reciprocal(c, node, ctx):
    _chain(c, node, [("rdiv", {}, 1.0)])


@handles("Softplus")
def _softplus(c, node, ctx):  # log(1 + exp(x))
    _chain(c, node, [("UNARY", {"kind": fmt.UNARY_KINDS["exp"]}, None), ("ADD", {}, 1.0),
                     ("UNARY", {"kind": fmt.UNARY_KINDS["log"]}, None)])


@handles("Softsign")
def _softsign(c, node, ctx):  # x / (1 + |x|)
    _chain(c, node, [("UNARY", {"kind": fmt.UNARY_KINDS["abs"]}, None), ("ADD", {}, 1.0), ("div_src", {}, None)])


def _qparams(c, node, ctx, scale_i=1, zp_i=2):
    scale = c.const(node.input[scale_i])
    zp = c.const(node.input[zp_i]) if len(node.input) > zp_i and node.input[zp_i] else None
    if scale is None or (len(node.input) > zp_i and node.input[zp_i] and zp is None):
        raise ConversionError(f"{ctx}: quantization scale and zero point must be constants")
    return scale, zp


@handles("QuantizeLinear")
def _quantize_linear(c, node, ctx):
    """Activations: a QUANTIZE op (per-tensor, ties to even as ONNX says). A QDQ model then
    runs as its definition says: float ops between DequantizeLinear and QuantizeLinear."""
    scale, zp = _qparams(c, node, ctx)
    if scale.size != 1:
        raise ConversionError(f"{ctx}: per-axis quantization of activations is not supported")
    dtype = np.dtype(zp.dtype) if zp is not None else np.dtype(np.uint8)
    if dtype not in (np.dtype(np.int8), np.dtype(np.uint8)):
        raise ConversionError(f"{ctx}: QuantizeLinear to {dtype} is not supported (int8, uint8)")
    nhwc = c.is_nhwc(node.input[0])
    x = c.graph_name(node.input[0])
    y = c.output(node.output[0], nhwc, dtype.type)
    t = c.g.tensors[y]
    t.scale, t.zero_point = float(np.float32(scale.reshape(-1)[0])), int(zp.reshape(-1)[0]) if zp is not None else 0
    _node(c, "QUANTIZE", [x], [y], {"round_half_even": 1}, node.name)


@handles("DequantizeLinear")
def _dequantize_linear(c, node, ctx):
    scale, zp = _qparams(c, node, ctx)
    x = c.graph_name(node.input[0])
    t = c.g.tensors[x]
    if scale.size != 1 or t.scale != float(np.float32(scale.reshape(-1)[0])) or \
            t.zero_point != (int(zp.reshape(-1)[0]) if zp is not None else 0):
        raise ConversionError(f"{ctx}: DequantizeLinear parameters differ from the tensor's quantization")
    nhwc = c.is_nhwc(node.input[0])
    y = c.output(node.output[0], nhwc, np.float32)
    _node(c, "DEQUANTIZE", [x], [y], {}, node.name)


@handles("Erf")
def _erf(c, node, ctx):
    """Erf appears in exported GELU: x * 0.5 * (1 + erf(x / sqrt(2))); the GELU pass
    (_match_gelu) fuses the whole pattern before conversion, so a lone Erf is unsupported."""
    raise ConversionError(f"{ctx}: Erf outside the GELU pattern is not supported")


@handles("Gelu")
def _gelu(c, node, ctx):
    approx = _attrs(node).get("approximate", b"none")
    approx = approx.decode() if isinstance(approx, bytes) else approx
    _unary_like(c, node, "GELU", {"approximate": int(approx == "tanh")})


@handles("PRelu")
def _prelu(c, node, ctx):
    nhwc = _elementwise_layout(c, node.input[:1])
    x = c.nhwc_input(node.input[0]) if nhwc else c.logical_input(node.input[0])
    slope = c.broadcast_operand(node.input[1], nhwc)
    y = c.output(node.output[0], nhwc)
    _node(c, "PRELU", [x, slope], [y], {}, node.name)


@handles("Softmax")
def _softmax(c, node, ctx):
    rank = len(c.shape(node.input[0]))
    axis = _attrs(node).get("axis", -1 if c.m.opset_import[0].version >= 13 else 1) % rank
    if c.m.opset_import[0].version < 13 and axis != rank - 1:
        raise ConversionError(f"{ctx}: opset<13 Softmax over axis {axis} of a rank-{rank} tensor is not supported")
    nhwc = c.is_nhwc(node.input[0])
    x = c.graph_name(node.input[0])
    y = c.output(node.output[0], nhwc)
    _node(c, "SOFTMAX", [x], [y], {"axis": NCHW_TO_NHWC_AXIS[axis] if nhwc else axis, "beta": 1.0}, node.name)


@handles(*REDUCE)
def _reduce(c, node, ctx):
    a = _attrs(node)
    rank = len(c.shape(node.input[0]))
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = c.const(node.input[1])
        if axes is None:
            raise ConversionError(f"{ctx}: reduction axes must be constant")
    if axes is not None and len(axes) == 0 and a.get("noop_with_empty_axes", 0):
        raise ConversionError(f"{ctx}: noop_with_empty_axes is not supported")
    axes = sorted(int(v) % rank for v in (axes if axes is not None and len(axes) else range(rank)))
    keep = a.get("keepdims", 1)
    nhwc = c.is_nhwc(node.input[0]) and (keep or axes in ([2, 3], [1, 2, 3], [0, 1, 2, 3]))
    x = c.graph_name(node.input[0]) if nhwc else c.logical_input(node.input[0])
    mask = 0
    for ax in axes:
        mask |= 1 << (NCHW_TO_NHWC_AXIS[ax] if nhwc else ax)
    y = c.output(node.output[0], nhwc and bool(keep))
    _node(c, "REDUCE", [x], [y], {"axes_mask": mask, "kind": fmt.REDUCE_KINDS[REDUCE[node.op_type]]}, node.name)


@handles("Concat")
def _concat(c, node, ctx):
    rank = len(c.shape(node.output[0]))
    axis = _attrs(node)["axis"] % rank
    nhwc = rank == 4 and _elementwise_layout(c, node.input)
    ins = [c.nhwc_input(i) if nhwc else c.logical_input(i) for i in node.input]
    y = c.output(node.output[0], nhwc)
    _node(c, "CONCAT", ins, [y], {"axis": NCHW_TO_NHWC_AXIS[axis] if nhwc else axis}, node.name)


# -- layout-bound ops: work on the logical (NCHW) order ------------------------------------------

def _reshaped_shape(c, node) -> tuple:
    """Output shape of a reshape-like node from its (folded) shape inputs, for when ONNX
    shape inference could not follow a computed shape."""
    xs, a = c.shape(node.input[0]), _attrs(node)
    if node.op_type == "Reshape":
        target = [int(d) for d in c.const(node.input[1])]
        target = [xs[i] if d == 0 else d for i, d in enumerate(target)]
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = int(np.prod(xs)) // known
        return tuple(target)
    if node.op_type == "Flatten":
        ax = a.get("axis", 1) % max(len(xs), 1)
        return (int(np.prod(xs[:ax])), int(np.prod(xs[ax:])))
    axes = a.get("axes")
    if axes is None and len(node.input) > 1:
        axes = [int(v) for v in c.const(node.input[1])]
    if node.op_type == "Squeeze":
        axes = [v % len(xs) for v in axes] if axes is not None else [i for i, d in enumerate(xs) if d == 1]
        return tuple(d for i, d in enumerate(xs) if i not in axes)
    out = list(xs)
    for v in sorted(v % (len(xs) + len(axes)) for v in axes):
        out.insert(v, 1)
    return tuple(out)


@handles("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def _reshape(c, node, ctx):
    x = c.logical_input(node.input[0])
    if node.output[0] not in c.shapes or any(d < 0 for d in c.shapes[node.output[0]]):
        c.shapes[node.output[0]] = _reshaped_shape(c, node)
    y = c.output(node.output[0], False)
    _node(c, "RESHAPE", [x], [y], {}, node.name)


@handles("Transpose")
def _transpose(c, node, ctx):
    rank = len(c.shape(node.input[0]))
    perm = list(_attrs(node).get("perm", list(range(rank))[::-1]))
    if c.is_nhwc(node.input[0]):
        # compose with the NHWC storage: output[i] = logical[perm[i]] = stored[pos(perm[i])]
        x = c.graph_name(node.input[0])
        perm = [NCHW_TO_NHWC_AXIS[p] for p in perm]
    else:
        x = c.logical_input(node.input[0])
    y = c.output(node.output[0], False)
    _node(c, "TRANSPOSE", [x], [y], {"perm": perm}, node.name)


@handles("Slice")
def _slice(c, node, ctx):
    xs = c.shape(node.input[0])
    starts, ends = c.const(node.input[1]), c.const(node.input[2])
    axes = c.const(node.input[3]) if len(node.input) > 3 and node.input[3] else np.arange(len(starts))
    steps = c.const(node.input[4]) if len(node.input) > 4 and node.input[4] else np.ones(len(starts), np.int64)
    if starts is None or ends is None or axes is None or steps is None:
        raise ConversionError(f"{ctx}: Slice needs constant starts/ends/axes/steps")
    begin, step = [0] * len(xs), [1] * len(xs)
    out = list(xs)
    for s_, e_, ax, st in zip(starts, ends, axes, steps):
        ax = int(ax) % len(xs)
        r = range(xs[ax])[slice(int(max(min(s_, 2 ** 62), -2 ** 62)), int(max(min(e_, 2 ** 62), -2 ** 62)), int(st))]
        if len(r) == 0:
            raise ConversionError(f"{ctx}: empty slice on axis {ax}")
        begin[ax], step[ax], out[ax] = r.start, r.step, len(r)
    c.shapes[node.output[0]] = tuple(out)
    if c.is_nhwc(node.input[0]):
        x = c.graph_name(node.input[0])
        begin = [begin[i] for i in TO_NHWC]
        step = [step[i] for i in TO_NHWC]
        y = c.output(node.output[0], True)
    else:
        x = c.logical_input(node.input[0])
        y = c.output(node.output[0], False)
    _node(c, "SLICE", [x], [y], {"begin": begin, "step": step}, node.name)


@handles("MatMul", "Gemm")
def _matmul(c, node, ctx):
    a_attrs = _attrs(node)
    b = c.const(node.input[1])
    bias = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if node.op_type == "Gemm":
        if a_attrs.get("transA", 0) or a_attrs.get("alpha", 1.0) != 1.0 or a_attrs.get("beta", 1.0) != 1.0:
            raise ConversionError(f"{ctx}: Gemm with transA/alpha/beta is not supported")
        if b is not None and not a_attrs.get("transB", 0):
            b = b.T
        elif b is not None:
            b = b  # already [N, K]
    else:
        b = b.T if b is not None and b.ndim == 2 else None
    if node.input[0] in c.signs:  # Gemm / MatMul(Sign(x), +-alpha): a binary layer
        from .passes.binarize import lower_binary_fc
        return lower_binary_fc(c, node, ctx, c.signs[node.input[0]])
    if len(c.shape(node.input[0])) < 2 or (b is None and len(c.shape(node.input[1])) < 2):
        raise ConversionError(f"{ctx}: MatMul with 1-D operands is not supported")
    x = c.logical_input(node.input[0])
    y = c.output(node.output[0], False)
    if b is not None:  # constant weights: FULLY_CONNECTED with [N, K]
        w = c.g.add_constant(f"{y}/weights", np.ascontiguousarray(b).astype(np.float32)).name
        bt = c.g.add_constant(f"{y}/bias", bias.astype(np.float32)).name if bias is not None else ""
        _node(c, "FULLY_CONNECTED", [x, w, bt], [y], {}, node.name)
        return
    if node.op_type == "Gemm":
        raise ConversionError(f"{ctx}: Gemm with non-constant B is not supported")
    _node(c, "BATCH_MATMUL", [x, c.logical_input(node.input[1])], [y], {}, node.name)


@handles("Identity", "Dropout")
def _identity(c, node, ctx):
    if node.op_type == "Dropout":
        training = c.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if (len(node.input) > 2 and node.input[2] and (training is None or bool(np.asarray(training))))\
                or (len(node.output) > 1 and node.output[1]):
            raise ConversionError(f"{ctx}: Dropout in training mode (or with a mask output) is not supported")
    c.names[node.output[0]] = c.graph_name(node.input[0])


def _match_gelu(model):
    """Rewrite x * 0.5 * (1 + erf(x / sqrt(2))) (any multiplication order) into one Gelu
    node; returns the number rewritten."""
    from onnx import helper, numpy_helper
    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    producer = {o: n for n in model.graph.node for o in n.output}
    users = {}
    for n in model.graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)

    def scalar(name, value, tol=1e-3):
        v = consts.get(name)
        return v is not None and v.size == 1 and abs(float(v.reshape(-1)[0]) - value) < tol

    remove, add, count = set(), [], 0
    for erf in [n for n in model.graph.node if n.op_type == "Erf"]:
        div = producer.get(erf.input[0])
        if div is None or not ((div.op_type == "Div" and scalar(div.input[1], 2 ** 0.5)) or
                               (div.op_type == "Mul" and scalar(div.input[1], 2 ** -0.5))):
            continue
        x = div.input[0]
        add1 = users.get(erf.output[0], [None])[0]
        if add1 is None or add1.op_type != "Add" or not (scalar(add1.input[1], 1.0) or scalar(add1.input[0], 1.0)):
            continue
        m1 = users.get(add1.output[0], [None])[0]
        if m1 is None or m1.op_type != "Mul":
            continue
        other = m1.input[0] if m1.input[1] == add1.output[0] else m1.input[1]
        if other == x:              # x * (1 + erf) then * 0.5
            m2 = users.get(m1.output[0], [None])[0]
            if m2 is None or m2.op_type != "Mul" or not any(scalar(i, 0.5) for i in m2.input):
                continue
            chain, out = [div, erf, add1, m1, m2], m2.output[0]
        else:                       # (x * 0.5) * (1 + erf)
            half = producer.get(other)
            if half is None or half.op_type != "Mul" or x not in half.input or not any(scalar(i, 0.5) for i in half.input):
                continue
            chain, out = [div, erf, add1, m1, half], m1.output[0]
        if any(len(users.get(n.output[0], [])) != 1 for n in chain if n.output[0] != out):
            continue
        remove.update(id(n) for n in chain)
        add.append((chain[-1] if chain[-1].output[0] == out else m1, helper.make_node("Gelu", [x], [out],
                                                                                   name=f"{erf.name}/gelu")))
        count += 1
    if count:
        nodes = []
        anchors = {id(a): g for a, g in add}
        for n in model.graph.node:
            if id(n) in anchors:
                nodes.append(anchors[id(n)])
            elif id(n) not in remove:
                nodes.append(n)
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return count


def _prepare(data: bytes, input_shape: dict | None, name: str):
    onnx = _onnx()
    try:
        model = onnx.load_from_string(data)
    except Exception as e:
        raise ConversionError(f"{name}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 11:
        from onnx import version_converter
        model = version_converter.convert_version(model, 13)
    inits = {i.name for i in model.graph.initializer}
    fixed = dict(input_shape or {})
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = inp.type.tensor_type.shape.dim
        given = fixed.pop(inp.name, None)
        if given is not None:
            if len(given) != len(dims) or any(d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != g
                                              for d, g in zip(dims, given)):
                raise ConversionError(f"{name}: input {inp.name!r} has shape "
                                      f"{[d.dim_value or d.dim_param for d in dims]}; input_shape gave {tuple(given)}")
            for d, g in zip(dims, given):
                d.ClearField("dim_param")
                d.dim_value = int(g)
        elif any(not d.HasField("dim_value") or d.dim_value <= 0 for d in dims):
            raise ConversionError(f"{name}: input {inp.name!r} has dynamic shape "
                                  f"{[d.dim_value or d.dim_param or '?' for d in dims]}; fix it with "
                                  f"input_shape={{{inp.name!r}: (...)}} / --input-shape {inp.name}:...")
    if fixed:
        raise ConversionError(f"{name}: input_shape names unknown input(s) {sorted(fixed)}")
    if not any(i.name not in inits for i in model.graph.input):
        raise ConversionError(f"{name}: the model has no inputs (its outputs are constants)")
    del model.graph.value_info[:]
    model = _fold_to_static(model, name)
    _match_gelu(model)  # after inference: the fused node's output keeps the inferred shape
    return model


def _fold_to_static(model, name):
    """Alternate ONNX shape inference with folding of constant subgraphs (Shape -> ... ->
    Reshape), turning folded outputs into initializers, until every shape is known."""
    onnx = _onnx()
    from onnx import numpy_helper
    for _ in range(16):
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        c = _Converter(model, name)
        folded = []
        for n in model.graph.node:
            try:
                if _fold(c, n):
                    folded.append(n)
            except ConversionError:
                continue
        if not folded:
            return model
        keep = [n for n in model.graph.node if n not in folded]
        outs = {o for n in folded for o in n.output}
        del model.graph.node[:]
        model.graph.node.extend(keep)
        existing = {i.name for i in model.graph.initializer}
        for o in outs:
            if o not in existing:
                model.graph.initializer.append(numpy_helper.from_array(np.asarray(c.consts[o]), o))
        del model.graph.value_info[:]
    return model


def load_onnx(model, input_shape: dict | None = None, name: str | None = None) -> Graph:
    """Parse an .onnx (path or bytes) into a Graph (not yet optimized)."""
    from pathlib import Path
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, name = bytes(model), name or "model.onnx"
    else:
        data, name = Path(model).read_bytes(), name or Path(model).name
    m = _prepare(data, input_shape, name)
    c = _Converter(m, name)
    unsupported = {}
    for n in m.graph.node:
        if n.op_type not in HANDLERS and n.op_type not in FOLDABLE:
            unsupported.setdefault(n.op_type, []).append(n.name or n.output[0])
    if unsupported:
        raise unsupported_ops_error(name, unsupported)
    inits = {i.name for i in m.graph.initializer}
    for inp in m.graph.input:
        if inp.name in inits:
            continue
        t = c.g.add_tensor(c.g.unique_name(inp.name), c.shape(inp.name), c.dtype(inp.name))
        c.names[inp.name] = t.name
        c.g.inputs.append(t.name)
    try:
        for n in m.graph.node:
            ctx = f"model {name!r}, node {n.name or n.output[0]!r} ({n.op_type})"
            if _fold(c, n):
                continue
            if n.op_type not in HANDLERS:
                raise ConversionError(f"{ctx}: {n.op_type} on non-constant inputs is not supported")
            HANDLERS[n.op_type](c, n, ctx)
    except ConversionError:
        raise
    except Exception as e:
        raise ConversionError(f"{ctx}: {type(e).__name__}: {e}") from e
    for out in m.graph.output:
        g = c.logical_input(out.name) if out.name in c.names else c.graph_name(out.name)
        c.g.outputs.append(g)
    c.g.metadata.update({"source": name, "source_format": "onnx", "producer": "edgec onnx frontend",
                         "source_sha256": hashlib.sha256(data).hexdigest(), "layout": "NCHW at the interface"})
    c.g.prune()
    return c.g


def check_onnx(model) -> list:
    from pathlib import Path
    data = bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    onnx = _onnx()
    m = onnx.load_from_string(data)
    rows = {}
    for n in m.graph.node:
        r = rows.setdefault(n.op_type, {"op": n.op_type, "count": 0,
                                        "supported": n.op_type in HANDLERS or n.op_type in FOLDABLE,
                                        "edgec_op": None, "note": ""})
        r["count"] += 1
        if n.op_type in FOLDABLE and n.op_type not in HANDLERS:
            r["note"] = "folded at conversion (constant inputs only)"
    return sorted(rows.values(), key=lambda r: (not r["supported"], -r["count"]))
