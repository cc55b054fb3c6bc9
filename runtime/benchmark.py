"""Timing a .edgec model, optionally against a peer runtime in the same process.

Rounds are interleaved (edgec, peer, edgec, peer, ...) so both see the same machine
state; each round times `iters` inferences. Reported: median and p99 per inference over
all timed inferences, and the ratio of medians (edgec / peer; < 1 means edgec is faster).
"""
from __future__ import annotations

import time

import numpy as np


def _random_like(shape, dtype, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -128), min(info.max, 127) + 1, size=shape).astype(dtype)


class _Edgec:
    name = "edgec"

    def __init__(self, model, threads, device="cpu"):
        from . import Interpreter
        self.it = Interpreter(model, num_threads=threads, device=device)
        if self.it.device != "cpu":  # the device that actually runs (after any fallback)
            self.name = f"edgec-{self.it.device}"

    def feeds(self, rng):
        return {d.name: _random_like(d.shape, d.dtype, rng) for d in self.it.inputs}

    def __call__(self, feeds):
        self.it.run(feeds)


class _LiteRT:
    name = "litert"

    def __init__(self, model, threads, op_resolver=None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            from tflite_runtime.interpreter import Interpreter
        kw = {"experimental_op_resolver_type": op_resolver} if op_resolver is not None else {}
        self.it = Interpreter(model_path=str(model), num_threads=threads, **kw)
        self.it.allocate_tensors()
        self.ins = self.it.get_input_details()

    def feeds(self, rng):
        return [_random_like(tuple(d["shape"]), d["dtype"], rng) for d in self.ins]

    def __call__(self, feeds):
        for d, x in zip(self.ins, feeds):
            self.it.set_tensor(d["index"], x)
        self.it.invoke()


class _OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, model, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])

    def feeds(self, rng):
        out = {}
        for d in self.sess.get_inputs():
            shape = tuple(x if isinstance(x, int) else 1 for x in d.shape)
            dt = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
                  "tensor(int64)": np.int64, "tensor(int32)": np.int32}.get(d.type, np.float32)
            out[d.name] = _random_like(shape, dt, rng)
        return out

    def __call__(self, feeds):
        self.sess.run(None, feeds)


PARK_S = 0.05  # between runtimes when timing several threads


def _time(fn, feeds, iters):
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn(feeds)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def benchmark(model, threads=1, rounds=7, warmup=3, iters=5, compare=None, reference=None,
              seed=0, device="cpu") -> list:
    """Rows {runtime, threads, median_ms, p99_ms, runs, ratio_vs_peer} for edgec and the peer
    (rounds interleaved). device="cuda": the peer is edgec on the CPU unless compare is given."""
    rng = np.random.default_rng(seed)
    runners = [_Edgec(model, threads, device)]
    if device != "cpu" and not compare:
        runners.append(_Edgec(model, threads))
        runners[-1].name = "edgec-cpu"
    elif compare:
        if not reference:
            raise ValueError("--compare needs --reference MODEL (the .tflite/.onnx the peer runs)")
        runners.append({"litert": _LiteRT, "onnxruntime": _OnnxRuntime}[compare](reference, threads))
    feeds = [r.feeds(rng) for r in runners]
    for r, f in zip(runners, feeds):
        _time(r, f, warmup)
    times = {r.name: [] for r in runners}
    for _ in range(rounds):
        for r, f in zip(runners, feeds):
            if threads > 1 and len(runners) > 1:
                # let the other runtime's worker threads stop spinning and park first: on a
                # machine with as many cores as threads, spinning workers of the runtime that
                # just finished would otherwise steal cores from the one being timed
                time.sleep(PARK_S)
                _time(r, f, 1)
            times[r.name].extend(_time(r, f, iters))
    rows = []
    for r in runners:
        t = np.array(times[r.name])
        rows.append({"runtime": r.name, "threads": threads, "median_ms": float(np.median(t)),
                     "p99_ms": float(np.percentile(t, 99)), "runs": int(t.size)})
    if len(rows) == 2:
        rows[0]["ratio_vs_peer"] = rows[0]["median_ms"] / rows[1]["median_ms"]
    return rows


def format_table(rows) -> str:
    lines = [f"{'runtime':<20} {'threads':>7} {'median ms':>10} {'p99 ms':>10} {'runs':>5}"]
    for r in rows:
        lines.append(f"{r['runtime']:<20} {r['threads']:>7} {r['median_ms']:>10.3f} {r['p99_ms']:>10.3f} {r['runs']:>5}")
    if "ratio_vs_peer" in rows[0]:
        lines.append(f"edgec / {rows[1]['runtime']} = {rows[0]['ratio_vs_peer']:.2f}x "
                     f"({'faster' if rows[0]['ratio_vs_peer'] < 1 else 'slower'})")
    return "\n".join(lines)


def profile_ops(model, threads: int = 1, runs: int = 10, seed: int = 0) -> list:
    """Per-op times over `runs` inferences: rows {index, op, name, median_ms, min_ms},
    in execution order (the C core's clock around each op's eval, threads included)."""
    from . import Interpreter
    it = Interpreter(model, num_threads=threads, profile=True)
    rng = np.random.default_rng(seed)
    feeds = {d.name: _random_like(d.shape, d.dtype, rng) for d in it.inputs}
    samples = []
    for _ in range(max(runs, 1) + 1):
        it.run(feeds)
        samples.append(it.profile())
    samples = samples[1:]  # the first run warms caches
    rows = []
    for i, row in enumerate(samples[0]):
        t = [s[i]["ms"] for s in samples]
        rows.append({"index": i, "op": row["op"], "name": row["name"], "median_ms": float(np.median(t)),
                     "min_ms": float(min(t))})
    return rows


def chrome_trace(rows: list, path) -> None:
    """Write per-op rows as a Chrome trace (chrome://tracing, ui.perfetto.dev): one
    complete event per op, back to back in execution order, median durations."""
    import json
    from pathlib import Path
    events, t = [], 0.0
    for r in rows:
        dur = r["median_ms"] * 1e3
        events.append({"name": r["op"], "cat": "op", "ph": "X", "ts": round(t, 3), "dur": round(dur, 3),
                       "pid": 1, "tid": 1, "args": {"index": r["index"], "node": r["name"]}})
        t += dur
    Path(path).write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}))


def format_profile(rows: list, top: int = 15) -> str:
    total = sum(r["median_ms"] for r in rows) or 1e-9
    by_op = {}
    for r in rows:
        by_op[r["op"]] = by_op.get(r["op"], 0.0) + r["median_ms"]
    lines = [f"per op type (median ms, {total:.3f} ms in ops):"]
    lines += [f"  {op:<18} {ms:9.3f}  {ms / total:6.1%}" for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1])]
    lines.append(f"slowest {min(top, len(rows))} ops:")
    for r in sorted(rows, key=lambda r: -r["median_ms"])[:top]:
        lines.append(f"  #{r['index']:<4} {r['op']:<18} {r['median_ms']:9.3f}  {r['name'][:60]}")
    return "\n".join(lines)
