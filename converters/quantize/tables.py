"""int8 lookup tables for element-wise functions, built exactly as TFLite's reference
kernels build theirs (LUTPopulate / PopulateLookupTable): dequantize each of the 256
inputs in float32, apply the function in float32 with the C library's float functions,
scale by 1/output_scale, round half away from zero, add the zero point, clamp. The C
runtime then needs only a 256-byte table per op (the LOOKUP op)."""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

F32 = np.float32


def _libm():
    name = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        lib = None
    fns = {}
    for f in ("expf", "tanhf"):
        fn = getattr(lib, f, None) if lib else None
        if fn is not None:
            fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
        fns[f] = fn
    return fns


_LIBM = _libm()


def _expf(v: np.float32) -> np.float32:
    fn = _LIBM["expf"]
    return F32(fn(float(v))) if fn else np.exp(F32(v))


def _tanhf(v: np.float32) -> np.float32:
    fn = _LIBM["tanhf"]
    return F32(fn(float(v))) if fn else np.tanh(F32(v))


INT8_FUNCTIONS = {
    "LOGISTIC": lambda v: F32(1.0) / (F32(1.0) + _expf(F32(-v))),
    "TANH": _tanhf,
}


def _round_half_away(v: np.float32) -> np.float32:
    return F32(np.floor(v + F32(0.5))) if v >= 0 else F32(-np.floor(-v + F32(0.5)))


def int8_table(kind: str, x, y) -> np.ndarray:
    """256 int8 outputs for inputs -128..127 (index = input + 128)."""
    fn = INT8_FUNCTIONS[kind]
    in_scale, out_inv = F32(x.scale), F32(1.0) / F32(y.scale)
    table = np.empty(256, np.int8)
    for q in range(-128, 128):
        deq = F32(in_scale * F32(q - x.zero_point))
        r = _round_half_away(F32(fn(deq) * out_inv))
        table[q + 128] = int(np.clip(int(r) + y.zero_point, -128, 127))
    return table


def _int8_table(values) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=np.int64), -128, 127).astype(np.int8)


def requantize_table(x, y) -> np.ndarray:
    """TFLite QUANTIZE int8 -> int8 (reference Requantize): MBQM(q - x_zp) + y_zp with the
    multiplier of double(x_scale) / double(y_scale)."""
    from ...runtime import fixedpoint as fxp
    m, s = fxp.quantize_multiplier(float(F32(x.scale)) / float(F32(y.scale)))
    q = np.arange(-128, 128, dtype=np.int64)
    return _int8_table(fxp.multiply_by_quantized_multiplier(q - x.zero_point, m, s) + y.zero_point)


def relu_table(x, y, lo: float, hi: float) -> np.ndarray:
    """TFLite int8 RELU / RELU6 / RELU_N1_TO_1 (QuantizedReluX): requantize by
    float(x_scale / y_scale), then clamp to the activation range in output integers."""
    from ...runtime import fixedpoint as fxp
    m, s = fxp.quantize_multiplier(float(F32(x.scale) / F32(y.scale)))
    q = np.arange(-128, 128, dtype=np.int64)
    v = fxp.multiply_by_quantized_multiplier(q - x.zero_point, m, s) + y.zero_point
    qmin = max(-128, y.zero_point + int(_round_half_away(F32(lo) / F32(y.scale))))
    qmax = 127 if not np.isfinite(hi) else min(127, y.zero_point + int(_round_half_away(F32(hi) / F32(y.scale))))
    return _int8_table(np.clip(v, qmin, qmax))
