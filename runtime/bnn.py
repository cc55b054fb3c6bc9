"""Binary (1-bit) weights and activations (format.h, BINARY_CONV2D): the `_ref` pack and
unpack of sign bits, in plain numpy.

Weights [OC, KH, KW, C] of +-1 (any sign pattern; the magnitude goes to the per-channel
scale) are stored as uint8 [OC, KH, KW, 8 * ceil(C / 64)]: bit b of byte i is 1 when
channel 8i + b is negative; bits past C are 0. Activations binarize as ONNX Sign: +1, -1,
and 0 for 0 (and NaN).
"""
from __future__ import annotations

import numpy as np


def sign_bytes(c: int) -> int:
    """Bytes per tap for c channels: whole 64-bit words."""
    return 8 * ((int(c) + 63) // 64)


def pack_sign_bits_ref(w: np.ndarray) -> np.ndarray:
    """[..., C] weights -> uint8 [..., sign_bytes(C)]; negative -> bit 1 (zero counts as +1)."""
    w = np.asarray(w)
    c = w.shape[-1]
    neg = np.zeros(w.shape[:-1] + (sign_bytes(c) * 8,), np.uint8)
    neg[..., :c] = w < 0
    return np.packbits(neg, axis=-1, bitorder="little")


def unpack_sign_bits_ref(bits: np.ndarray, c: int) -> np.ndarray:
    """uint8 [..., CB] -> int8 [..., c] of +-1."""
    neg = np.unpackbits(np.asarray(bits, np.uint8), axis=-1, bitorder="little")[..., :c]
    return (1 - 2 * neg.astype(np.int8)).astype(np.int8)


def binarize_ref(x: np.ndarray) -> np.ndarray:
    """ONNX Sign with NaN -> 0: int8 -1 / 0 / +1."""
    x = np.asarray(x, np.float32)
    return (x > 0).astype(np.int8) - (x < 0).astype(np.int8)
