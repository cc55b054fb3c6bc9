"""Single layers, fp32 and int8, edgec vs LiteRT (XNNPACK), interleaved in one process:
which kernels are behind the peer. Each layer is a one-op Keras model converted by
TensorFlow's own converter (so needs tensorflow), then by edgec.

    python bench/layer_bench.py [--rounds 7] [--layers conv5x5s2_c3_24_128 ...]

Times are the C invoke alone (no Python I/O on either side): min of 50 calls per round,
median of the rounds; the ratio is edgec / LiteRT per round, median over rounds.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def layers():
    import tensorflow as tf
    L = tf.keras.layers

    def inp(hw, c):
        return tf.keras.Input((hw, hw, c), batch_size=1)

    def conv(k, s, c, oc, hw):
        i = inp(hw, c)
        return i, L.Conv2D(oc, k, s, padding="same", activation="relu")(i)

    def dw(k, s, c, hw):
        i = inp(hw, c)
        return i, L.DepthwiseConv2D(k, s, padding="same")(i)

    def pw_add(c, oc, hw):  # BlazeFace's block tail: 1x1 conv + (channel-padded) skip + relu
        i = inp(hw, c)
        r = L.Lambda(lambda t: tf.pad(t, [[0, 0], [0, 0], [0, 0], [0, oc - c]]))(i) if oc > c else i
        return i, L.ReLU()(L.Add()([L.Conv2D(oc, 1)(i), r]))

    def pw(c, oc, hw):
        i = inp(hw, c)
        return i, L.Conv2D(oc, 1)(i)

    def maxpool(c, hw):
        i = inp(hw, c)
        return i, L.MaxPool2D(2)(i)

    return {
        "conv5x5s2_c3_24_128": lambda: conv(5, 2, 3, 24, 128),  # BlazeFace short's first conv
        "conv3x3s2_c3_32_224": lambda: conv(3, 2, 3, 32, 224),  # MobileNet's first conv
        "dw3x3_24_64": lambda: dw(3, 1, 24, 64),
        "dw3x3s2_28_64": lambda: dw(3, 2, 28, 64),
        "dw3x3_96_8": lambda: dw(3, 1, 96, 8),
        "dw5x5_96_16": lambda: dw(5, 1, 96, 16),
        "dw7x7_96_60": lambda: dw(7, 1, 96, 60),
        "pw_add_24_28_64": lambda: pw_add(24, 28, 64),
        "pw_add_24_24_64": lambda: pw_add(24, 24, 64),
        "pw_add_96_96_8": lambda: pw_add(96, 96, 8),
        "pw_32_64_64": lambda: pw(32, 64, 64),
        "pw_32_8_96": lambda: pw(32, 8, 96),
        "maxpool_28_64": lambda: maxpool(28, 64),
    }


INT8 = {"conv3x3s2_c3_32_224", "dw3x3_24_64", "pw_32_64_64"}  # also timed as TF full-integer int8


def to_tflite(model, int8: bool) -> bytes:
    import tensorflow as tf
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        shape = [1, *model.input_shape[1:]]
        rng = np.random.default_rng(0)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([rng.standard_normal(shape).astype(np.float32)] for _ in range(8))
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.inference_input_type = c.inference_output_type = tf.int8
    return c.convert()


def min_time(fn, n):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def compare(tflite: Path, rounds: int, threads: int):
    import edgec
    from edgec.runtime import Interpreter
    try:
        from ai_edge_litert.interpreter import Interpreter as LiteRT
    except ImportError:
        from tflite_runtime.interpreter import Interpreter as LiteRT
    peer = LiteRT(model_path=str(tflite), num_threads=threads)
    peer.allocate_tensors()
    d = peer.get_input_details()[0]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(d["shape"]).astype(np.float32) if d["dtype"] == np.float32 else \
        rng.integers(-128, 128, d["shape"]).astype(d["dtype"])
    peer.set_tensor(d["index"], x)
    path = tflite.with_suffix(".edgec")
    edgec.convert(tflite, progress=False).save(path)
    it = Interpreter(path, num_threads=threads)
    keep = it.run([x])  # noqa: F841 (the output arrays the raw invoke writes stay alive)
    lib, handle, ins, outs = it._lib, it._interp, it._in_ptrs, it._out_ptrs
    ours = [], []
    for _ in range(rounds):
        a = min_time(lambda: lib.edgec_interpreter_invoke(handle, ins, outs), 50)
        b = min_time(peer.invoke, 50)
        ours[0].append(a)
        ours[1].append(b)
    e, p = np.array(ours[0]) * 1e3, np.array(ours[1]) * 1e3
    return float(np.median(e)), float(np.median(p)), float(np.median(e / p))


def main():
    table = layers()
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--layers", nargs="+", default=list(table), choices=list(table))
    args = ap.parse_args()
    import tensorflow as tf
    print("| layer | dtype | edgec ms | litert ms | edgec / litert |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.layers:
            i, o = table[name]()
            model = tf.keras.Model(i, o)
            for int8 in ([False, True] if name in INT8 else [False]):
                path = Path(tmp) / f"{name}{'_int8' if int8 else ''}.tflite"
                path.write_bytes(to_tflite(model, int8))
                e, p, r = compare(path, args.rounds, args.threads)
                print(f"| {name} | {'int8' if int8 else 'fp32'} | {e:.4f} | {p:.4f} | {r:.2f} |", flush=True)


if __name__ == "__main__":
    main()
