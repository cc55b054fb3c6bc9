"""What a shared library or executable needs from glibc, read from its ELF version
requirements (.gnu.version_r) in pure Python, so any machine can check a cross build
(`objdump -T` / `readelf -V` show the same)."""
from __future__ import annotations

import re
import struct
from pathlib import Path

SHT_GNU_VERNEED = 0x6FFFFFFE


def _sections(data: bytes) -> tuple:
    """(struct endianness prefix, is64, [(type, offset, size, link, info)])"""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    is64, end = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
    fmt = end + ("IIQQQQII" if is64 else "IIIIIIII")
    return end, is64, [struct.unpack_from(fmt, data, shoff + i * shentsize)[1:] for i in range(shnum)]


def needed_libraries(path: str | Path) -> list:
    """The DT_NEEDED entries (shared libraries loaded with the file), in order."""
    data = Path(path).read_bytes()
    end, is64, sections = _sections(data)
    out = []
    for sh_type, _, _, off, size, link, _ in sections:
        if sh_type != 6:  # SHT_DYNAMIC
            continue
        strtab = sections[link][3]
        step = 16 if is64 else 8
        for pos in range(off, off + size, step):
            tag, val = struct.unpack_from(end + ("qQ" if is64 else "iI"), data, pos)
            if tag == 0:
                break
            if tag == 1:  # DT_NEEDED
                out.append(data[strtab + val:data.index(b"\0", strtab + val)].decode())
    return out


def needed_versions(path: str | Path) -> dict:
    """{library file name: sorted version names} from the verneed section, e.g.
    {"libc.so.6": ["GLIBC_2.17", "GLIBC_2.27"]}. Empty for static executables."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF file")
    is64, little = data[4] == 2, data[5] == 1
    end = "<" if little else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
    sections = []
    for i in range(shnum):
        base = shoff + i * shentsize
        if is64:
            _, sh_type, _, _, off, size, link, info = struct.unpack_from(end + "IIQQQQII", data, base)
        else:
            _, sh_type, _, _, off, size, link, info = struct.unpack_from(end + "IIIIIIII", data, base)
        sections.append((sh_type, off, size, link, info))
    out: dict = {}
    for sh_type, off, _, link, count in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab = sections[link][1]

        def name(o):
            return data[strtab + o:data.index(b"\0", strtab + o)].decode()
        pos = off
        for _ in range(count):
            _, cnt, file_off, aux, nxt = struct.unpack_from(end + "HHIII", data, pos)
            versions = out.setdefault(name(file_off), set())
            apos = pos + aux
            for _ in range(cnt):
                _, _, _, vname, anext = struct.unpack_from(end + "IHHII", data, apos)
                versions.add(name(vname))
                apos += anext
            pos += nxt
    return {lib: sorted(v, key=_version_key) for lib, v in out.items()}


def _version_key(v: str):
    return [int(x) for x in re.findall(r"\d+", v)] or [0]


def max_glibc(path: str | Path) -> tuple:
    """Highest GLIBC_x.y a file needs, as (x, y); (0, 0) when none (static)."""
    best = (0, 0)
    for versions in needed_versions(path).values():
        for v in versions:
            m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", v)
            if m:
                best = max(best, (int(m.group(1)), int(m.group(2))))
    return best
