"""Block-sparse (and binary) kernels against our dense kernels of the same shape, in one
run, 1 thread: medians over interleaved rounds (dense, sparse, dense, ...), each round
timing `--iters` inferences of a one-op model. Results go to BENCHMARKS.md ("Binary and
sparse"). Usage: PYTHONPATH=. python bench/binary_sparse_bench.py [--rounds 7 --iters 20]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import edgec
from edgec.converters.graph import Graph
from edgec.converters.quantize.lower import lower_int8
from edgec.converters.passes import prune
from edgec.runtime import sparse as sp


def _graph(name, x_shape, y_shape, dtype, xq=(0.05, 3), yq=(0.5, -2)):
    g = Graph(name=name)
    kw = dict(scale=xq[0], zero_point=xq[1]) if dtype == np.int8 else {}
    g.add_tensor("x", x_shape, dtype, **kw)
    g.inputs.append("x")
    kw = dict(scale=yq[0], zero_point=yq[1]) if dtype == np.int8 else {}
    g.add_tensor("y", y_shape, dtype, **kw)
    g.outputs = ["y"]
    return g


def dense_and_sparse(kind, dtype, block, sparsity, rng):
    """(dense graph, sparse graph) of a 1x1 conv 56x56x128->128 ('conv1x1') or an FC
    1x1024->1024 ('fc'), same pruned weights; int8 with integer requantization."""
    if kind == "conv1x1":
        n, k, x_shape, y_shape = 128, 128, (1, 56, 56, 128), (1, 56, 56, 128)
    else:
        n, k, x_shape, y_shape = 1024, 1024, (1, 1, 1, 1024), (1, 1, 1, 1024)
    w = sp.prune_blocks_ref(rng.standard_normal((n, k)).astype(np.float32), sparsity, block)
    graphs = []
    for _ in range(2):
        g = _graph(f"{kind}-{np.dtype(dtype).name}", x_shape, y_shape, dtype)
        if dtype == np.int8:
            scales = (np.abs(w).max(axis=1) / 127).astype(np.float32)
            wq = np.round(w / scales[:, None]).astype(np.int8)
            t = g.add_tensor("w", (n, 1, 1, k), np.int8, wq.reshape(n, 1, 1, k))
            t.channel_scales, t.scale = scales, float(scales[0])
            g.add_tensor("b", (n,), np.int32, rng.integers(-2000, 2000, n).astype(np.int32))
        else:
            g.add_tensor("w", (n, 1, 1, k), np.float32, w.reshape(n, 1, 1, k))
            g.add_tensor("b", (n,), np.float32, rng.standard_normal(n).astype(np.float32))
        g.add_node("CONV2D", ["x", "w", "b"], ["y"], {}, name="layer")
        lower_int8(g)
        graphs.append(g)
    prune.lower_sparse(graphs[1], block)
    assert graphs[1].nodes[0].op == "SPARSE_FULLY_CONNECTED"
    return graphs


def dense_fc_int8_reference(rng, sparsity, block):
    """int8 FULLY_CONNECTED 1024->1024 (its portable kernel), same pruned weights."""
    n = k = 1024
    w = sp.prune_blocks_ref(rng.standard_normal((n, k)).astype(np.float32), sparsity, block)
    g = _graph("fc-int8", (1, 1024), (1, 1024), np.int8)
    t = g.add_tensor("w", (n, k), np.int8, np.round(w * 40).clip(-127, 127).astype(np.int8))
    t.scale = 0.02
    g.add_tensor("b", (n,), np.int32, np.zeros(n, np.int32))
    g.add_node("FULLY_CONNECTED", ["x", "w", "b"], ["y"], {}, name="fc")
    lower_int8(g)
    return g


def binary_and_int8_conv(rng):
    """(int8 CONV2D, BINARY_CONV2D): 3x3, 64 -> 64 channels, 56x56, pad 1, stride 1."""
    from edgec.runtime import bnn
    p = {"pad_top": 1, "pad_left": 1, "pad_bottom": 1, "pad_right": 1}
    gi = _graph("conv3x3-int8", (1, 56, 56, 64), (1, 56, 56, 64), np.int8)
    t = gi.add_tensor("w", (64, 3, 3, 64), np.int8, rng.integers(-127, 128, (64, 3, 3, 64)).astype(np.int8))
    t.channel_scales, t.scale = rng.uniform(0.001, 0.01, 64).astype(np.float32), 0.005
    gi.add_tensor("b", (64,), np.int32, rng.integers(-2000, 2000, 64).astype(np.int32))
    gi.add_node("CONV2D", ["x", "w", "b"], ["y"], dict(p), name="conv")
    lower_int8(gi)
    gb = _graph("conv3x3-binary", (1, 56, 56, 64), (1, 56, 56, 64), np.float32)
    bits = bnn.pack_sign_bits_ref(np.where(rng.random((64, 3, 3, 64)) < 0.5, -1, 1))
    gb.add_tensor("w", bits.shape, np.uint8, bits)
    gb.add_tensor("s", (64,), np.float32, rng.uniform(0.1, 1, 64).astype(np.float32))
    gb.add_tensor("b", (64,), np.float32, rng.standard_normal(64).astype(np.float32))
    gb.add_node("BINARY_CONV2D", ["x", "w", "s", "b"], ["y"], dict(p), name="bconv")
    return gi, gb


def time_models(models: dict, rounds: int, iters: int) -> dict:
    """name -> (wall, kernel): median seconds per inference over interleaved rounds, where
    wall is Interpreter.run end to end (Python binding included) and kernel the C core's
    own per-op time (profile=True) summed over the model's ops."""
    from edgec.runtime._lib import ffi
    rng = np.random.default_rng(0)
    its = {}
    for name, g in models.items():
        it = edgec.Interpreter(edgec.Model(g).to_bytes(), num_threads=1, profile=True)
        d = it.inputs[0]
        x = rng.standard_normal(d.shape).astype(np.float32) if d.dtype == np.float32 else \
            rng.integers(-128, 128, d.shape).astype(np.int8)
        feeds = {d.name: x}
        it.run(feeds)  # warm up (packs weights)
        n = it._lib.edgec_interpreter_profile(it._interp, ffi.NULL, 0)
        its[name] = (it, feeds, n, ffi.new("uint64_t[]", max(n, 1)))
    wall = {name: [] for name in models}
    kernel = {name: [] for name in models}
    for _ in range(rounds):
        for name, (it, feeds, n, ns) in its.items():
            ks = []
            t0 = time.perf_counter()
            for _ in range(iters):
                it.run(feeds)
                it._lib.edgec_interpreter_profile(it._interp, ns, n)
                ks.append(sum(ns[i] for i in range(n)) * 1e-9)
            wall[name].append((time.perf_counter() - t0) / iters)
            kernel[name].append(float(np.median(ks)))
    return {name: (float(np.median(wall[name])), float(np.median(kernel[name]))) for name in models}


def _us(t):
    return f"{t * 1e6:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--sparsity", type=float, default=0.8)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    gi, gb = binary_and_int8_conv(rng)
    t = time_models({"int8": gi, "binary": gb}, args.rounds, args.iters)
    binary_row = (f"| conv 3x3 64->64 56x56 pad 1 | {_us(t['int8'][1])} | {_us(t['binary'][1])} | "
                  f"**{t['int8'][1] / t['binary'][1]:.2f}x** | {_us(t['int8'][0])} | {_us(t['binary'][0])} | "
                  f"{t['int8'][0] / t['binary'][0]:.2f}x |")
    print(binary_row, flush=True)
    rows = []
    for kind in ("conv1x1", "fc"):
        for dtype in (np.float32, np.int8):
            for block in ("1x4", "4x1"):
                dense, sparse = dense_and_sparse(kind, dtype, block, args.sparsity, rng)
                models = {"dense": dense, "sparse": sparse}
                if kind == "fc" and dtype == np.int8:
                    models["fc_op"] = dense_fc_int8_reference(rng, args.sparsity, block)
                t = time_models(models, args.rounds, args.iters)
                extra = f" (int8 FULLY_CONNECTED op: {_us(t['fc_op'][1])} us)" if "fc_op" in t else ""
                label = f"{'1x1 conv 56x56x128->128' if kind == 'conv1x1' else 'FC 1x1024->1024'} " \
                        f"{np.dtype(dtype).name} {block}"
                rows.append(f"| {label} | {_us(t['dense'][1])}{extra} | {_us(t['sparse'][1])} | "
                            f"**{t['dense'][1] / t['sparse'][1]:.2f}x** | {_us(t['dense'][0])} | {_us(t['sparse'][0])} | "
                            f"{t['dense'][0] / t['sparse'][0]:.2f}x |")
                print(rows[-1], flush=True)
    print("\n| layer | int8 CONV2D kernel us | BINARY_CONV2D kernel us | kernel speedup | int8 run() us | "
          "binary run() us | run() speedup |\n|---|---|---|---|---|---|---|\n" + binary_row)
    print(f"\n| layer ({args.sparsity:.0%} block-sparse) | dense kernel us | sparse kernel us | kernel speedup | "
          "dense run() us | sparse run() us | run() speedup |\n|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
