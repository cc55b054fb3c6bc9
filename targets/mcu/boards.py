"""Boards `edgec build --target mcu` knows: CPU, toolchain file, memories. The MPS2 FPGA
boards are what QEMU emulates (their real ZBT SSRAMs: 4 MB code, 4 MB data); the generic
parts stand for common MCUs and take --sram/--flash for the exact chip."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Board:
    name: str
    cpu: str
    toolchain: str        # cmake/toolchains/<file>
    qemu_machine: str | None
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int


BOARDS = {
    "mps2-an386": Board("mps2-an386", "cortex-m4", "cortex-m4.cmake", "mps2-an386", 0x0, 4 << 20, 0x20000000, 4 << 20),
    "mps2-an500": Board("mps2-an500", "cortex-m7", "cortex-m7.cmake", "mps2-an500", 0x0, 4 << 20, 0x20000000, 4 << 20),
    "generic-m4": Board("generic-m4", "cortex-m4", "cortex-m4.cmake", None, 0x08000000, 1 << 20, 0x20000000, 256 << 10),
    "generic-m7": Board("generic-m7", "cortex-m7", "cortex-m7.cmake", None, 0x08000000, 2 << 20, 0x20000000, 512 << 10),
}


def parse_size(text: str) -> int:
    """'256K', '1M', '65536' -> bytes."""
    t = text.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise ValueError(f"size {text!r}: use bytes or K/M suffixes (256K, 1M)") from None
