"""`edgec validate MODEL OUT.edgec`: run the source model in its reference runtime and the
converted model in edgec side by side, layer by layer, and report per tensor the error.

References: .tflite in LiteRT with TFLite's reference kernels (BUILTIN_REF, the
semantics edgec's int8 path is bit-exact with) and every tensor preserved; .onnx in
onnxruntime with every node output added as a graph output (no graph optimizations).
edgec's intermediates come from runtime/reference.py, which is bit-exact with the C
kernels for int8 (tests/test_int8_differential.py) and within 1e-5 for fp32; the final
outputs come from the C interpreter. Tensors are matched by name (the frontends keep the
source names; NHWC copies of NCHW tensors are matched through their transpose).

Per row: tensor, producing op, shape, dtype, SQNR (dB; inf when equal), cosine, max
|error| in real units and, for int8 tensors, in LSB."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np


def _metrics(ref: np.ndarray, got: np.ndarray, scale: float, zero_point: int) -> dict:
    """Errors in real units: integer tensors are dequantized with edgec's (scale, zero
    point); a float reference (an fp32 source model) is compared as it is."""
    def real(a):
        a = a.astype(np.float64).ravel()
        return (a - zero_point) * scale if scale else a
    both_int = scale and ref.dtype.kind in "iu"
    r, g = (real(ref) if both_int else ref.astype(np.float64).ravel()), real(got)
    err = r - g
    p_sig, p_err = float(np.sum(r * r)), float(np.sum(err * err))
    sqnr = float("inf") if p_err == 0 else (10 * np.log10(p_sig / p_err) if p_sig > 0 else float("-inf"))
    den = float(np.linalg.norm(r) * np.linalg.norm(g))
    cos = 1.0 if p_err == 0 else (float(r @ g / den) if den else 0.0)
    row = {"sqnr_db": sqnr, "cosine": cos, "max_abs_error": float(np.abs(err).max()) if err.size else 0.0}
    if both_int:
        row["max_lsb"] = int(np.abs(ref.astype(np.int64) - got.astype(np.int64)).max()) if ref.size else 0
    return row


def _tflite_tensors(path: Path, feeds: list) -> dict:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], x)
    it.invoke()
    out = {}
    for d in it.get_tensor_details():
        try:
            out[d["name"]] = it.get_tensor(d["index"])
        except ValueError:
            continue
    return out


def _onnx_tensors(path: Path, feeds: list) -> dict:
    import onnx
    import onnxruntime as ort
    m = onnx.load(str(path))
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
                have.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    vals = sess.run(names, {i.name: x for i, x in zip(sess.get_inputs(), feeds)})
    return dict(zip(names, vals))


def _match(ref: np.ndarray, got: np.ndarray):
    """got as ref's layout: equal shape, or NHWC got for an NCHW ref."""
    if ref.shape == got.shape:
        return got
    if ref.ndim == 4 and got.ndim == 4 and ref.shape == (got.shape[0], got.shape[3], got.shape[1], got.shape[2]):
        return got.transpose(0, 3, 1, 2)
    if ref.size == got.size:
        return got.reshape(ref.shape)
    return None


def validate(model, converted, data=None, seed: int = 0) -> list:
    """Rows (dicts) per matched tensor, in edgec's execution order; see the module doc."""
    from ..runtime import Interpreter, reference
    from ..runtime import format as fmt
    model, converted = Path(model), Path(converted)
    blob = converted.read_bytes()
    mf = fmt.read_model(blob)
    it = Interpreter(blob)
    if data is None:
        rng = np.random.default_rng(seed)
        feeds = [rng.integers(-128, 128, d.shape).astype(d.dtype) if d.dtype.kind == "i" else
                 rng.uniform(-1, 1, d.shape).astype(d.dtype) for d in it.inputs]
    else:
        feeds = list(data)
    by_name = {d.name: x for d, x in zip(it.inputs, feeds)}
    ours = reference.run_model(blob, by_name, keep_all=True)
    final = it.run(by_name)  # the C interpreter's outputs replace reference.py's
    ours.update(final)
    src_feeds = []
    for d, x in zip(it.inputs, feeds):  # the source model's layout (NCHW for ONNX)
        src_feeds.append(x.transpose(0, 3, 1, 2) if model.suffix == ".onnx" and x.ndim == 4 and
                         d.name.endswith("/nhwc") else x)
    ref = _tflite_tensors(model, src_feeds) if model.suffix == ".tflite" else _onnx_tensors(model, src_feeds)
    producer = {t: op for op in mf.ops for t in op.outputs}
    aliases = (mf.metadata or {}).get("aliases", {})  # fused ops: which source tensor a tensor now holds
    rows = []
    for t in mf.tensors:
        if t.storage == "constant" or t.name not in ours:
            continue
        src_name = aliases.get(t.name, t.name)
        name = src_name if src_name in ref else src_name.removesuffix("/nhwc") \
            if src_name.removesuffix("/nhwc") in ref else None
        if name is None:
            continue
        got = _match(np.asarray(ref[name]), np.asarray(ours[t.name]))
        if got is None:
            continue
        op = producer.get(t.index)
        rows.append({"tensor": t.name, "op": op.op if op else "input", "shape": list(t.shape), "dtype": t.dtype.name,
                     **_metrics(np.asarray(ref[name]), got, t.scale if t.dtype.kind in "iu" else 0.0,
                                t.zero_point)})
    return rows


def format_rows(rows: list, worst: int = 5) -> str:
    lines = [f"{'tensor':<48} {'op':<18} {'SQNR dB':>9} {'cosine':>9} {'max err':>10} {'LSB':>4}"]
    bad = sorted(rows, key=lambda r: r["sqnr_db"])[:worst]
    for r in rows:
        mark = " <" if r in bad and r["sqnr_db"] != float("inf") else ""
        lines.append(f"{r['tensor'][-48:]:<48} {r['op']:<18} {r['sqnr_db']:>9.2f} {r['cosine']:>9.6f} "
                     f"{r['max_abs_error']:>10.3g} {r.get('max_lsb', ''):>4}{mark}")
    exact = sum(1 for r in rows if r["max_abs_error"] == 0)
    lines.append(f"{len(rows)} tensors compared, {exact} identical; worst SQNR "
                 f"{min((r['sqnr_db'] for r in rows), default=float('inf')):.2f} dB")
    return "\n".join(lines)


def write_html(rows: list, path, title: str):
    """A self-contained report: the table and an inline SVG bar chart of SQNR per layer."""
    finite = [min(r["sqnr_db"], 120.0) for r in rows]
    w, h = max(400, 6 * len(rows)), 200
    bars = "".join(f'<rect x="{i * w / max(len(rows), 1):.1f}" y="{h - v / 120 * h:.1f}" width="{w / max(len(rows), 1) * 0.8:.1f}" '
                   f'height="{v / 120 * h:.1f}" fill="{"#c33" if v < 30 else "#39c"}"><title>{html.escape(r["tensor"])}: '
                   f'{r["sqnr_db"]:.1f} dB</title></rect>' for i, (r, v) in enumerate(zip(rows, finite)))
    table = "".join(f"<tr><td>{html.escape(r['tensor'])}</td><td>{r['op']}</td><td>{r['sqnr_db']:.2f}</td>"
                    f"<td>{r['cosine']:.6f}</td><td>{r['max_abs_error']:.3g}</td><td>{r.get('max_lsb', '')}</td></tr>"
                    for r in rows)
    Path(path).write_text(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        f"<p>SQNR per layer (dB, capped at 120 = identical; red below 30 dB)</p>"
        f'<svg width="{w}" height="{h}" style="border:1px solid #ccc">{bars}</svg>'
        f"<table border=1 cellspacing=0><tr><th>tensor</th><th>op</th><th>SQNR dB</th><th>cosine</th>"
        f"<th>max |error|</th><th>max LSB</th></tr>{table}</table>")


def main_cli(args) -> int:
    data = None
    if args.data:
        p = Path(args.data)
        arrays = np.load(p)
        data = [arrays[k] for k in arrays.files] if p.suffix == ".npz" else [arrays]
    rows = validate(args.model, args.converted, data)
    print(format_rows(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=float))
    if args.html:
        write_html(rows, args.html, f"edgec validate: {Path(args.converted).name} vs {Path(args.model).name}")
    if not rows:
        print("edgec validate: no tensors could be matched by name", flush=True)
        return 1
    worst = min(r["sqnr_db"] for r in rows)
    return 1 if worst < args.min_sqnr else 0
