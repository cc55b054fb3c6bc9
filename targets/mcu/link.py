"""Host side of the MCU image's UART protocol (template/main.c): send inputs, get
outputs and the cycle count. Works with a real board's serial port
(`/dev/ttyACM0`) or with QEMU's UART on a socket (`socket://127.0.0.1:PORT`), both
through pyserial; `qemu()` starts an emulated board for an image."""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import numpy as np

from .boards import BOARDS


def _pad16(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 16)


class McuLink:
    def __init__(self, url: str, timeout: float = 120.0):
        try:
            import serial
        except ImportError as e:
            raise ImportError("the MCU link needs pyserial: pip install 'edgec[mcu]'") from e
        for attempt in range(200):  # QEMU may still be starting its socket
            try:
                self.port = serial.serial_for_url(url, timeout=timeout)
                break
            except serial.SerialException:
                if attempt == 199:
                    raise
                time.sleep(0.05)
        self.ready = self._expect_ready()

    def _line(self) -> str:
        raw = self.port.readline()
        if not raw.endswith(b"\n"):
            raise TimeoutError(f"no complete line from the device (got {raw[:80]!r})")
        return raw.decode("ascii", "replace").strip()

    def _expect_ready(self) -> dict:
        for _ in range(100):
            line = self._line()
            if line.startswith("EDGEC ERROR"):
                raise RuntimeError(f"device: {line}")
            if line.startswith("EDGEC READY"):
                in_b, out_b, arena = (int(v) for v in line.split()[2:5])
                return {"input_bytes": in_b, "output_bytes": out_b, "arena_bytes": arena}
        raise RuntimeError("device never said EDGEC READY")

    def invoke(self, inputs: list) -> tuple:
        """inputs: arrays in the model's input order. Returns (output bytes, cycles)."""
        payload = b"".join(_pad16(np.ascontiguousarray(x).tobytes()) for x in inputs)
        if len(payload) != self.ready["input_bytes"]:
            raise ValueError(f"inputs are {len(payload)} bytes (padded), the device expects {self.ready['input_bytes']}")
        self.port.write(payload)
        line = self._line()
        if not line.startswith("EDGEC OK"):
            raise RuntimeError(f"device: {line}")
        cycles = int(line.split()[2])
        out = bytearray()
        while True:
            line = self._line()
            if line == "END":
                break
            if not line.startswith("OUT "):
                raise RuntimeError(f"unexpected line from the device: {line!r}")
            out += bytes.fromhex(line[4:])
        self._expect_ready()
        return bytes(out), cycles

    def run(self, model_outputs: list, inputs: list) -> tuple:
        """model_outputs: [(shape, dtype)] in order -> ([arrays], cycles)."""
        data, cycles = self.invoke(inputs)
        arrays, off = [], 0
        for shape, dtype in model_outputs:
            n = int(np.prod(shape)) * np.dtype(dtype).itemsize
            arrays.append(np.frombuffer(data[off:off + n], dtype=dtype).reshape(shape).copy())
            off += n + (-n % 16)
        return arrays, cycles

    def close(self):
        self.port.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu(elf: str | Path, board: str = "mps2-an386") -> tuple:
    """Start qemu-system-arm on the image with UART0 on a local socket; returns (process,
    url). -icount shift=0: one instruction per virtual ns, so cycle counts repeat."""
    machine = BOARDS[board].qemu_machine
    if not machine:
        raise ValueError(f"{board} has no QEMU model (use mps2-an386 or mps2-an500)")
    port = _free_port()
    # wait=on: the guest starts when the first client (McuLink) connects, so nothing is lost
    proc = subprocess.Popen(["qemu-system-arm", "-M", machine, "-icount", "shift=0", "-display", "none",
                             "-monitor", "none", "-serial", f"tcp:127.0.0.1:{port},server,wait=on",
                             "-kernel", str(elf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"socket://127.0.0.1:{port}"
