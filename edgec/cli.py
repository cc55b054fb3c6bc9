"""The `edgec` command line. Each subcommand is a thin wrapper over the Python API."""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np


def _parse_shapes(items) -> dict | None:
    """['x:1,3,224,224', ...] -> {'x': (1, 3, 224, 224)}"""
    if not items:
        return None
    shapes = {}
    for item in items:
        name, sep, dims = item.rpartition(":")
        if not sep or not name:
            raise SystemExit(f"edgec: --input-shape {item!r}: expected NAME:D0,D1,...")
        try:
            shapes[name] = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise SystemExit(f"edgec: --input-shape {item!r}: dimensions must be integers") from None
    return shapes


def cmd_convert(args):
    import edgec
    meta = {}
    if args.mean is not None or args.std is not None:
        meta["preprocessing"] = {"mean": args.mean if args.mean is not None else 0.0,
                                 "std": args.std if args.std is not None else 1.0}
    m = edgec.convert(args.model, quantize=args.quantize, input_shape=_parse_shapes(args.input_shape),
                      calibration=args.calibration, calibration_method=args.calibration_method,
                      preprocessing=meta.get("preprocessing"), patch=args.patch, max_recompute=args.max_recompute,
                      exclude=args.exclude.split(",") if args.exclude else (),
                      keep_float=args.keep_float.split(",") if args.keep_float else (),
                      sparsity=args.sparsity, sparse_block=args.sparse_block,
                      group_size=args.group_size, lut_tables=args.lut_tables, size_budget=args.size_budget)
    out = Path(args.output or Path(args.model).with_suffix(".edgec"))
    m.save(out)
    if args.quantize == "mixed":
        from edgec.converters.quantize.mixed import format_report
        print(format_report(m.graph.metadata["quantization"]))
    it = edgec.Interpreter(out)
    print(f"wrote {out}: {len(m)} bytes, {len(m.graph.nodes)} ops, arena {it.arena_bytes} bytes")
    for d in it.inputs:
        print(f"  input  {d.name}: {d.dtype.name}{list(d.shape)}")
    for d in it.outputs:
        print(f"  output {d.name}: {d.dtype.name}{list(d.shape)}")


def load_input(path: str, detail, metadata: dict) -> np.ndarray:
    """An input array from .npy/.npz/raw .bin or an image (resized, normalized with the
    model's preprocessing metadata, default x/255)."""
    p = Path(path)
    if p.suffix == ".npy":
        return np.load(p)
    if p.suffix == ".npz":
        with np.load(p) as z:
            return z[detail.name] if detail.name in z else z[z.files[0]]
    if p.suffix == ".bin":
        return np.fromfile(p, dtype=detail.dtype).reshape(detail.shape)
    from PIL import Image
    shape = detail.shape
    nchw = len(shape) == 4 and shape[1] in (1, 3) and shape[3] not in (1, 3)
    h, w = (shape[2], shape[3]) if nchw else (shape[1], shape[2])
    channels = shape[1] if nchw else shape[3]
    img = Image.open(p).convert("L" if channels == 1 else "RGB").resize((w, h), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32).reshape(h, w, channels)
    pre = metadata.get("preprocessing", {})
    x = (x - np.float32(pre.get("mean", 0.0))) / np.float32(pre.get("std", 255.0))
    if nchw:
        x = x.transpose(2, 0, 1)
    return x[None].astype(detail.dtype)


def _metadata(path) -> dict:
    from edgec.runtime import format as fmt
    return fmt.read_model(Path(path).read_bytes(), verify_checksum=False).metadata


def cmd_run(args):
    import edgec
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        it = edgec.Interpreter(args.model, num_threads=args.threads, device=args.device)
    for w in caught:
        print(f"edgec: {w.message}", file=sys.stderr)
    meta = _metadata(args.model)
    feeds = {}
    given = args.input or []
    if given and len(given) != len(it.inputs):
        raise SystemExit(f"edgec: the model has {len(it.inputs)} inputs, {len(given)} --input given")
    for d, path in zip(it.inputs, given):
        feeds[d.name] = load_input(path, d, meta)
    for d in it.inputs[len(given):]:
        feeds[d.name] = np.zeros(d.shape, dtype=d.dtype)
    outs = it.run(feeds)
    for name, y in outs.items():
        yf = y.astype(np.float64)
        print(f"{name}: {y.dtype.name}{list(y.shape)} min {yf.min():.6g} max {yf.max():.6g} "
              f"mean {yf.mean():.6g}")
    if args.output:
        np.savez(args.output, **outs)
        print(f"wrote {args.output}")


def cmd_bench(args):
    from edgec.runtime.benchmark import benchmark, format_table
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = benchmark(args.model, threads=args.threads, rounds=args.rounds, warmup=args.warmup,
                         compare=args.compare, reference=args.reference, device=args.device)
    for w in caught:
        print(f"edgec: {w.message}", file=sys.stderr)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    if args.profile or args.trace:
        from edgec.runtime.benchmark import chrome_trace, format_profile, profile_ops
        ops = profile_ops(args.model, threads=args.threads)
        if args.profile:
            print(format_profile(ops))
        if args.trace:
            chrome_trace(ops, args.trace)
            print(f"wrote {args.trace} (open in chrome://tracing or ui.perfetto.dev)")


def cmd_inspect(args):
    from edgec.runtime import format as fmt
    from edgec.runtime.inspect import inspect_text
    try:
        model = fmt.read_model(Path(args.model).read_bytes())
    except fmt.FormatError as e:
        raise SystemExit(f"edgec: {args.model}: {e}") from None
    print(inspect_text(model, show_tensors=not args.no_tensors, memory=args.memory))


def cmd_check(args):
    import edgec
    rows = edgec.check(args.model)
    width = max([len(r["op"]) for r in rows] + [2])
    print(f"{'op':<{width}}  count  supported  edgec op")
    for r in rows:
        note = f"  ({r['note']})" if r.get("note") else ""
        print(f"{r['op']:<{width}}  {r['count']:>5}  {'yes' if r['supported'] else 'NO':>9}  "
              f"{r.get('edgec_op') or '-'}{note}")
    missing = [r["op"] for r in rows if not r["supported"]]
    print(f"{len(rows) - len(missing)}/{len(rows)} op types supported (fp32 CPU)")
    return 1 if missing else 0


def cmd_info(args):
    import edgec
    from edgec.runtime import core_version, cpu_features
    from edgec.runtime import _lib, format as fmt
    print(f"edgec {edgec.__version__} (C core {core_version()})")
    print(f"library: {_lib.library_path()}")
    print(f"cpu: {cpu_features()}")
    feats = cpu_features()
    forced = os.environ.get("EDGEC_KERNELS") == "reference"
    simd = "" if forced else ("x86 AVX2/FMA" if "avx2" in feats and "fma" in feats else
                              "aarch64 NEON" if "aarch64" in feats else "")
    if simd and "dotprod" in feats and os.environ.get("EDGEC_KERNELS") != "neon":
        simd += " + dot product (int8 GEMM)"
    print(f"kernels: {simd + ' (int8 GEMM/depthwise/element-wise, fp32 GEMM/depthwise/FC), ' if simd else ''}"
          f"portable C99 reference for the rest{' (EDGEC_KERNELS=reference)' if forced else ''}")
    from edgec.runtime._lib import ffi, lib
    print(f"lut gemm (low-bit weights): {ffi.string(lib().edgec_lut_kernel_name()).decode()}")
    print(f"ops ({len(fmt.OPS)}): {' '.join(fmt.OPS)}")
    from edgec.runtime import cuda_info
    version, text = cuda_info()
    print(f"CUDA: {text}" + ("" if version else "; --device cuda runs on the CPU"))


def cmd_demo(args):
    from edgec.apps import sources
    if args.app == "split":
        from edgec.apps.split_demo import main as split_demo
        argv = [*(args.images or []), "--server", args.server or "", "--split-dir", args.split_dir or "",
                "--model", args.model] + (["--token-file", args.token_file] if args.token_file else []) + \
            (["--out", args.out] if args.out else [])
        return split_demo(argv)
    if sum(bool(v) for v in (args.images, args.video, args.camera)) != 1:
        raise ValueError("give one source: --images FILE|DIR..., --video FILE or --camera")
    if args.web and args.app in ("faces", "ocr"):
        from edgec.apps import web
        pipeline = web.faces_pipeline(args.model) if args.app == "faces" else web.ocr_pipeline()
        frames = sources.images(args.images) if args.images else \
            sources.video(args.video) if args.video else sources.camera()
        demo = web.LiveDemo(args.app, frames, pipeline)
        web.serve(demo, args.host, args.port, args.token)
        return 0
    if args.video or args.camera:
        return _demo_stream(args, sources.video(args.video) if args.video else sources.camera())
    if args.app == "ocr":
        from edgec.apps.ocr import main as ocr
        return ocr([*args.images] + (["--out", args.out] if args.out else []))
    if args.app != "faces":
        raise SystemExit(f"edgec demo {args.app}: not part of this version yet (faces and ocr are; "
                         "split inference: edgec split + edgec serve + edgec.SplitClient)")
    from edgec.apps.blazeface import main as faces
    argv = [*args.images, "--model", args.model] + (["--out", args.out] if args.out else [])
    return faces(argv)


def _demo_stream(args, frames):
    """faces/ocr over a video or camera: one line per frame; --out: annotated frames."""
    import time
    from edgec.apps import web
    pipeline = web.faces_pipeline(args.model) if args.app == "faces" else web.ocr_pipeline()
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    t0, n = time.perf_counter(), 0
    for n, frame in enumerate(frames, 1):
        annotated, timing = pipeline(frame)
        print(f"frame {n}: inference {timing['infer_ms']:.1f} ms")
        if out:
            annotated.save(out / f"frame_{n:05d}.png")
    print(f"{n} frames, {n / max(time.perf_counter() - t0, 1e-9):.1f} FPS")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgec", description="On-device inference for the edge.")
    p.add_argument("--version", action="version", version="edgec 0.1.0")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert a .tflite/.onnx model to .edgec")
    c.add_argument("model")
    c.add_argument("-o", "--output")
    c.add_argument("--quantize", default="fp32", choices=["fp32", "int8", "int4", "int3", "int2", "mixed"])
    c.add_argument("--size-budget", type=float, metavar="F",
                   help="--quantize mixed: all constants at most F times their fp32 bytes (e.g. 0.4)")
    c.add_argument("--group-size", type=int, default=128, choices=[32, 64, 128],
                   help="--quantize int4/int3/int2: weights per scale and zero point (128)")
    c.add_argument("--lut-tables", default="exact", choices=["exact", "int8"],
                   help="--quantize int4/int3/int2: exact int16 tables, or T-MAC's faster int8 tables")
    c.add_argument("--input-shape", action="append", metavar="NAME:D0,D1,...",
                   help="fix dynamic input dimensions (repeatable)")
    c.add_argument("--calibration", metavar="DIR|NPZ",
                   help="calibration images (folder) or arrays (.npz named by input) for --quantize int8")
    c.add_argument("--calibration-method", choices=["minmax", "percentile", "mse"], default="minmax")
    c.add_argument("--exclude", metavar="NODE,...", help="--quantize int8/int4/int3/int2: keep these nodes in float")
    c.add_argument("--keep-float", metavar="OPTYPE,...", help="--quantize int8: keep these op types in float")
    c.add_argument("--patch", metavar="auto|RxC[@TENSOR]",
                   help="run the first stage patch by patch (MCUNetV2) to cut peak memory")
    c.add_argument("--max-recompute", type=float, default=0.15, help="--patch auto: extra MACs allowed (0.15)")
    c.add_argument("--sparsity", type=float, help="prune this fraction of weight blocks (FC, 1x1 conv) and use "
                   "the block-sparse kernels, e.g. 0.8")
    c.add_argument("--sparse-block", choices=["1x4", "4x1"], default="1x4", help="--sparsity block shape")
    c.add_argument("--mean", type=float, help="input preprocessing stored in the model: (x - mean) / std")
    c.add_argument("--std", type=float)
    c.set_defaults(fn=cmd_convert)

    r = sub.add_parser("run", help="run a .edgec model once and print output statistics")
    r.add_argument("model")
    r.add_argument("--input", action="append", help="FILE.npy|.npz|.bin|IMAGE (one per input, in order)")
    r.add_argument("--output", help="write outputs to this .npz")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--device", default="cpu", choices=["cpu", "cuda", "cuda-emulated"],
                   help="cuda: GPU kernels via libcuda (falls back to the CPU with the reason)")
    r.set_defaults(fn=cmd_run)

    b = sub.add_parser("bench", help="time a .edgec model (optionally against a peer runtime)")
    b.add_argument("model")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--device", default="cpu", choices=["cpu", "cuda", "cuda-emulated"],
                   help="cuda: time the GPU path against edgec on the CPU")
    b.add_argument("--rounds", type=int, default=7)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--compare", choices=["litert", "onnxruntime"])
    b.add_argument("--reference", help="the source model the peer runs (.tflite / .onnx)")
    b.add_argument("--json", help="also write the rows as JSON")
    b.add_argument("--profile", action="store_true", help="per-op times (by op type and the slowest ops)")
    b.add_argument("--trace", metavar="OUT.json", help="per-op times as a Chrome trace")
    b.set_defaults(fn=cmd_bench)

    i = sub.add_parser("inspect", help="dump tensors, ops, arena plan and sizes")
    i.add_argument("model")
    i.add_argument("--no-tensors", action="store_true")
    i.add_argument("--memory", action="store_true", help="arena bytes live per op and the peak's tensors")
    i.set_defaults(fn=cmd_inspect)

    k = sub.add_parser("check", help="which ops of a .tflite/.onnx model edgec supports")
    k.add_argument("model")
    k.set_defaults(fn=cmd_check)

    d = sub.add_parser("demo", help="demo apps: faces (BlazeFace), ocr (PP-OCR) on photos")
    d.add_argument("app", choices=["faces", "ocr", "split"])
    d.add_argument("--images", nargs="+", help="photo files or folders")
    d.add_argument("--video", help="a video file (needs PyAV: pip install av)")
    d.add_argument("--camera", action="store_true", help="Picamera2 on a Pi, else OpenCV (V4L2)")
    d.add_argument("--model", choices=["short", "full", "back"], default="short")
    d.add_argument("--out", help="annotated image (one input) or folder")
    d.add_argument("--web", action="store_true", help="live view in the browser (MJPEG, FPS, latency, start/stop)")
    d.add_argument("--host", default="127.0.0.1", help="--web: address to listen on (0.0.0.0: other machines)")
    d.add_argument("--port", type=int, default=8080)
    d.add_argument("--token", help="--web: require ?token=TOKEN on every request")
    d.add_argument("--server", help="split: the edgec serve URL (http://host:8000)")
    d.add_argument("--split-dir", help="split: the folder `edgec split` wrote for the faces model")
    d.add_argument("--token-file", help="split: the server's bearer token")
    d.set_defaults(fn=cmd_demo)

    va = sub.add_parser("validate", help="layer-by-layer error against the reference runtime")
    va.add_argument("model", help="the source .tflite / .onnx")
    va.add_argument("converted", help="the .edgec made from it")
    va.add_argument("--data", help=".npy (one input) or .npz (inputs in order); default: random")
    va.add_argument("--json", help="also write the rows as JSON")
    va.add_argument("--html", help="also write an HTML report with SQNR per layer")
    va.add_argument("--min-sqnr", type=float, default=30.0, help="exit 1 when a layer is below (dB)")
    va.set_defaults(fn=lambda a: __import__("edgec.converters.validate", fromlist=["main_cli"]).main_cli(a))

    from edgec.targets.cli import add_parser as add_build
    add_build(sub)
    from edgec.targets.server.cli import add_parsers as add_split_serve
    add_split_serve(sub)

    n = sub.add_parser("info", help="version, CPU features, kernels")
    n.set_defaults(fn=cmd_info)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from edgec.converters.graph import ConversionError
    from edgec.runtime import ModelError
    try:
        return int(args.fn(args) or 0)
    except (ConversionError, ModelError, KeyError, ValueError, TypeError, FileNotFoundError, RuntimeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"edgec {args.command}: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
