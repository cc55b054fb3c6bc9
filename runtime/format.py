"""The .edgec byte layout on the Python side, read from the C headers.

format.h and ops.def are the single definition of the IR: this module parses the op
registry and the op parameter structs out of them, so the writer, the reader below,
reference.py and the C core cannot drift apart.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INCLUDE_DIR = Path(__file__).resolve().parent / "include" / "edgec"

MAGIC = 0x43474445
VERSION_MAJOR = 1
VERSION_MINOR = 0
HEADER_SIZE = 64
ALIGN = 64
MAX_RANK = 6

HEADER = struct.Struct("<IHHIIQQII24x")
SECTION = struct.Struct("<IIQQ")
TENSOR = struct.Struct("<IIBBBB6i4xQQfi")
OP = struct.Struct("<HHHHIIIIII")
GRAPH = struct.Struct("<QIII12x")
assert HEADER.size == 64 and SECTION.size == 24 and TENSOR.size == 64
assert OP.size == 32 and GRAPH.size == 32

SECTION_IDS = {
    "STRINGS": 1, "TENSORS": 2, "OPS": 3, "INDICES": 4, "PARAMS": 5,
    "CONSTANTS": 6, "GRAPH": 7, "METADATA": 8,
    "LOWBIT_WEIGHTS": 16, "REPACKED_WEIGHTS": 17, "PATCH_PLAN": 18,
    "CUDA_DATA": 19, "SPARSE_WEIGHTS": 20, "SPLIT": 21,
}
SECTION_NAMES = {v: k for k, v in SECTION_IDS.items()}

DTYPES = {  # edgec_dtype -> numpy dtype
    1: np.dtype("<f4"), 2: np.dtype("i1"), 3: np.dtype("u1"), 4: np.dtype("<i2"),
    5: np.dtype("<i4"), 6: np.dtype("<i8"), 7: np.dtype("?"), 8: np.dtype("<f2"),
}
DTYPE_CODES = {v: k for k, v in DTYPES.items()}
STORAGE = {0: "constant", 1: "arena", 2: "io"}


def dtype_code(dtype) -> int:
    dt = np.dtype(dtype).newbyteorder("<") if np.dtype(dtype).itemsize > 1 else np.dtype(dtype)
    try:
        return DTYPE_CODES[dt]
    except KeyError:
        raise TypeError(f"edgec has no tensor type for numpy dtype {np.dtype(dtype)}") from None


@dataclass(frozen=True)
class OpDef:
    name: str
    code: int
    params: str   # struct suffix: edgec_<params>_params
    kernel: str


@dataclass(frozen=True)
class ParamsDef:
    name: str
    fields: tuple  # ((field, 'i'|'f', count), ...)

    @property
    def struct(self) -> struct.Struct:
        return struct.Struct("<" + "".join(f"{n}{t}" for _, t, n in self.fields))

    def pack(self, values: dict) -> bytes:
        """Pack a dict of field -> value (arrays for array fields); missing fields -> 0."""
        known = {f for f, _, _ in self.fields}
        unknown = set(values) - known
        if unknown:
            raise KeyError(f"edgec_{self.name}_params has no field(s) {sorted(unknown)}")
        flat = []
        for fname, t, n in self.fields:
            v = values.get(fname, 0)
            if n == 1:
                flat.append(float(v) if t == "f" else int(v))
            else:
                v = list(v) if not np.isscalar(v) else [v]
                v = v + [0] * (n - len(v))
                flat.extend(float(x) if t == "f" else int(x) for x in v[:n])
        return self.struct.pack(*flat)

    def unpack(self, data: bytes) -> dict:
        flat = self.struct.unpack(data)
        out, i = {}, 0
        for fname, t, n in self.fields:
            out[fname] = flat[i] if n == 1 else list(flat[i:i + n])
            i += n
        return out


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def _parse_ops() -> dict:
    text = _strip_comments((INCLUDE_DIR / "ops.def").read_text())
    ops = {}
    for m in re.finditer(r"^EDGEC_OP\((\w+),\s*(\d+),\s*(\w+),\s*(\w+)\)", text, re.M):
        ops[m.group(1)] = OpDef(m.group(1), int(m.group(2)), m.group(3), m.group(4))
    return ops


def _parse_params() -> dict:
    text = _strip_comments((INCLUDE_DIR / "format.h").read_text())
    text = text.replace("EDGEC_MAX_RANK", str(MAX_RANK))
    params = {}
    for m in re.finditer(r"typedef struct\s*\{([^}]*)\}\s*edgec_(\w+)_params;", text):
        fields = []
        for decl in m.group(1).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            ctype, names = decl.split(None, 1)
            t = {"int32_t": "i", "float": "f"}[ctype]
            for name in names.split(","):
                name = name.strip()
                am = re.match(r"(\w+)\[(.+)\]", name)
                if am:
                    fields.append((am.group(1), t, int(eval(am.group(2), {}))))
                else:
                    fields.append((name, t, 1))
        params[m.group(2)] = ParamsDef(m.group(2), tuple(fields))
    return params


def _parse_enum(prefix: str) -> dict:
    text = _strip_comments((INCLUDE_DIR / "format.h").read_text())
    return {m.group(1).lower(): int(m.group(2))
            for m in re.finditer(rf"EDGEC_{prefix}_(\w+)\s*=\s*(\d+)", text)}


OPS = _parse_ops()
OPS_BY_CODE = {op.code: op for op in OPS.values()}
PARAMS = _parse_params()
UNARY_KINDS = _parse_enum("UNARY")
REDUCE_KINDS = _parse_enum("REDUCE")
RESIZE_COORDS = {k: v for k, v in _parse_enum("RESIZE").items()
                 if k in ("asymmetric", "align_corners", "half_pixel", "pytorch_half_pixel")}
RESIZE_NEAREST = {k: v for k, v in _parse_enum("RESIZE").items() if k not in RESIZE_COORDS}

for _op in OPS.values():
    assert _op.params in PARAMS, f"ops.def: {_op.name} names missing params struct {_op.params}"


def params_def(op: str) -> ParamsDef:
    return PARAMS[OPS[op].params]


# Values a params field takes when a frontend does not set it: no clamp, unit strides.
PARAM_DEFAULTS = {
    "act_min": -np.inf, "act_max": np.inf, "q_min": -128, "q_max": 127,
    "stride_h": 1, "stride_w": 1, "dilation_h": 1, "dilation_w": 1, "groups": 1,
    "depth_multiplier": 1, "beta": 1.0, "min": -np.inf, "max": np.inf,
    "perm": list(range(MAX_RANK)), "step": [1] * MAX_RANK,
}


def complete_params(op: str, params: dict) -> dict:
    """params with every field of the op's struct present (defaults above, else 0)."""
    if op not in OPS:
        raise KeyError(f"unknown edgec op {op!r}")
    pdef = params_def(op)
    known = {f for f, _, _ in pdef.fields}
    unknown = set(params) - known
    if unknown:
        raise KeyError(f"{op}: edgec_{pdef.name}_params has no field(s) {sorted(unknown)}")
    out = {}
    for fname, _t, n in pdef.fields:
        default = PARAM_DEFAULTS.get(fname, 0 if n == 1 else [0] * n)
        out[fname] = params.get(fname, default)
    return out


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def crc32(data) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# Reading (Python side; the C reader in runtime/core/reader.c is the one that guards the
# device). Used by reference.py, `edgec inspect` and tests.

@dataclass
class TensorRecord:
    index: int
    name: str
    dtype: np.dtype
    shape: tuple
    storage: str
    offset: int
    nbytes: int
    scale: float
    zero_point: int
    data: np.ndarray | None = None  # constants only


@dataclass
class OpRecord:
    index: int
    op: str
    name: str
    inputs: list      # tensor indices, -1 = absent
    outputs: list
    params: dict


@dataclass
class ModelFile:
    version: tuple
    tensors: list
    ops: list
    inputs: list
    outputs: list
    arena_bytes: int
    metadata: dict
    sections: list = field(default_factory=list)  # (name, offset, size)
    file_size: int = 0


class FormatError(ValueError):
    pass


def read_model(data: bytes | memoryview, verify_checksum: bool = True) -> ModelFile:
    """Parse a .edgec image. Raises FormatError with a precise message when malformed."""
    buf = memoryview(data).cast("B")
    if len(buf) < HEADER_SIZE:
        raise FormatError(f"file is {len(buf)} bytes, shorter than the {HEADER_SIZE}-byte header")
    magic, vmaj, vmin, _flags, hsize, fsize, table_off, nsec, crc = HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise FormatError("not an .edgec file (bad magic)")
    if vmaj != VERSION_MAJOR:
        raise FormatError(f"IR version {vmaj}.{vmin} is not supported (this edgec reads {VERSION_MAJOR}.x)")
    if hsize != HEADER_SIZE or fsize != len(buf):
        raise FormatError(f"header says {fsize} bytes but the file has {len(buf)} (truncated?)")
    if verify_checksum and crc32(buf[HEADER_SIZE:]) != crc:
        raise FormatError("checksum mismatch: the file is corrupted")
    if table_off + nsec * SECTION.size > fsize:
        raise FormatError("section table out of range")
    sections = {}
    listing = []
    for i in range(nsec):
        sid, _f, off, size = SECTION.unpack_from(buf, table_off + i * SECTION.size)
        if off + size > fsize:
            raise FormatError(f"section {sid} out of range")
        sections[sid] = buf[off:off + size]
        listing.append((SECTION_NAMES.get(sid, str(sid)), off, size))
    for need in ("STRINGS", "TENSORS", "OPS", "INDICES", "PARAMS", "GRAPH"):
        if SECTION_IDS[need] not in sections:
            raise FormatError(f"missing section {need}")
    strings = bytes(sections[1])
    indices = np.frombuffer(sections[4], dtype="<i4")

    def name_of(off, ln):
        return strings[off:off + ln].decode("utf-8", "replace")

    tensors = []
    tsec = sections[2]
    for i in range(len(tsec) // TENSOR.size):
        (noff, nlen, dt, rank, storage, _fl, *rest) = TENSOR.unpack_from(tsec, i * TENSOR.size)
        dims, (off, nbytes, scale, zp) = rest[:6], rest[6:]
        shape = tuple(dims[:rank])
        rec = TensorRecord(i, name_of(noff, nlen), DTYPES[dt], shape, STORAGE[storage],
                           off, nbytes, scale, zp)
        if rec.storage == "constant":
            rec.data = np.frombuffer(buf[off:off + nbytes], dtype=rec.dtype).reshape(shape)
        tensors.append(rec)
    ops = []
    osec = sections[3]
    psec = sections[5]
    for i in range(len(osec) // OP.size):
        code, _fl, nin, nout, first, poff, psize, noff, nlen, _r = OP.unpack_from(osec, i * OP.size)
        opdef = OPS_BY_CODE[code]
        params = params_def(opdef.name).unpack(bytes(psec[poff:poff + psize]))
        ops.append(OpRecord(i, opdef.name, name_of(noff, nlen),
                            [int(x) for x in indices[first:first + nin]],
                            [int(x) for x in indices[first + nin:first + nin + nout]], params))
    arena, nin, nout, first = GRAPH.unpack_from(sections[7], 0)
    meta = json.loads(bytes(sections[8]).decode()) if 8 in sections else {}
    return ModelFile((vmaj, vmin), tensors, ops,
                     [int(x) for x in indices[first:first + nin]],
                     [int(x) for x in indices[first + nin:first + nin + nout]],
                     arena, meta, listing, fsize)
