"""Low-bit weights (int4 / int3 / int2 in groups, T-MAC bit planes): the `_ref` pack and
unpack of the blob that format.h documents (edgec_lowbit_header), the weight quantizer
the converter uses, and the exact semantics of LUT_FULLY_CONNECTED that the C kernels
(lut_gemm.c reference, AVX2, NEON) reproduce bit for bit:

    per row m of x (K values):
        amax  = max |x[m, k]|  (NaN ignored)          sx = amax / 127   (float32 division)
        inv   = 127 / amax if amax > 0 else 0
        a[k]  = rint(clamp(x[m, k] * inv, -127, 127))  ties to even, NaN -> -127 (int8)
    per output n, groups g = 0, 1, ... in order, float32 throughout, no fused multiply-add:
        I     = sum_{k in g} q[n, k] * a[k] - zero[n, g] * sum_{k in g} a[k]   (exact integer)
        acc   = acc + scale[n, g] * float32(I)            (acc starts at 0)
    y[m, n] = clamp(acc * sx + bias[n], act_min, act_max)

so w[n, k] = scale[n, g] * (q[n, k] - zero[n, g]) and the int8 activation scale is sx.
The integer part is exact however it is summed; only the float steps above are ordered.
"""
from __future__ import annotations

import struct

import numpy as np

MAGIC = 0x3157424C
HEADER = struct.Struct("<I7i")  # magic, bits, group_size, n, k, reserved[3]
NB = 32                          # output columns per weight block
GROUPS = (32, 64, 128)
F32 = np.float32


def _geometry(bits: int, group: int, n: int, k: int):
    if bits not in (1, 2, 3, 4) or group not in GROUPS or n < 1 or k < 1:
        raise ValueError(f"low-bit weights: bits {bits}, group {group}, shape [{n}, {k}] out of range "
                         "(bits 1..4, group 32/64/128)")
    n_pad, k8, groups = -(-n // NB) * NB, -(-k // 8) * 8, -(-k // group)
    return n_pad, k8, groups


def blob_bytes(bits: int, group: int, n: int, k: int) -> int:
    n_pad, k8, groups = _geometry(bits, group, n, k)
    return HEADER.size + n_pad * k8 * bits // 8 + 3 * n_pad * groups


def pack_ref(q: np.ndarray, scales: np.ndarray, zeros: np.ndarray, bits: int, group: int) -> bytes:
    """Blob bytes for codes q [N, K] (0 <= q < 2^bits), half scales [N, groups] and zero
    points [N, groups] (format.h, "Low-bit weights")."""
    q = np.asarray(q)
    n, k = q.shape
    n_pad, k8, groups = _geometry(bits, group, n, k)
    if q.min() < 0 or q.max() >> bits or scales.shape != (n, groups) or zeros.shape != (n, groups):
        raise ValueError(f"codes must be < 2^{bits}; scales/zeros must be [{n}, {groups}]")
    qp = np.zeros((n_pad, k8), np.uint8)
    qp[:n, :k] = q
    planes = []
    for b in range(bits):
        bit = ((qp >> b) & 1).reshape(n_pad, k8 // 4, 4)
        idx = (bit * np.array([1, 2, 4, 8], np.uint8)).sum(axis=2).astype(np.uint8)  # [n_pad, k8/4]
        byte = idx[:, 0::2] | (idx[:, 1::2] << 4)                                        # [n_pad, kpairs]
        planes.append(byte.reshape(n_pad // NB, NB, k8 // 8).transpose(0, 2, 1))         # [blk, kpair, 32]
    planes = np.stack(planes, axis=2)                                                     # [blk, kpair, bit, 32]

    def blocked(a, dtype):
        full = np.zeros((n_pad, groups), dtype)
        full[:n] = a
        return full.reshape(n_pad // NB, NB, groups).transpose(0, 2, 1)                  # [blk, group, 32]

    s16 = blocked(np.asarray(scales, np.float16).view(np.uint16), np.uint16)
    z8 = blocked(np.asarray(zeros, np.uint8), np.uint8)
    head = HEADER.pack(MAGIC, bits, group, n, k, 0, 0, 0)
    return head + planes.tobytes() + s16.astype("<u2").tobytes() + z8.tobytes()


def unpack_ref(blob) -> dict:
    """The inverse of pack_ref: {bits, group, q [N,K] uint8, scales [N,G] float16, zeros [N,G]}.
    Raises ValueError on a malformed blob (the C reader's checks)."""
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise ValueError(f"low-bit weights: {len(blob)} bytes, shorter than the 32-byte header")
    magic, bits, group, n, k, *res = HEADER.unpack_from(blob)
    if magic != MAGIC or any(res):
        raise ValueError(f"low-bit weights: bad header (magic {magic:08x})")
    n_pad, k8, groups = _geometry(bits, group, n, k)
    if len(blob) != blob_bytes(bits, group, n, k):
        raise ValueError(f"low-bit weights: {len(blob)} bytes, expected {blob_bytes(bits, group, n, k)}")
    off = HEADER.size
    nplanes = n_pad * k8 * bits // 8
    planes = np.frombuffer(blob, np.uint8, nplanes, off).reshape(n_pad // NB, k8 // 8, bits, NB)
    off += nplanes
    s16 = np.frombuffer(blob, "<u2", n_pad * groups, off).reshape(n_pad // NB, groups, NB)
    off += 2 * n_pad * groups
    z8 = np.frombuffer(blob, np.uint8, n_pad * groups, off).reshape(n_pad // NB, groups, NB)
    q = np.zeros((n_pad, k8), np.uint8)
    for b in range(bits):
        byte = planes[:, :, b, :].transpose(0, 2, 1).reshape(n_pad, k8 // 8)
        idx = np.empty((n_pad, k8 // 4), np.uint8)
        idx[:, 0::2], idx[:, 1::2] = byte & 15, byte >> 4
        bit = (idx[:, :, None] >> np.arange(4, dtype=np.uint8)) & 1
        q |= (bit.reshape(n_pad, k8) << b).astype(np.uint8)
    if int(z8.max(initial=0)) >> bits:  # padding columns included, as the C reader checks
        raise ValueError(f"low-bit weights: a zero point does not fit {bits} bits")
    unblock = lambda a: a.transpose(0, 2, 1).reshape(n_pad, groups)[:n]  # noqa: E731
    zeros = unblock(z8)
    return {"bits": bits, "group": group, "q": q[:n, :k], "scales": unblock(s16).view(np.float16),
            "zeros": zeros}


def _grid(wg, lo, hi, levels):
    """(q, half scale, zero) of groups wg [N, G, group] on the grid spanning [lo, hi] (lo <= 0 <= hi)."""
    scale = ((hi - lo) / levels).astype(np.float16)
    if not np.isfinite(scale).all():
        raise ValueError("weights too large for half-precision group scales (|w| > 65504 * levels)")
    s = scale.astype(np.float32)
    safe = np.where(s > 0, s, 1)
    zero = np.clip(np.rint(-lo / safe), 0, levels)
    q = np.clip(np.rint(wg / safe[:, :, None]) + zero[:, :, None], 0, levels)
    q = np.where(s[:, :, None] > 0, q, zero[:, :, None])
    return q, scale, zero


CLIP_RATIOS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6)


def quantize_weights(w: np.ndarray, bits: int, group: int = 128):
    """Asymmetric groups of `group` inputs: (q [N,K] uint8, scales [N,G] float16, zeros [N,G]
    uint8). Each group's grid spans [r * min(w, 0), r * max(w, 0)] with the clip ratio r of
    CLIP_RATIOS that minimizes the group's squared error (ties: the larger r); the scale is
    rounded to half before q is computed, and the range always includes 0, so a zero
    weight stays exactly zero."""
    w = np.asarray(w, np.float32)
    n, k = w.shape
    _n_pad, _k8, groups = _geometry(bits, group, n, k)
    levels = (1 << bits) - 1
    wp = np.zeros((n, groups * group), np.float32)
    wp[:, :k] = w
    wg = wp.reshape(n, groups, group)
    lo, hi = np.minimum(wg.min(axis=2), 0), np.maximum(wg.max(axis=2), 0)
    best = None
    for r in CLIP_RATIOS:
        q, scale, zero = _grid(wg, (lo * np.float32(r)).astype(np.float32), (hi * np.float32(r)).astype(np.float32), levels)
        err = (((q - zero[:, :, None]) * scale.astype(np.float32)[:, :, None] - wg) ** 2).sum(axis=2)
        if best is None:
            best = [q, scale, zero, err]
            continue
        better = err < best[3]
        best[0] = np.where(better[:, :, None], q, best[0])
        best[1] = np.where(better, scale, best[1])
        best[2] = np.where(better, zero, best[2])
        best[3] = np.where(better, err, best[3])
    q, scale, zero = best[:3]
    return q.reshape(n, groups * group)[:, :k].astype(np.uint8), scale, zero.astype(np.uint8)


def dequantize(unpacked: dict) -> np.ndarray:
    """float32 weights [N, K] that a blob represents."""
    q, g = unpacked["q"].astype(np.float32), unpacked["group"]
    cols = np.arange(q.shape[1]) // g
    s = unpacked["scales"].astype(np.float32)[:, cols]
    z = unpacked["zeros"].astype(np.float32)[:, cols]
    return (s * (q - z)).astype(np.float32)


def quantize_rows(x: np.ndarray):
    """(a int32 [M, K], sx float32 [M]) as the module docstring defines."""
    x = np.asarray(x, F32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ax = np.abs(x)
        amax = np.where(np.isnan(ax), F32(0), ax).max(axis=1, initial=F32(0)).astype(F32)
        sx = (amax / F32(127)).astype(F32)
        inv = np.where(amax > 0, F32(127) / np.where(amax > 0, amax, F32(1)), F32(0)).astype(F32)
        v = (x * inv[:, None]).astype(F32)
    v = np.where(v > -127, v, F32(-127))
    v = np.where(v < 127, v, F32(127))
    return np.rint(v).astype(np.int32), sx


def _int8_table_sums(a, q, group: int, bits: int):
    """table_mode 1 (int8 tables, T-MAC's fast mode): per row and weight group g, with
    T[kg][i] = sum_t bit t of i * a[4 kg + t] (the exact table of 4 activations),
        m  = max |T| over the group's tables = max over its kg of max(sum a+, -sum a-)
        rne(v, s) = round(v / 2^s), ties to even = (v + h - 1 + ((v >> s) & 1)) >> s for s > 0,
                    h = 2^(s-1), arithmetic shifts (floor); rne(v, 0) = v. Unbiased: rounding
                    half up would add +1/8 LSB per lookup, a drift that grows with K.
        s  = smallest s >= 0 with rne(m, s) <= 127
        Tq = rne(T, s)
        I' = (sum_{kg in g} sum_b 2^b Tq[kg][idx_b(n, kg)]) << s
    Returns I' [M, N, groups] (int64) in place of sum_{k in g} q a."""
    m_rows, k = a.shape
    n = q.shape[0]
    k8 = -(-k // 8) * 8
    ap = np.zeros((m_rows, k8), np.int64)
    ap[:, :k] = a
    qp = np.zeros((n, k8), np.int64)
    qp[:, :k] = q
    kg = k8 // 4
    a4 = ap.reshape(m_rows, kg, 4)
    sel = (np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1            # [16, 4]
    T = a4 @ sel.T                                                        # [M, kg, 16]
    mag = np.maximum(np.where(a4 > 0, a4, 0).sum(2), -np.where(a4 < 0, a4, 0).sum(2))  # [M, kg]
    groups = -(-k // group)
    gidx = np.minimum(np.arange(kg) * 4 // group, groups - 1)
    mg = np.zeros((m_rows, groups), np.int64)
    np.maximum.at(mg.T, gidx, mag.T)
    def rne(v, sh):
        h = (1 << sh) >> 1
        return np.where(sh > 0, (v + h - 1 + ((v >> sh) & 1)) >> sh, v)

    shift = np.zeros((m_rows, groups), np.int64)
    for sh in range(1, 8):
        shift = np.where(rne(mg, shift) > 127, sh, shift)
    s_kg = shift[:, gidx][:, :, None]                                     # [M, kg, 1]
    Tq = rne(T, s_kg)
    q4 = qp.reshape(n, kg, 4)
    out = np.zeros((m_rows, n, groups), np.int64)
    cols = np.arange(kg)[None, :]
    for b in range(bits):
        idx = (((q4 >> b) & 1) << np.arange(4)).sum(2)                     # [N, kg]
        for r in range(m_rows):
            look = Tq[r][cols, idx] << b                                   # [N, kg]
            np.add.at(out[r].T, gidx, look.T)
    return out << shift[:, None, :]


def lut_fully_connected_ref(x, blob, bias=None, act_min=-np.inf, act_max=np.inf, table_mode: int = 0) -> np.ndarray:
    """LUT_FULLY_CONNECTED on x [M, K] float32 -> [M, N] float32, bit-exact with the C kernels."""
    if table_mode not in (0, 1):
        raise ValueError(f"table_mode {table_mode}: 0 (exact int16 tables) or 1 (int8 tables)")
    u = unpack_ref(blob)
    q, scales, zeros, g = u["q"].astype(np.int64), u["scales"].astype(F32), u["zeros"].astype(np.int64), u["group"]
    a, sx = quantize_rows(x)
    a = a.astype(np.int64)
    m, k = a.shape
    acc = np.zeros((m, q.shape[0]), F32)
    fast = _int8_table_sums(a, q, g, u["bits"]) if table_mode == 1 else None
    with np.errstate(invalid="ignore", over="ignore"):
        for gi in range(scales.shape[1]):
            ks = slice(gi * g, min(k, (gi + 1) * g))
            dot = fast[:, :, gi] if fast is not None else a[:, ks] @ q[:, ks].T
            integer = dot - zeros[:, gi][None, :] * a[:, ks].sum(axis=1)[:, None]
            acc = (acc + (scales[:, gi][None, :] * integer.astype(F32)).astype(F32)).astype(F32)
        y = (acc * sx[:, None]).astype(F32)
        if bias is not None:
            y = (y + np.asarray(bias, F32)[None, :]).astype(F32)
        return np.minimum(np.maximum(y, F32(act_min)), F32(act_max)).astype(F32)
