"""TFLite frontend: .tflite (flatbuffer, parsed with the `tflite` package) -> Graph.

Float, fp16-weight (DEQUANTIZE of constants), sparse-weight (DENSIFY) and int8 models.
Each TFLite op maps to one edgec op through a handler in HANDLERS; shape-only
subgraphs (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, as Keras emits) are evaluated here
because every shape is static after conversion.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..runtime import fixedpoint
from ..runtime import format as fmt
from .graph import ConversionError, Graph, handler_registry, unsupported_ops_error
from .quantize import tables

TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_,
         7: np.int16, 9: np.int8}
# fused activation -> float clamp
FUSED = {0: (-np.inf, np.inf), 1: (0.0, np.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}
UNARY = {"LOGISTIC": "sigmoid", "TANH": "tanh", "HARD_SWISH": "hard_swish", "EXP": "exp", "LOG": "log",
         "SQRT": "sqrt", "RSQRT": "rsqrt", "ABS": "abs", "NEG": "neg", "FLOOR": "floor", "CEIL": "ceil"}
BINARY = {"ADD": "ADD", "SUB": "SUB", "MUL": "MUL", "DIV": "DIV", "MAXIMUM": "MAXIMUM",
          "MINIMUM": "MINIMUM", "POW": "POW"}
MAX_ELEMENTS = 1 << 30   # a tensor larger than this is a corrupted file, not a model
REDUCE = {"MEAN": "mean", "SUM": "sum", "REDUCE_MAX": "max", "REDUCE_MIN": "min"}
MAX_LISTED = 10  # node names shown per unsupported op type


def _tflite():
    try:
        import tflite
    except ImportError:
        raise ConversionError("reading .tflite models needs the `tflite` package: "
                              "pip install 'edgec[convert]'") from None
    return tflite


def _op_names() -> dict:
    from tflite.BuiltinOperator import BuiltinOperator
    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


class _Reader:
    """Flatbuffer access: tensors, constants, ops and their options."""

    def __init__(self, data: bytes, name: str):
        tfl = _tflite()
        self.tfl = tfl
        self.name = name
        try:
            self.model = tfl.Model.GetRootAsModel(data, 0)
            self.sg = self.model.Subgraphs(0) if self.model.SubgraphsLength() else None
        except Exception as e:  # flatbuffers raises assorted errors on garbage
            raise ConversionError(f"{name}: not a readable TFLite flatbuffer ({type(e).__name__}: {e})") from None
        if self.sg is None:
            raise ConversionError(f"{name}: the TFLite model has no subgraph")
        self.names = _op_names()

    def op_type(self, op) -> str:
        oc = self.model.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        if code == 32:  # CUSTOM
            return f"CUSTOM:{oc.CustomCode().decode(errors='replace')}"
        return self.names.get(code, f"UNKNOWN_{code}")

    def ops(self):
        for i in range(self.sg.OperatorsLength()):
            op = self.sg.Operators(i)
            yield i, op, self.op_type(op)

    def tensor(self, i):
        return self.sg.Tensors(i)

    def tensor_name(self, i) -> str:
        return self.tensor(i).Name().decode("utf-8", "replace")

    def dtype(self, i):
        t = self.tensor(i).Type()
        if t not in TYPES:
            raise ConversionError(f"{self.name}: tensor {self.tensor_name(i)!r} has unsupported type {t}")
        return np.dtype(TYPES[t])

    def shape(self, i) -> tuple:
        t = self.tensor(i)
        return tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def signature(self, i) -> tuple:
        t = self.tensor(i)
        return tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else self.shape(i)

    def constant(self, i):
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        raw = buf.DataAsNumpy().tobytes()
        flat = np.frombuffer(raw, dtype=self.dtype(i).newbyteorder("<")).copy()
        return flat if t.Sparsity() is not None else flat.reshape(self.shape(i))  # sparse: values only

    def quantization(self, i):
        """(scale, zero_point, channel_scales or None, axis)"""
        q = self.tensor(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            return 0.0, 0, None, 0
        scales = q.ScaleAsNumpy().astype(np.float32)
        zps = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(len(scales), np.int64)
        if len(scales) == 1:
            return float(scales[0]), int(zps[0]), None, 0
        return float(scales[0]), int(zps[0]), scales, int(q.QuantizedDimension())

    def options(self, op, cls_name: str):
        table = op.BuiltinOptions()
        cls = getattr(self.tfl, cls_name)()
        if table is not None:
            cls.Init(table.Bytes, table.Pos)
        return cls


# -- padding as TFLite computes it ---------------------------------------------------------

def same_pads(in_size, stride, k, dilation) -> tuple:
    """(before, after) padding of one SAME axis, as TFLite's ComputePaddingHeightWidth:
    out = ceil(in / stride), total = max((out-1)*stride + (k-1)*dilation + 1 - in, 0),
    before = total // 2 (the odd pixel goes after)."""
    out = (in_size + stride - 1) // stride
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - in_size, 0)
    return total // 2, total - total // 2


def _pads(padding: int, x_shape, strides, kernel, dilations) -> dict:
    """Explicit pads for TFLite's Padding enum (0 SAME, 1 VALID) on an NHWC input. The
    output size follows from them (OPS.md); check_output_shape compares it with the model."""
    if padding == 1:
        return {"pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0}
    top, bottom = same_pads(x_shape[1], strides[0], kernel[0], dilations[0])
    left, right = same_pads(x_shape[2], strides[1], kernel[1], dilations[1])
    return {"pad_top": top, "pad_bottom": bottom, "pad_left": left, "pad_right": right}


def _act(code: int, ctx) -> dict:
    if code not in FUSED:
        raise ConversionError(f"{ctx}: fused activation {code} is not supported")
    lo, hi = FUSED[code]
    return {"act_min": lo, "act_max": hi}


# -- the converter --------------------------------------------------------------------------

class _Converter:
    def __init__(self, reader: _Reader, input_shape: dict | None):
        self.r = reader
        self.g = Graph(name=reader.name)
        self.names = {}            # tflite tensor index -> graph tensor name
        self.input_shape = dict(input_shape or {})
        self.consts = {}           # tflite tensor index -> np array (constants, folded values)
        self.dynamic = None        # the value given to dynamic (-1) dims, e.g. the batch size

    # tensors ----------------------------------------------------------------------------
    def name_of(self, i: int) -> str:
        if i in self.names:
            return self.names[i]
        raw = self.r.tensor_name(i) or f"t{i}"
        name = self.g.unique_name(raw)
        self.names[i] = name
        return name

    def value(self, i: int):
        """The constant value of tensor i (model constant or folded), else None."""
        if i < 0:
            return None
        if i not in self.consts:
            self.consts[i] = self.r.constant(i)
        return self.consts[i]

    def ensure_tensor(self, i: int) -> str:
        """Graph name for tensor i, creating it (constant or activation) on first use."""
        name = self.name_of(i)
        if name in self.g.tensors:
            return name
        shape = self.static_shape(i)
        if int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS or any(d < 0 for d in shape):
            raise ConversionError(f"{self.r.name}: tensor {name!r} has implausible shape {shape}")
        scale, zp, ch, axis = self.r.quantization(i)
        v = self.value(i)
        if v is not None:
            if v.dtype == np.float16:
                v = v.astype(np.float32)
            t = self.g.add_tensor(name, v.shape, v.dtype, v, scale, zp)
        else:
            t = self.g.add_tensor(name, self.static_shape(i), self.r.dtype(i), None, scale, zp)
        t.channel_scales, t.quant_axis = ch, axis
        return name

    def static_shape(self, i: int) -> tuple:
        """Tensor i's shape with dynamic (-1) dims set to the value fixed on the inputs."""
        sig = self.r.signature(i)
        if self.dynamic is None or not any(d < 0 for d in sig):
            return self.r.shape(i)
        return tuple(self.dynamic if d < 0 else d for d in sig)

    def input(self, op, k: int) -> str:
        i = op.Inputs(k) if k < op.InputsLength() else -1
        return "" if i < 0 else self.ensure_tensor(i)

    def output(self, op, k: int = 0) -> str:
        return self.ensure_tensor(op.Outputs(k))

    def shape(self, i: int) -> tuple:
        return self.g.tensors[self.ensure_tensor(i)].shape

    def node(self, op_name, ins, outs, params=None, name=None):
        return self.g.add_node(op_name, ins, outs, params or {}, name or outs[0])

    def fold(self, op, value):
        """Record output 0 of `op` as a constant computed here."""
        out = op.Outputs(0)
        value = np.asarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        self.consts[out] = value
        t = self.g.tensors.get(self.names.get(out, ""))
        if t is not None:  # already created as an activation: it becomes the constant
            t.data = np.ascontiguousarray(value, dtype=t.dtype).reshape(t.shape)
        return value

    # graph ------------------------------------------------------------------------------
    def run(self) -> Graph:
        self.check_supported()
        for k in range(self.r.sg.InputsLength()):
            self.bind_input(self.r.sg.Inputs(k))
        if self.input_shape:
            r = self.r
            raise ConversionError(f"{r.name}: --input-shape names unknown input(s) {sorted(self.input_shape)}; "
                                  f"inputs are {[r.tensor_name(r.sg.Inputs(k)) for k in range(r.sg.InputsLength())]}")
        for _, op, kind in self.r.ops():
            self.convert_op(op, kind)
        for k in range(self.r.sg.OutputsLength()):
            i = self.r.sg.Outputs(k)
            self.ensure_tensor(i)
            self.g.outputs.append(self.name_of(i))
        self.g.metadata.update({
            "source": self.r.name, "source_format": "tflite", "producer": "edgec tflite frontend",
            "source_inputs": [self.describe_io(n) for n in self.g.inputs],
            "source_outputs": [self.describe_io(n) for n in self.g.outputs],
        })
        return self.g

    def check_supported(self):
        """One error for the whole model: every unsupported op type and its nodes."""
        unsupported = {}
        for _, op, kind in self.r.ops():
            if kind not in HANDLERS:
                unsupported.setdefault(kind, []).append(self.r.tensor_name(op.Outputs(0)))
        if unsupported:
            raise unsupported_ops_error(self.r.name, unsupported, MAX_LISTED)

    def bind_input(self, i: int):
        """Graph input for tensor i, its dynamic (-1) dims fixed by input_shape or, as
        LiteRT does, to the model's default shape (batch 1)."""
        r = self.r
        raw = r.tensor_name(i)
        shape, sig = r.shape(i), r.signature(i)
        if raw in self.input_shape:
            fixed = tuple(int(d) for d in self.input_shape.pop(raw))
            clash = any(s > 0 and s != f for s, f in zip(sig, fixed))
            if len(fixed) != len(shape) or clash or min(fixed, default=1) < 1:
                raise ConversionError(f"{r.name}: input {raw!r} has shape {sig}; --input-shape gave {fixed}")
            values = {f for s, f in zip(sig, fixed) if s < 0}
            if len(values | ({self.dynamic} if self.dynamic else set())) > 1:
                raise ConversionError(f"{r.name}: dynamic dimensions fixed to different values {sorted(values)}; "
                                      "edgec can give a TFLite model's dynamic dims one value (e.g. the batch)")
            self.dynamic = values.pop() if values else self.dynamic
            shape = fixed
        elif any(d <= 0 for d in shape):
            raise ConversionError(f"{r.name}: input {raw!r} has dynamic shape {sig}; "
                                  f"fix it with input_shape={{{raw!r}: (...)}} / --input-shape {raw}:...")
        elif any(d < 0 for d in sig):
            self.dynamic = self.dynamic or next(f for s_, f in zip(sig, shape) if s_ < 0)
            self.g.metadata.setdefault("notes", []).append(
                f"input {raw!r}: dynamic shape {sig} fixed to {shape} (override with input_shape)")
        name = self.name_of(i)
        scale, zp, _, _ = r.quantization(i)
        self.g.add_tensor(name, shape, r.dtype(i), None, scale, zp)
        self.g.inputs.append(name)

    def convert_op(self, op, kind: str):
        ctx = f"model {self.r.name!r}, node {self.r.tensor_name(op.Outputs(0))!r} ({kind})"
        first = len(self.g.nodes)
        try:
            HANDLERS[kind](self, op, ctx)
        except ConversionError:
            raise
        except (ValueError, IndexError, KeyError, TypeError) as e:
            raise ConversionError(f"{ctx}: {type(e).__name__}: {e}") from None
        for node in self.g.nodes[first:]:
            check_output_shape(self.g, node, ctx)

    def describe_io(self, name: str) -> dict:
        t = self.g.tensors[name]
        return {"name": name, "shape": list(t.shape), "dtype": t.dtype.name}


HANDLERS, handles = handler_registry()


@handles("CONV_2D")
def _conv(c: _Converter, op, ctx):
    o = c.r.options(op, "Conv2DOptions")
    x, w, b, y = c.input(op, 0), c.input(op, 1), c.input(op, 2), c.output(op)
    xs, ws = c.g.tensors[x].shape, c.g.tensors[w].shape
    strides, dil = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    if xs[3] % ws[3] or ws[0] % (xs[3] // ws[3]):
        raise ConversionError(f"{ctx}: input channels {xs[3]} and weights {ws} do not form conv groups")
    groups = xs[3] // ws[3]
    p = {"stride_h": strides[0], "stride_w": strides[1], "dilation_h": dil[0], "dilation_w": dil[1],
         "groups": groups, **_pads(o.Padding(), xs, strides, ws[1:3], dil),
         **_act(o.FusedActivationFunction(), ctx)}
    c.node("CONV2D", [x, w, b], [y], p)


@handles("DEPTHWISE_CONV_2D")
def _depthwise(c: _Converter, op, ctx):
    o = c.r.options(op, "DepthwiseConv2DOptions")
    x, w, b, y = c.input(op, 0), c.input(op, 1), c.input(op, 2), c.output(op)
    xs, ws = c.g.tensors[x].shape, c.g.tensors[w].shape
    strides, dil = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    if ws[3] % xs[3]:
        raise ConversionError(f"{ctx}: weights {ws} are not a depth multiple of {xs[3]} input channels")
    p = {"stride_h": strides[0], "stride_w": strides[1], "dilation_h": dil[0], "dilation_w": dil[1],
         "depth_multiplier": ws[3] // xs[3], **_pads(o.Padding(), xs, strides, ws[1:3], dil),
         **_act(o.FusedActivationFunction(), ctx)}
    c.node("DEPTHWISE_CONV2D", [x, w, b], [y], p)


@handles("FULLY_CONNECTED")
def _fc(c: _Converter, op, ctx):
    o = c.r.options(op, "FullyConnectedOptions")
    if o.WeightsFormat() != 0:
        raise ConversionError(f"{ctx}: shuffled FULLY_CONNECTED weights are not supported")
    c.node("FULLY_CONNECTED", [c.input(op, 0), c.input(op, 1), c.input(op, 2)], [c.output(op)],
           _act(o.FusedActivationFunction(), ctx))


@handles("BATCH_MATMUL")
def _bmm(c: _Converter, op, ctx):
    o = c.r.options(op, "BatchMatMulOptions")
    c.node("BATCH_MATMUL", [c.input(op, 0), c.input(op, 1)], [c.output(op)],
           {"transpose_a": int(o.AdjX()), "transpose_b": int(o.AdjY())})


_BINARY_OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}


@handles(*BINARY)
def _binary(c: _Converter, op, ctx):
    kind = c.r.op_type(op)
    a, b = c.value(op.Inputs(0)), c.value(op.Inputs(1))
    if a is not None and b is not None and a.dtype.kind == "i":  # shape arithmetic
        fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.floor_divide,
              "MAXIMUM": np.maximum, "MINIMUM": np.minimum}[kind]
        c.fold(op, fn(a, b).astype(a.dtype))
        return
    params = {}
    if kind in _BINARY_OPTIONS:
        params = _act(c.r.options(op, _BINARY_OPTIONS[kind]).FusedActivationFunction(), ctx)
    c.node(BINARY[kind], [c.input(op, 0), c.input(op, 1)], [c.output(op)], params)


@handles("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")
def _relu(c: _Converter, op, ctx):
    lo, hi = {"RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0),
              "RELU_0_TO_1": (0.0, 1.0)}[c.r.op_type(op)]
    x, y = c.input(op, 0), c.output(op)
    if c.g.tensors[x].dtype == np.int8:
        table = tables.relu_table(c.g.tensors[x], c.g.tensors[y], lo, hi)
        c.node("LOOKUP", [x, c.g.add_constant(f"{y}/table", table).name], [y])
        return
    c.node("CLAMP", [x], [y], {"min": lo, "max": hi})


@handles("PRELU")
def _prelu(c: _Converter, op, ctx):
    c.node("PRELU", [c.input(op, 0), c.input(op, 1)], [c.output(op)])


@handles("LEAKY_RELU")
def _leaky(c: _Converter, op, ctx):
    c.node("LEAKY_RELU", [c.input(op, 0)], [c.output(op)], {"alpha": c.r.options(op, "LeakyReluOptions").Alpha()})


@handles("GELU")
def _gelu(c: _Converter, op, ctx):
    c.node("GELU", [c.input(op, 0)], [c.output(op)],
           {"approximate": int(c.r.options(op, "GeluOptions").Approximate())})


@handles(*UNARY)
def _unary(c: _Converter, op, ctx):
    x, y = c.input(op, 0), c.output(op)
    kind = c.r.op_type(op)
    if c.g.tensors[x].dtype == np.int8:
        if kind not in tables.INT8_FUNCTIONS:
            raise ConversionError(f"{ctx}: int8 {kind} is not supported")
        table = tables.int8_table(kind, c.g.tensors[x], c.g.tensors[y])
        c.node("LOOKUP", [x, c.g.add_constant(f"{y}/table", table).name], [y])
        return
    c.node("UNARY", [x], [y], {"kind": fmt.UNARY_KINDS[UNARY[kind]]})


@handles("MAX_POOL_2D", "AVERAGE_POOL_2D")
def _pool(c: _Converter, op, ctx):
    o = c.r.options(op, "Pool2DOptions")
    x, y = c.input(op, 0), c.output(op)
    xs = c.g.tensors[x].shape
    strides, k = (o.StrideH(), o.StrideW()), (o.FilterHeight(), o.FilterWidth())
    p = {"filter_h": k[0], "filter_w": k[1], "stride_h": strides[0], "stride_w": strides[1],
         **_pads(o.Padding(), xs, strides, k, (1, 1)), **_act(o.FusedActivationFunction(), ctx)}
    c.node("MAX_POOL2D" if c.r.op_type(op) == "MAX_POOL_2D" else "AVG_POOL2D", [x], [y], p)


@handles(*REDUCE)
def _reduce(c: _Converter, op, ctx):
    x = c.input(op, 0)
    axes = c.value(op.Inputs(1))
    if axes is None:
        raise ConversionError(f"{ctx}: reduction axes must be constant")
    rank = len(c.g.tensors[x].shape)
    mask = 0
    for a in np.asarray(axes).ravel():
        mask |= 1 << (int(a) % rank)
    y = c.output(op)
    params = {"axes_mask": mask, "kind": fmt.REDUCE_KINDS[REDUCE[c.r.op_type(op)]]}
    if c.g.tensors[x].dtype == np.int8:
        if c.r.op_type(op) != "MEAN":
            raise ConversionError(f"{ctx}: int8 {c.r.op_type(op)} is not supported (MEAN is)")
        keep = bool(c.r.options(op, "ReducerOptions").KeepDims())
        params.update(int8_mean_params(c.g.tensors[x], c.g.tensors[y], mask, keep))
    c.node("REDUCE", [x], [y], params)


def int8_mean_params(x, y, mask: int, keep_dims: bool) -> dict:
    """TFLite's reference int8 MEAN (QuantizedMeanOrSum): requantize the zero-point
    corrected sum by input_scale / output_scale with 1/count folded into the multiplier."""
    del keep_dims  # every layout takes the same integer path
    count = int(np.prod([d for i, d in enumerate(x.shape) if mask >> i & 1]))
    m, shift = fixedpoint.quantize_multiplier(float(np.float32(x.scale)) / float(np.float32(y.scale)))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return {"q_mode": 0, "q_multiplier": (m << extra) // count, "q_shift": shift - extra}


@handles("PAD", "PADV2", "MIRROR_PAD")
def _pad(c: _Converter, op, ctx):
    kind = c.r.op_type(op)
    x = c.input(op, 0)
    pads = c.value(op.Inputs(1))
    if pads is None:
        raise ConversionError(f"{ctx}: paddings must be constant")
    value, mode = 0.0, 0
    if kind == "PADV2":
        v = c.value(op.Inputs(2))
        value = float(np.asarray(v).ravel()[0]) if v is not None else 0.0
    if kind == "MIRROR_PAD":
        if c.r.options(op, "MirrorPadOptions").Mode() != 0:
            raise ConversionError(f"{ctx}: SYMMETRIC mirror padding is not supported (REFLECT is)")
        mode = 1
    t = c.g.tensors[x]
    if t.scale and kind == "PAD":
        value = float(t.zero_point)  # quantized zero
    c.node("PAD", [x], [c.output(op)], {"pads": [int(v) for v in np.asarray(pads).ravel()],
                                         "mode": mode, "value": value})


@handles("CONCATENATION")
def _concat(c: _Converter, op, ctx):
    o = c.r.options(op, "ConcatenationOptions")
    axis = o.Axis() % len(c.static_shape(op.Outputs(0)))
    vals = [c.value(op.Inputs(k)) for k in range(op.InputsLength())]
    if all(v is not None for v in vals):  # folded before the output becomes a graph tensor
        c.fold(op, np.concatenate(vals, axis=axis))
        return
    ins = [c.input(op, k) for k in range(op.InputsLength())]
    act = _act(o.FusedActivationFunction(), ctx)
    y = c.output(op)
    if o.FusedActivationFunction() == 0:
        c.node("CONCAT", ins, [y], {"axis": axis})
        return
    tmp = c.g.unique_name(y + "/concat")
    c.g.add_tensor(tmp, c.g.tensors[y].shape, c.g.tensors[y].dtype)
    c.node("CONCAT", ins, [tmp], {"axis": axis})
    c.node("CLAMP", [tmp], [y], {"min": act["act_min"], "max": act["act_max"]}, name=y)


@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(c: _Converter, op, ctx):
    v = c.value(op.Inputs(0))
    if v is not None:
        c.fold(op, v.reshape(c.static_shape(op.Outputs(0))))
        return
    c.node("RESHAPE", [c.input(op, 0)], [c.output(op)])


@handles("TRANSPOSE")
def _transpose(c: _Converter, op, ctx):
    perm = c.value(op.Inputs(1))
    if perm is None:
        raise ConversionError(f"{ctx}: permutation must be constant")
    v = c.value(op.Inputs(0))
    if v is not None:
        c.fold(op, np.transpose(v, perm))
        return
    c.node("TRANSPOSE", [c.input(op, 0)], [c.output(op)], {"perm": [int(p) for p in perm]})


@handles("SOFTMAX")
def _softmax(c: _Converter, op, ctx):
    x = c.input(op, 0)
    c.node("SOFTMAX", [x], [c.output(op)], {"axis": len(c.g.tensors[x].shape) - 1,
                                             "beta": c.r.options(op, "SoftmaxOptions").Beta()})


@handles("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR")
def _resize(c: _Converter, op, ctx):
    bilinear = c.r.op_type(op) == "RESIZE_BILINEAR"
    o = c.r.options(op, "ResizeBilinearOptions" if bilinear else "ResizeNearestNeighborOptions")
    align, half = bool(o.AlignCorners()), bool(o.HalfPixelCenters())
    coord = fmt.RESIZE_COORDS["align_corners" if align else "half_pixel" if half else "asymmetric"]
    nearest = fmt.RESIZE_NEAREST["floor" if not (align or half) else "round_prefer_ceil"]
    c.node("RESIZE", [c.input(op, 0)], [c.output(op)], {"mode": int(bilinear), "coord": coord, "nearest": nearest})


@handles("DEPTH_TO_SPACE")
def _d2s(c: _Converter, op, ctx):
    c.node("DEPTH_TO_SPACE", [c.input(op, 0)], [c.output(op)],
           {"block_size": c.r.options(op, "DepthToSpaceOptions").BlockSize(), "mode": 0})


@handles("DEQUANTIZE")
def _dequantize(c: _Converter, op, ctx):
    i = op.Inputs(0)
    v = c.value(i)
    if v is not None:  # fp16 / int8 weights stored compactly: fold to float32
        if v.dtype == np.float16:
            c.fold(op, v.astype(np.float32))
        else:
            scale, zp, ch, axis = c.r.quantization(i)
            if ch is not None:
                shape = [1] * v.ndim
                shape[axis] = -1
                c.fold(op, ((v.astype(np.float64) - zp) * ch.reshape(shape)).astype(np.float32))
            else:
                c.fold(op, ((v.astype(np.float64) - zp) * scale).astype(np.float32))
        return
    c.node("DEQUANTIZE", [c.input(op, 0)], [c.output(op)])


@handles("QUANTIZE")
def _quantize(c: _Converter, op, ctx):
    x, y = c.input(op, 0), c.output(op)
    if c.g.tensors[x].dtype == np.int8 and c.g.tensors[y].dtype == np.int8:  # requantize
        table = tables.requantize_table(c.g.tensors[x], c.g.tensors[y])
        c.node("LOOKUP", [x, c.g.add_constant(f"{y}/table", table).name], [y])
        return
    c.node("QUANTIZE", [x], [y])


@handles("DENSIFY")
def _densify(c: _Converter, op, ctx):
    i = op.Inputs(0)
    v = c.value(i)
    sparsity = c.r.tensor(i).Sparsity()
    if v is None or sparsity is None:
        raise ConversionError(f"{ctx}: DENSIFY needs a constant sparse tensor")
    c.fold(op, densify(c.r.shape(op.Outputs(0)), v.ravel(), *sparsity_levels(sparsity)))


# shape-only ops Keras emits around RESHAPE; shapes are static, so they fold here
@handles("SHAPE")
def _shape(c: _Converter, op, ctx):
    c.fold(op, np.array(c.shape(op.Inputs(0)), dtype=c.r.dtype(op.Outputs(0))))


@handles("PACK")
def _pack(c: _Converter, op, ctx):
    vals = [c.value(op.Inputs(k)) for k in range(op.InputsLength())]
    if any(v is None for v in vals):
        raise ConversionError(f"{ctx}: PACK of non-constant tensors is not supported")
    c.fold(op, np.stack(vals, axis=c.r.options(op, "PackOptions").Axis()))


@handles("STRIDED_SLICE")
def _strided_slice(c: _Converter, op, ctx):
    v = c.value(op.Inputs(0))
    begin, end, strides = (c.value(op.Inputs(k)) for k in (1, 2, 3))
    if v is None or begin is None or end is None or strides is None:
        raise ConversionError(f"{ctx}: STRIDED_SLICE of non-constant tensors is not supported")
    o = c.r.options(op, "StridedSliceOptions")
    if o.EllipsisMask() or o.NewAxisMask():
        raise ConversionError(f"{ctx}: ellipsis/new-axis masks are not supported")
    sl = []
    for d in range(len(begin)):
        b = None if o.BeginMask() >> d & 1 else int(begin[d])
        e = None if o.EndMask() >> d & 1 else int(end[d])
        if o.ShrinkAxisMask() >> d & 1:
            sl.append(int(begin[d]))
        else:
            sl.append(slice(b, e, int(strides[d])))
    c.fold(op, np.asarray(v[tuple(sl)]))


@handles("CAST")
def _cast(c: _Converter, op, ctx):
    v = c.value(op.Inputs(0))
    if v is None:
        raise ConversionError(f"{ctx}: CAST of activations is not supported")
    c.fold(op, v.astype(c.r.dtype(op.Outputs(0))))


# -- output shapes: the model's records must agree with what each edgec op computes ---------

def _window_out(size, k, stride, dilation, before, after):
    return (size + before + after - dilation * (k - 1) - 1) // stride + 1


def _conv_shape(x, w, p, channels):
    oh = _window_out(x[1], w[1], p["stride_h"], p["dilation_h"], p["pad_top"], p["pad_bottom"])
    ow = _window_out(x[2], w[2], p["stride_w"], p["dilation_w"], p["pad_left"], p["pad_right"])
    return (x[0], oh, ow, channels)


def _pool_shape(x, p):
    return _conv_shape(x, (None, p["filter_h"], p["filter_w"]), {**p, "dilation_h": 1, "dilation_w": 1}, x[3])


def _d2s_shape(x, p):
    b = p["block_size"]
    return (x[0], x[1] * b, x[2] * b, x[3] // (b * b))


def _bmm_shape(a, b, p):
    if p["transpose_a"]:
        a = a[:-2] + (a[-1], a[-2])
    if p["transpose_b"]:
        b = b[:-2] + (b[-1], b[-2])
    return tuple(np.broadcast_shapes(a[:-2], b[:-2])) + (a[-2], b[-1])


def _concat_shape(shapes, p):
    out = list(shapes[0])
    out[p["axis"]] = sum(s[p["axis"]] for s in shapes)
    return tuple(out)


# op -> (shapes of the inputs, params) -> expected output shape; "size" ops only keep the
# element count (their output shape is the record's by definition)
_SHAPES = {
    "CONV2D": lambda s, p: _conv_shape(s[0], s[1], p, s[1][0]),
    "DEPTHWISE_CONV2D": lambda s, p: _conv_shape(s[0], s[1], p, s[1][3]),
    "MAX_POOL2D": lambda s, p: _pool_shape(s[0], p),
    "AVG_POOL2D": lambda s, p: _pool_shape(s[0], p),
    "BATCH_MATMUL": lambda s, p: _bmm_shape(s[0], s[1], p),
    "PAD": lambda s, p: tuple(d + p["pads"][2 * i] + p["pads"][2 * i + 1] for i, d in enumerate(s[0])),
    "CONCAT": _concat_shape,
    "TRANSPOSE": lambda s, p: tuple(s[0][i] for i in p["perm"][:len(s[0])]),
    "DEPTH_TO_SPACE": lambda s, p: _d2s_shape(s[0], p),
    **{op: lambda s, p: tuple(np.broadcast_shapes(s[0], s[1]))
       for op in ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "POW", "PRELU")},
    **{op: lambda s, p: s[0] for op in ("CLAMP", "LEAKY_RELU", "GELU", "UNARY", "SOFTMAX", "QUANTIZE",
                                         "DEQUANTIZE", "LOOKUP")},
}
_SIZES = {
    "RESHAPE": lambda s, p: int(np.prod(s[0])),
    "FULLY_CONNECTED": lambda s, p: int(np.prod(s[0])) // s[1][1] * s[1][0],
    "REDUCE": lambda s, p: int(np.prod([d for i, d in enumerate(s[0]) if not p["axes_mask"] >> i & 1])),
}


def check_output_shape(g: Graph, node, ctx: str):
    """ConversionError when the model's output record disagrees with the op's semantics
    (OPS.md); catches frontend mapping mistakes before they become wrong numbers."""
    shapes = [g.tensors[i].shape if i else None for i in node.inputs]
    got = g.tensors[node.outputs[0]].shape
    if node.op in _SHAPES:
        want = tuple(int(d) for d in _SHAPES[node.op](shapes, node.params))
        ok = got == want
    elif node.op in _SIZES:
        want = f"{_SIZES[node.op](shapes, node.params)} elements"
        ok = int(np.prod(got)) == _SIZES[node.op](shapes, node.params)
    elif node.op == "RESIZE":
        want = f"(N={shapes[0][0]}, ., ., C={shapes[0][3]})"
        ok = len(got) == 4 and (got[0], got[3]) == (shapes[0][0], shapes[0][3])
    else:
        return
    if not ok:
        raise ConversionError(f"{ctx}: the model records output shape {got}, but edgec {node.op} with "
                              f"inputs {[s for s in shapes if s is not None]} gives {want}")


def sparsity_levels(sparsity) -> tuple:
    """(traversal order, block map, levels) of a flatbuffer SparsityParameters; a level
    is an int (DENSE: its size) or a (segments, indices) pair of arrays (SPARSE_CSR)."""
    order = [int(x) for x in sparsity.TraversalOrderAsNumpy()] if sparsity.TraversalOrderLength() else []
    block_map = [int(x) for x in sparsity.BlockMapAsNumpy()] if sparsity.BlockMapLength() else []
    levels = []
    for k in range(sparsity.DimMetadataLength()):
        dm = sparsity.DimMetadata(k)
        if dm.Format() == 0:
            levels.append(int(dm.DenseSize()))
        else:
            levels.append((_index_vector(dm.ArraySegments(), dm.ArraySegmentsType()).astype(np.int64),
                           _index_vector(dm.ArrayIndices(), dm.ArrayIndicesType()).astype(np.int64)))
    return order, block_map, levels


def densify(shape, values: np.ndarray, order, block_map, levels) -> np.ndarray:
    """TFLite's sparse tensor format -> dense array of `shape` (tflite's FormatConverter).

    The tensor is walked as rank + len(block_map) dims: the original dims (a blocked dim
    counted in blocks) then one dim per block (block j splits dim block_map[j]); level k
    of the walk iterates dim order[k], densely or through CSR segments/indices. Values
    are stored in walk order."""
    rank, nblock = len(shape), len(block_map)
    if sorted(order) != list(range(rank + nblock)) or len(levels) != len(order):
        raise ConversionError(f"sparse tensor: traversal order {order} does not fit rank {rank} "
                              f"with {nblock} block dim(s) and {len(levels)} dim metadata")
    block = [levels[order.index(rank + j)] for j in range(nblock)]
    if any(not isinstance(b, int) for b in block):
        raise ConversionError("sparse tensor: block dimensions must be DENSE")
    coords = np.zeros((1, rank + nblock), np.int64)
    pos = np.zeros(1, np.int64)
    for dim, level in zip(order, levels):
        if isinstance(level, int):  # every index 0..size-1 under every parent
            coords = np.repeat(coords, level, axis=0)
            coords[:, dim] = np.tile(np.arange(level), len(pos))
            pos = (pos[:, None] * level + np.arange(level)).ravel()
        else:                       # parent p owns indices[segments[p]:segments[p+1]]
            segments, indices = level
            if len(pos) and pos.max() + 1 >= len(segments):
                raise ConversionError("sparse tensor: CSR segments are shorter than the level above")
            starts, counts = segments[pos], segments[pos + 1] - segments[pos]
            if (counts < 0).any() or (len(starts) and (starts + counts).max() > len(indices)):
                raise ConversionError("sparse tensor: CSR segments point outside the index array")
            parent = np.repeat(np.arange(len(pos)), counts)
            pos = np.arange(len(parent)) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts, counts)
            coords = coords[parent]
            coords[:, dim] = indices[pos]
    full = coords[:, :rank].copy()
    for j, d in enumerate(block_map):
        full[:, d] = full[:, d] * block[j] + coords[:, rank + j]
    if len(full) > len(values) or (full < 0).any() or (full >= np.asarray(shape)).any():
        raise ConversionError(f"sparse tensor: {len(full)} stored positions ({len(values)} values) "
                              f"do not fit shape {tuple(shape)}")
    out = np.zeros(shape, dtype=values.dtype)
    out[tuple(full.T)] = values[:len(full)]
    return out


def _index_vector(table, kind) -> np.ndarray:
    import tflite
    cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}.get(kind)
    if cls is None or table is None:
        raise ConversionError(f"sparse index vector of type {kind} is not supported")
    v = cls()
    v.Init(table.Bytes, table.Pos)
    return v.ValuesAsNumpy() if v.ValuesLength() else np.zeros(0, np.int64)


def _source(model) -> tuple:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "model.tflite"
    p = Path(model)
    return p.read_bytes(), p.name


def load_tflite(model, input_shape: dict | None = None, name: str | None = None) -> Graph:
    """Parse a .tflite (path or bytes) into a Graph (not yet optimized)."""
    data, default_name = _source(model)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ConversionError(f"{name or default_name}: not a TFLite model (missing TFL3 identifier)")
    reader = _Reader(data, name or default_name)
    try:
        graph = _Converter(reader, input_shape).run()
    except ConversionError:
        raise
    except Exception as e:  # a malformed flatbuffer surfaces as any of many errors
        raise ConversionError(f"{reader.name}: malformed TFLite model ({type(e).__name__}: {e})") from e
    graph.metadata["source_sha256"] = hashlib.sha256(data).hexdigest()
    graph.prune()
    return graph


def check_tflite(model) -> list:
    """Per-op-type support rows without converting: {op, count, supported, edgec_op, note}."""
    data, name = _source(model)
    reader = _Reader(data, name)
    rows = {}
    try:
        ops = [kind for _, _, kind in reader.ops()]
    except Exception as e:
        raise ConversionError(f"{name}: malformed TFLite model ({type(e).__name__}: {e})") from e
    for kind in ops:
        row = rows.setdefault(kind, {"op": kind, "count": 0, "supported": kind in HANDLERS,
                                     "edgec_op": None, "note": ""})
        row["count"] += 1
    for kind, row in rows.items():
        row["edgec_op"] = _EDGEC_OP.get(kind, kind if kind in fmt.OPS else None)
        if kind in ("DEQUANTIZE", "DENSIFY", "SHAPE", "PACK", "STRIDED_SLICE", "CAST"):
            row["note"] = "folded at conversion when its input is constant"
    return sorted(rows.values(), key=lambda r: (not r["supported"], -r["count"]))


_EDGEC_OP = {"CONV_2D": "CONV2D", "DEPTHWISE_CONV_2D": "DEPTHWISE_CONV2D", "FULLY_CONNECTED": "FULLY_CONNECTED",
             "RELU": "CLAMP", "RELU6": "CLAMP", "RELU_N1_TO_1": "CLAMP", "RELU_0_TO_1": "CLAMP",
             "MAX_POOL_2D": "MAX_POOL2D",
             "AVERAGE_POOL_2D": "AVG_POOL2D", "CONCATENATION": "CONCAT", "RESIZE_BILINEAR": "RESIZE",
             "RESIZE_NEAREST_NEIGHBOR": "RESIZE", "SQUEEZE": "RESHAPE", "EXPAND_DIMS": "RESHAPE",
             "PADV2": "PAD", "MIRROR_PAD": "PAD", **{k: "UNARY" for k in UNARY}, **{k: "REDUCE" for k in REDUCE}}
