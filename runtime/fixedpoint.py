"""TFLite's integer arithmetic primitives in numpy (gemmlowp / tensorflow/lite/kernels/
internal/common.h), vectorized and exact. The int8 reference ops, the converter's
requantization parameters and its int8 lookup tables are all built on these, so every
target computes the same integers as TFLite's reference kernels (double rounding, the
TFLite default: TFLITE_SINGLE_ROUNDING off).
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def saturating_rounding_doubling_high_mul(a, b):
    """(a * b * 2 + 2^31 rounding) >> 32, saturating the single overflow case."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # C++ integer division truncates toward zero
    q = ab + nudge
    res = np.where(q >= 0, q >> 31, -((-q) >> 31))
    return np.where(overflow, INT32_MAX, res).astype(np.int64)


def rounding_divide_by_pot(x, exponent):
    """x / 2^exponent rounded half away from zero (gemmlowp RoundingDivideByPOT)."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier (double rounding)."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.where(shift > 0, shift, 0)
    right = np.where(shift > 0, 0, -shift)
    x = np.asarray(x, dtype=np.int64) * (np.int64(1) << left)
    # the C++ multiplies in int32; inputs here never exceed that (checked by callers)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), right)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier),
                                  -np.asarray(shift, dtype=np.int64))


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(real: float) -> tuple:
    """(multiplier, shift) with real ~= multiplier * 2^(shift - 31), multiplier in
    [2^30, 2^31) (TFLite QuantizeMultiplier, computed in double)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"requantization multiplier {real} is too large")
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple:
    if not 0.0 < real < 1.0:
        raise ValueError(f"multiplier {real} must be in (0, 1)")
    m, shift = quantize_multiplier(real)
    return m, shift
