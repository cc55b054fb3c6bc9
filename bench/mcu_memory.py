"""MCU memory and instruction counts (issue: microcontrollers): per model, tflite-micro's
minimum arena (bisecting `arena_size` in the tflite_micro Python interpreter), edgec's
arena plain and patch-scheduled (--patch auto), extra MACs, the image's flash, and a
deterministic instruction-count proxy per inference (QEMU mps2-an386 with -icount
shift=0; SysTick ticks at the 25 MHz board clock = 40 instructions each).

    pip install tflite-micro pyserial
    python bench/mcu_memory.py            # prints a Markdown table for BENCHMARKS.md
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["mobilenet_v2_035_96_int8", "mobilenet_v2_035_144_int8"]


def tflm_min_arena(path: Path) -> int:
    from tflite_micro.python.tflite_micro import runtime

    def works(size):
        try:
            it = runtime.Interpreter.from_file(str(path), arena_size=size)
            d = it.get_input_details(0)
            it.set_input(np.zeros(d["shape"], d["dtype"]), 0)
            it.invoke()
            return True
        except Exception:
            return False
    lo, hi = 1024, 1 << 20
    while not works(hi):
        hi *= 2
    while hi - lo > 16:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    return hi


def mcu_run(model: Path, tmp: Path) -> tuple:
    """(flash bytes of the image, SysTick ticks per inference) on mps2-an386 in QEMU."""
    import edgec
    from edgec.targets.mcu.link import McuLink, qemu
    from edgec.targets.mcu.project import generate
    out = tmp / model.stem
    generate(model, "mps2-an386", out)
    subprocess.run(["cmake", "-S", str(out), "-B", str(out / "build"), "-DCMAKE_TOOLCHAIN_FILE=cmake/cortex-m4.cmake"],
                   check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(out / "build"), "-j", "2"], check=True, capture_output=True)
    elf = out / "build" / "app.elf"
    size = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    flash = sum(int(l.split()[1]) for l in size.splitlines() if l.startswith((".text", ".ARM.exidx", ".data")))
    it = edgec.Interpreter(model)
    proc, url = qemu(elf, "mps2-an386")
    try:
        link = McuLink(url, timeout=600)
        x = np.random.default_rng(0).integers(-128, 128, it.inputs[0].shape).astype(np.int8)
        (y,), ticks = link.run([(d.shape, d.dtype) for d in it.outputs], [x])
        assert np.array_equal(y, list(it.run(x).values())[0]), "MCU output differs from the host"
    finally:
        proc.kill()
    return flash, ticks


def main():
    sys.path.insert(0, str(ROOT))
    import edgec
    os.environ["EDGEC_KERNELS"] = "reference"  # the arena a Cortex-M build needs (no packed weights)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in MODELS:
            src = ROOT / "tests" / "fixtures" / f"{name}.tflite"
            plain = edgec.convert(src, progress=False).save(tmp / f"{name}.edgec")
            patched_model = edgec.convert(src, patch="auto", progress=False)
            patched = patched_model.save(tmp / f"{name}-patched.edgec")
            info = patched_model.graph.metadata["patch"]
            tflm = tflm_min_arena(src)
            a_plain, a_patched = edgec.Interpreter(plain).arena_bytes, edgec.Interpreter(patched).arena_bytes
            flash, ticks = mcu_run(patched, tmp)
            _, ticks_plain = mcu_run(plain, tmp)
            rows.append(f"| {name} | {tflm} | {a_plain} ({a_plain / tflm:.2f}) | {a_patched} ({a_patched / tflm:.2f}) | "
                        f"{info['grid'][0]}x{info['grid'][1]}, {info['extra_macs']:.1%} | {flash} | "
                        f"{ticks_plain} / {ticks} |")
    print("| model | TFLM min arena B | edgec arena B (/TFLM) | edgec patched B (/TFLM) | grid, extra MACs | "
          "image flash B | SysTick ticks plain / patched |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
