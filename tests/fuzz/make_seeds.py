"""Seed corpus for the .edgec fuzzers: small models that together use every op, fp32 and
int8, written as .edgec files, plus the small real models among the test fixtures
(TF-converted, multi-op: their arena plans have tensors that share memory over time).
Larger real models are too slow to mutate; these carry the same structures (sections,
tensors, ops, params, constants, arena plans).

    python tests/fuzz/make_seeds.py OUT_DIR
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import edgec
from edgec.converters.graph import Graph
from edgec.converters.quantize import lower_int8


def _graph(op, in_shapes, out_shape, params=None, consts=(), dtype=np.float32, q=None):
    g = Graph(name=f"seed-{op}")
    names = []
    for i, shape in enumerate(in_shapes):
        g.add_tensor(f"x{i}", shape, dtype, scale=q[0] if q else 0.0, zero_point=q[1] if q else 0)
        g.inputs.append(f"x{i}")
        names.append(f"x{i}")
    for name, array, scales in consts:
        t = g.add_tensor(name, array.shape, array.dtype, array)
        if scales is not None:
            t.channel_scales, t.scale = scales, float(scales[0])
        names.append(name)
    g.add_tensor("y", out_shape, dtype, scale=q[0] if q else 0.0, zero_point=q[1] if q else 0)
    g.add_node(op, names, ["y"], params or {}, name=f"{op.lower()}_seed")
    g.outputs = ["y"]
    return lower_int8(g) if q else g


def seeds() -> dict:
    rng = np.random.default_rng(0)
    f = np.float32
    w3 = rng.standard_normal((4, 3, 3, 3)).astype(f)
    out = {
        "conv": _graph("CONV2D", [(1, 6, 6, 3)], (1, 6, 6, 4), {"pad_top": 1, "pad_left": 1, "pad_bottom": 1,
                       "pad_right": 1, "act_min": 0.0}, [("w", w3, None), ("b", np.ones(4, f), None)]),
        "depthwise": _graph("DEPTHWISE_CONV2D", [(1, 5, 5, 3)], (1, 3, 3, 3), {},
                            [("w", rng.standard_normal((1, 3, 3, 3)).astype(f), None)]),
        "fc": _graph("FULLY_CONNECTED", [(2, 8)], (2, 5), {}, [("w", rng.standard_normal((5, 8)).astype(f), None)]),
        "matmul": _graph("BATCH_MATMUL", [(2, 3, 4), (2, 4, 5)], (2, 3, 5)),
        "add": _graph("ADD", [(2, 3, 4), (4,)], (2, 3, 4), {"act_max": 6.0}),
        "prelu": _graph("PRELU", [(1, 4, 4, 3), (3,)], (1, 4, 4, 3)),
        "unary": _graph("UNARY", [(3, 5)], (3, 5), {"kind": 0}),
        "gelu": _graph("GELU", [(3, 5)], (3, 5)),
        "maxpool": _graph("MAX_POOL2D", [(1, 6, 6, 2)], (1, 3, 3, 2), {"filter_h": 2, "filter_w": 2,
                          "stride_h": 2, "stride_w": 2}),
        "avgpool": _graph("AVG_POOL2D", [(1, 5, 5, 2)], (1, 5, 5, 2), {"filter_h": 3, "filter_w": 3,
                          "pad_top": 1, "pad_left": 1, "pad_bottom": 1, "pad_right": 1}),
        "mean": _graph("REDUCE", [(1, 4, 4, 3)], (1, 3), {"axes_mask": 6}),
        "pad": _graph("PAD", [(2, 3)], (4, 6), {"pads": [1, 1, 2, 1], "mode": 1}),
        "concat": _graph("CONCAT", [(2, 3), (2, 2)], (2, 5), {"axis": 1}),
        "transpose": _graph("TRANSPOSE", [(2, 3, 4)], (4, 2, 3), {"perm": [2, 0, 1]}),
        "softmax": _graph("SOFTMAX", [(2, 7)], (2, 7), {"axis": 1}),
        "resize": _graph("RESIZE", [(1, 3, 4, 2)], (1, 6, 8, 2), {"mode": 1, "coord": 2}),
        "d2s": _graph("DEPTH_TO_SPACE", [(1, 2, 2, 8)], (1, 4, 4, 2), {"block_size": 2}),
        "conv_int8": _graph("CONV2D", [(1, 5, 5, 3)], (1, 3, 3, 4), {},
                            [("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8),
                              np.full(4, 0.01, f)), ("b", np.arange(4, dtype=np.int32), None)],
                            np.int8, (0.05, -3)),
        "add_int8": _graph("ADD", [(2, 6), (2, 6)], (2, 6), {}, (), np.int8, (0.1, 4)),
        "mean_int8": _graph("REDUCE", [(1, 3, 3, 4)], (1, 4), {"axes_mask": 6, "q_mode": 1}, (), np.int8, (0.1, 0)),
    }
    out = {k: edgec.Model(g).to_bytes() for k, g in out.items()}
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    for name in ("int8_ops", "float_ops", "dynamic_batch"):  # 2-19 KB as .edgec
        out[f"real_{name}"] = edgec.convert(fixtures / f"{name}.tflite", progress=False).to_bytes()
    return out


def main(out_dir: str):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds().items():
        (out / f"{name}.edgec").write_bytes(data)
    print(f"wrote {len(list(out.glob('*.edgec')))} seeds to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz-seeds")
