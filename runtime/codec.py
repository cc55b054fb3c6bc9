"""Bottleneck codec for split computing: what the device sends for each cut tensor.

Modes (codec.json, per tensor):
  "lossless"  the tensor's own bytes (fp32 or int8), entropy-coded;
  "q8"/"q6"/"q4"/"q2"  per-channel affine quantization (last axis, NHWC channels) to that
      many bits with this request's min/max per channel, bit-packed, entropy-coded.
Entropy coder: zstandard when installed (level 3), else zlib (level 6, stdlib); the blob
says which, so a device without zstandard still talks to any server. Device side needs
only numpy.

Blob layout: magic b"EDC1", u8 coder (0 raw, 1 zlib, 2 zstd), u8 bits (0 = lossless),
u16 reserved, u32 payload bytes, then the coded payload; for quantized modes the payload
starts with float32 lo[C] and hi[C]."""
from __future__ import annotations

import struct
import zlib

import numpy as np

MAGIC = b"EDC1"
CODERS = {0: "raw", 1: "zlib", 2: "zstd"}
MODES = {"lossless": 0, "q8": 8, "q6": 6, "q4": 4, "q2": 2}


class CodecError(ValueError):
    pass


def _zstd():
    try:
        import zstandard
        return zstandard
    except ImportError:
        return None


def _compress(data: bytes, coder: str) -> tuple:
    if coder == "zstd" and _zstd() is not None:
        return 2, _zstd().ZstdCompressor(level=3).compress(data)
    if coder in ("zstd", "zlib"):
        return 1, zlib.compress(data, 6)
    return 0, data


def _decompress(code: int, data: bytes, limit: int) -> bytes:
    if code == 0:
        return data
    if code == 1:
        d = zlib.decompressobj()
        out = d.decompress(data, limit + 1)
    elif code == 2:
        z = _zstd()
        if z is None:
            raise CodecError("blob is zstd-coded and zstandard is not installed (pip install zstandard)")
        out = z.ZstdDecompressor().decompressobj().decompress(data)
    else:
        raise CodecError(f"unknown entropy coder {code}")
    if len(out) > limit:
        raise CodecError(f"payload decodes to more than the {limit} bytes expected")
    return out


def _pack_bits(q: np.ndarray, bits: int) -> bytes:
    if bits == 8:
        return q.astype(np.uint8).tobytes()
    per = 8 // bits if bits in (2, 4) else None
    if per:
        flat = q.astype(np.uint8).ravel()
        flat = np.pad(flat, (0, -len(flat) % per))
        out = np.zeros(len(flat) // per, np.uint8)
        for i in range(per):
            out |= flat[i::per] << (i * bits)
        return out.tobytes()
    bitsarr = np.unpackbits(q.astype(np.uint8).ravel()[:, None], axis=1, bitorder="little")[:, :bits]
    return np.packbits(bitsarr.ravel(), bitorder="little").tobytes()


def _unpack_bits(data: bytes, bits: int, count: int) -> np.ndarray:
    raw = np.frombuffer(data, np.uint8)
    if bits == 8:
        return raw[:count]
    if bits in (2, 4):
        per = 8 // bits
        out = np.empty(len(raw) * per, np.uint8)
        for i in range(per):
            out[i::per] = (raw >> (i * bits)) & ((1 << bits) - 1)
        return out[:count]
    b = np.unpackbits(raw, bitorder="little")[:count * bits].reshape(count, bits)
    return np.packbits(np.pad(b, ((0, 0), (0, 8 - bits))), axis=1, bitorder="little").ravel()


def encode(x: np.ndarray, mode: str = "lossless", coder: str = "zstd") -> bytes:
    if mode not in MODES:
        raise CodecError(f"codec mode {mode!r}: choose {', '.join(MODES)}")
    bits = MODES[mode]
    x = np.ascontiguousarray(x)
    if bits == 0:
        payload = x.tobytes()
    else:
        c = x.shape[-1]
        v = x.astype(np.float32).reshape(-1, c)
        lo, hi = v.min(axis=0), v.max(axis=0)
        step = np.where(hi > lo, (hi - lo) / ((1 << bits) - 1), 1.0).astype(np.float32)
        q = np.clip(np.rint((v - lo) / step), 0, (1 << bits) - 1)
        payload = lo.astype(np.float32).tobytes() + hi.astype(np.float32).tobytes() + _pack_bits(q, bits)
    code, body = _compress(payload, coder)
    return MAGIC + struct.pack("<BBHI", code, bits, 0, len(body)) + body


def decode(blob: bytes, shape: tuple, dtype) -> np.ndarray:
    """The inverse of encode for a tensor of this shape and dtype; CodecError on any
    malformed blob (wrong magic, sizes, coder)."""
    dtype = np.dtype(dtype)
    if len(blob) < 12 or blob[:4] != MAGIC:
        raise CodecError("not an edgec codec blob (bad magic or too short)")
    code, bits, _, size = struct.unpack_from("<BBHI", blob, 4)
    if size != len(blob) - 12:
        raise CodecError(f"blob says {size} payload bytes, has {len(blob) - 12}")
    count = int(np.prod(shape))
    if bits == 0:
        raw = _decompress(code, blob[12:], count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise CodecError(f"lossless payload is {len(raw)} bytes, expected {count * dtype.itemsize}")
        return np.frombuffer(raw, dtype).reshape(shape).copy()
    if bits not in MODES.values():
        raise CodecError(f"unsupported bit width {bits}")
    c = shape[-1]
    need = 8 * c + (count * bits + 7) // 8
    raw = _decompress(code, blob[12:], need)
    if len(raw) < need:
        raise CodecError(f"quantized payload is {len(raw)} bytes, expected {need}")
    lo = np.frombuffer(raw[:4 * c], np.float32)
    hi = np.frombuffer(raw[4 * c:8 * c], np.float32)
    q = _unpack_bits(raw[8 * c:], bits, count).reshape(-1, c).astype(np.float32)
    step = np.where(hi > lo, (hi - lo) / ((1 << bits) - 1), 1.0).astype(np.float32)
    return (lo + q * step).astype(dtype).reshape(shape)
