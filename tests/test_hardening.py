"""Untrusted inputs: mutated .tflite files through the converter and mutated .edgec files
through the Python API give clean exceptions (ConversionError / ModelError), never a
crash, a hang or another exception type."""
import numpy as np
import pytest

import edgec
from edgec.runtime import ModelError


def mutate(data: bytes, rng, max_changes=8) -> bytes:
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, max_changes + 1))):
        kind = rng.integers(0, 3)
        pos = int(rng.integers(0, len(buf)))
        if kind == 0:
            buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            buf[pos] = int(rng.integers(0, 256))
        else:
            buf[pos:pos + 4] = int(rng.choice([0, 1, 255, 65535, 2 ** 31 - 1, 2 ** 32 - 1])).to_bytes(4, "little")
    return bytes(buf[:len(data)])


def test_mutated_tflite_files_give_clean_errors(blazeface_dir):
    """1000 mutations of a real model (flatbuffer offsets, shapes, options, weights)."""
    data = (blazeface_dir / "face_detection_short_range.tflite").read_bytes()
    rng = np.random.default_rng(2026)
    outcomes = {"converted": 0, "refused": 0}
    for i in range(1000):
        try:
            m = edgec.convert(mutate(data, rng), progress=False)
        except edgec.ConversionError:
            outcomes["refused"] += 1
            continue
        outcomes["converted"] += 1
        try:  # what converts must load and run, or be refused by the runtime's checks
            it = m.interpreter()
            it.run({d.name: np.zeros(d.shape, d.dtype) for d in it.inputs})
        except ModelError:
            pass
    assert outcomes["converted"] + outcomes["refused"] == 1000
    assert outcomes["converted"] > 0 and outcomes["refused"] > 0


def test_mutated_int8_edgec_files_without_checksum(tmp_path):
    """Mutated int8 models (requantization constants, LOOKUP tables, params) with the CRC
    check off: the C reader and prepare refuse or run them; Python sees only ModelError."""
    from pathlib import Path
    src = Path(__file__).resolve().parent / "fixtures" / "mobilenet_v2_035_96_int8.tflite"
    data = edgec.convert(src).to_bytes()
    rng = np.random.default_rng(3)
    header_and_tables = min(len(data), 40_000)  # mutate structure, not only weights
    loaded = 0
    for _ in range(300):
        buf = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            buf[int(rng.integers(0, header_and_tables))] = int(rng.integers(0, 256))
        try:
            it = edgec.Interpreter(bytes(buf), verify_checksum=False)
        except ModelError:
            continue
        loaded += 1
        it.run({d.name: np.zeros(d.shape, d.dtype) for d in it.inputs})
    assert loaded > 0
