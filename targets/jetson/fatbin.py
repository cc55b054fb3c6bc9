"""Read the CUDA fatbins inside a file (libedgec.so embeds one, runtime/ops/cuda/fatbin.S)
without CUDA tools (the CUDA 13 toolkit here has no cuobjdump).

Layout (little-endian, as nvcc writes it): a 16-byte header (magic 0xBA55ED50, u16
version, u16 header size, u64 size of the entries), then entries: u16 kind (1 PTX, 2
ELF cubin), u16 version, u32 entry header size, u64 payload size, ..., u32 arch (e.g. 87)
at offset 28, and for PTX the PTX ISA (major << 16 | minor) at offset 24. Payloads
are plain when built with --no-compress (cmake/cuda.cmake does)."""
from __future__ import annotations

import re
import struct
from pathlib import Path

MAGIC = struct.pack("<I", 0xBA55ED50)
KINDS = {1: "ptx", 2: "elf"}


def entries(data: bytes) -> list:
    """Every entry of every fatbin in `data`: dicts kind, arch, ptx_isa (PTX), payload."""
    out = []
    pos = data.find(MAGIC)
    while pos >= 0:
        _, version, header, size = struct.unpack_from("<IHHQ", data, pos)
        off, stop = pos + header, pos + header + size
        if version != 1 or header != 16 or stop > len(data):
            pos = data.find(MAGIC, pos + 4)
            continue
        while off + 32 <= stop:
            kind, _, ehs, psize = struct.unpack_from("<HHIQ", data, off)
            isa, arch = struct.unpack_from("<II", data, off + 24)
            if ehs < 32 or off + ehs + psize > stop:
                break
            e = {"kind": KINDS.get(kind, str(kind)), "arch": arch, "payload": data[off + ehs:off + ehs + psize]}
            if kind == 1:
                e["ptx_isa"] = f"{isa >> 16}.{isa & 0xFFFF}"
            out.append(e)
            off += ehs + psize
        pos = data.find(MAGIC, stop)
    return out


def describe(path: str | Path) -> dict:
    """{"sass": [archs with machine code], "ptx": [PTX archs], "ptx_isa": [...],
    "kernels": {arch: sorted kernel names}} of the fatbins in a file."""
    es = entries(Path(path).read_bytes())
    kernels = {}
    for e in es:
        names = set(re.findall(rb"edgec_cu_[a-z0-9_]+", e["payload"]))
        key = f"{'sm' if e['kind'] == 'elf' else 'compute'}_{e['arch']}"
        kernels[key] = sorted(n.decode() for n in names if not re.search(rb"_param_\d+$", n))
    return {"sass": sorted(e["arch"] for e in es if e["kind"] == "elf"),
            "ptx": sorted(e["arch"] for e in es if e["kind"] == "ptx"),
            "ptx_isa": sorted({e["ptx_isa"] for e in es if e["kind"] == "ptx"}),
            "kernels": kernels}
