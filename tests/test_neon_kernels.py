"""The aarch64 NEON kernels under qemu-aarch64, on the baseline core users have (Pi 4,
`-cpu cortex-a72`) and on everything QEMU emulates (`-cpu max`): int8 outputs equal
runtime/reference.py and the C reference kernels (EDGEC_KERNELS=reference) byte for
byte; fp32 outputs agree within 1e-5 of the output's magnitude. Random single-op models
reach every block and tail of the SIMD loops; real int8 models cover the rest.
Correctness only: QEMU timings mean nothing."""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import need
from edgec.runtime import reference
from test_c_core import CROSS, ROOT, cmake_build
from test_int8_differential import int8_graph, weights
from test_ops_differential import conv_out, single

CPUS = ["cortex-a72", "max"]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def aarch64(tmp_path_factory):
    toolchain, cc, qemu = CROSS["aarch64"]
    need(shutil.which(cc) is not None and shutil.which(qemu[0]) is not None, "aarch64 toolchain / qemu missing")
    build = cmake_build(tmp_path_factory.mktemp("neon"), f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake/toolchains' / toolchain}",
                        "-DEDGEC_TESTS=OFF")
    return build / "edgec-run", qemu


def run_qemu(aarch64, cpu, model: Path, feeds: list, out: Path, reference_kernels=False) -> list:
    exe, qemu = aarch64
    out.mkdir(parents=True, exist_ok=True)
    args = []
    for i, x in enumerate(feeds):
        x.tofile(out / f"in{i}.bin")
        args += ["-i", str(out / f"in{i}.bin")]
    env = {**os.environ, "EDGEC_KERNELS": "reference"} if reference_kernels else \
        {k: v for k, v in os.environ.items() if k != "EDGEC_KERNELS"}
    r = subprocess.run([qemu[0], "-cpu", cpu, *qemu[1:], str(exe), str(model), *args, "-o", str(out)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    return sorted(out.glob("output_*.bin"))


def random_models(tmp_path: Path) -> list:
    """(path, feeds in input order, reference outputs) for int8 and fp32 single-op graphs."""
    rng = np.random.default_rng(7)
    cases = []
    for i in range(16):
        h, w, ic, oc, k = (int(v) for v in (rng.integers(1, 10), rng.integers(1, 24), rng.integers(1, 40),
                                             rng.integers(1, 40), rng.integers(1, 6)))
        stride, pad = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
        if oh < 1 or ow < 1:
            continue
        p = {"stride_h": stride, "stride_w": stride, "pad_top": pad, "pad_left": pad, "pad_bottom": pad,
             "pad_right": pad, "act_min": 0.0 if i % 3 == 0 else -np.inf, "act_max": np.inf}
        depthwise = i % 2 == 1
        if i < 10:  # int8
            xq, yq = (float(rng.uniform(0.01, 0.3)), int(rng.integers(-128, 128))), \
                     (float(rng.uniform(0.01, 0.3)), int(rng.integers(-128, 128)))
            if depthwise:
                wt, scales = weights(rng, (1, k, k, ic), ic)
                op, oc, p = "DEPTHWISE_CONV2D", ic, {**p, "depth_multiplier": 1}
            else:
                wt, scales = weights(rng, (oc, k, k, ic), oc)
                op = "CONV2D"
            bias = rng.integers(-20000, 20000, oc).astype(np.int32)
            g, feeds = int8_graph(op, [(1, h, w, ic)], [xq], (1, oh, ow, oc), yq, p,
                                  [("w", wt, scales), ("b", bias, None)], i)
        else:  # fp32
            shape = (1, k, k, ic) if depthwise else (oc, k, k, ic)
            wt = rng.standard_normal(shape).astype(np.float32)
            b = rng.standard_normal(ic if depthwise else oc).astype(np.float32)
            op, params = ("DEPTHWISE_CONV2D", {**p, "depth_multiplier": 1}) if depthwise else ("CONV2D", p)
            g, feeds = single(op, [(1, h, w, ic), None, None], (1, oh, ow, ic if depthwise else oc), params,
                              consts={1: wt, 2: b}, seed=i)
        path = tmp_path / f"case{i}.edgec"
        data = edgec.Model(g).to_bytes()
        path.write_bytes(data)
        cases.append((path, [feeds[n] for n in g.inputs], reference.run_model(data, feeds)))
    for i, (k, stride, pad, c) in enumerate([(2, 2, 0, 13), (3, 1, 1, 37)]):  # fp32 max pool, NaN/inf taps
        h, w = 9, 14
        p = {"stride_h": stride, "stride_w": stride, "pad_top": pad, "pad_left": pad, "pad_bottom": pad,
             "pad_right": pad, "act_min": -np.inf if i else 0.0, "act_max": np.inf, "filter_h": k, "filter_w": k,
             "count_include_pad": 0}
        oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
        g, feeds = single("MAX_POOL2D", [(1, h, w, c)], (1, oh, ow, c), p, seed=300 + i)
        special = rng.random(feeds["x0"].shape)
        feeds["x0"][special < 0.03] = np.nan
        feeds["x0"][(special >= 0.03) & (special < 0.06)] = np.inf
        path = tmp_path / f"maxpool{i}.edgec"
        data = edgec.Model(g).to_bytes()
        path.write_bytes(data)
        cases.append((path, [feeds[n] for n in g.inputs], reference.run_model(data, feeds)))
    for i, (k, stride, oc, rc) in enumerate([(1, 1, 37, 29), (3, 2, 24, 24), (5, 2, 20, 13)]):
        # fp32 conv + fused residual (epilogue add, channels past rc add 0); k > 1: implicit im2col rows
        h, w, c, pad = 9, 23, 3 if k > 1 else 11, k // 2
        p = {"stride_h": stride, "stride_w": stride, "pad_top": pad, "pad_left": pad, "pad_bottom": pad,
             "pad_right": pad, "act_min": 0.0, "act_max": 6.0}
        oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
        g, feeds = single("CONV2D", [(1, h, w, c), None, None, (1, oh, ow, rc)], (1, oh, ow, oc), p,
                          consts={1: rng.standard_normal((oc, k, k, c)).astype(np.float32),
                                  2: rng.standard_normal(oc).astype(np.float32)}, seed=200 + i)
        path = tmp_path / f"res{k}s{stride}.edgec"
        data = edgec.Model(g).to_bytes()
        path.write_bytes(data)
        cases.append((path, [feeds[n] for n in g.inputs], reference.run_model(data, feeds)))
    for i, (k, stride) in enumerate([(3, 1), (3, 2), (5, 1), (5, 2), (7, 1)]):  # fp32 depthwise 8-pixel interiors + tails
        h, w, c, pad = 7, 37, 13, k // 2
        p = {"stride_h": stride, "stride_w": stride, "pad_top": pad, "pad_left": pad, "pad_bottom": pad,
             "pad_right": pad, "act_min": -np.inf, "act_max": np.inf, "depth_multiplier": 1}
        oh, ow = conv_out(h, k, stride, 1, pad, pad), conv_out(w, k, stride, 1, pad, pad)
        g, feeds = single("DEPTHWISE_CONV2D", [(1, h, w, c), None, None], (1, oh, ow, c), p,
                          consts={1: rng.standard_normal((1, k, k, c)).astype(np.float32),
                                  2: rng.standard_normal(c).astype(np.float32)}, seed=100 + i)
        path = tmp_path / f"dw{k}s{stride}.edgec"
        data = edgec.Model(g).to_bytes()
        path.write_bytes(data)
        cases.append((path, [feeds[n] for n in g.inputs], reference.run_model(data, feeds)))
    from test_simd_kernels import lookup_graph
    for i, dtype in enumerate([np.int8, np.uint8]):  # vqtbl4q LOOKUP, with a tail
        table = rng.integers(0, 256, 256).astype(np.uint8).view(dtype)
        x = np.concatenate([np.arange(256, dtype=np.uint8), rng.integers(0, 256, 1000)]).astype(np.uint8).view(dtype)
        g = lookup_graph(x.size, dtype, table)
        path = tmp_path / f"lookup{i}.edgec"
        data = edgec.Model(g).to_bytes()
        path.write_bytes(data)
        cases.append((path, [x], reference.run_model(data, {"x": x})))
    for i, op in enumerate(["ADD", "MUL", "SUB"]):
        n, c = int(rng.integers(1, 50)), int(rng.integers(1, 40))
        qs = [(float(rng.uniform(0.01, 0.3)), int(rng.integers(-128, 128))) for _ in range(3)]
        g, feeds = int8_graph(op, [(n, c), (c,) if i % 2 else (n, c)], qs[:2], (n, c), qs[2], {}, seed=i)
        path = tmp_path / f"binary{i}.edgec"
        data = edgec.Model(g).to_bytes()
        path.write_bytes(data)
        cases.append((path, [feeds[n] for n in g.inputs], reference.run_model(data, feeds)))
    return cases


@pytest.mark.parametrize("cpu", CPUS)
def test_neon_kernels_random_ops(aarch64, cpu, tmp_path):
    cases = random_models(tmp_path)
    assert len(cases) >= 15
    for path, feeds, want in cases:
        got = run_qemu(aarch64, cpu, path, feeds, tmp_path / path.stem)
        for f, (name, w) in zip(got, want.items()):
            g = np.fromfile(f, dtype=w.dtype).reshape(w.shape)
            if w.dtype.kind == "f" and path.stem.startswith("maxpool"):  # a max is exact
                np.testing.assert_array_equal(g, w, err_msg=f"{path.name} {name} on {cpu}")
            elif w.dtype.kind == "f":
                assert np.abs(g - w).max() <= 1e-5 * max(float(np.abs(w).max()), 1e-6), (path.name, name)
            else:
                np.testing.assert_array_equal(g, w, err_msg=f"{path.name} {name} on {cpu}")


@pytest.mark.parametrize("cpu", CPUS)
def test_neon_int8_models_equal_reference_kernels(aarch64, cpu, tmp_path):
    for name in ["mobilenet_v2_035_96_int8", "efficientnet_b0_int8"]:
        path = tmp_path / f"{name}.edgec"
        edgec.convert(FIXTURES / f"{name}.tflite").save(path)
        it = edgec.Interpreter(path)
        x = np.random.default_rng(3).integers(-128, 128, it.inputs[0].shape).astype(np.int8)
        host = list(it.run(x).values())[0]
        neon = run_qemu(aarch64, cpu, path, [x], tmp_path / f"{name}-{cpu}")
        ref = run_qemu(aarch64, cpu, path, [x], tmp_path / f"{name}-{cpu}-ref", reference_kernels=True)
        np.testing.assert_array_equal(np.fromfile(neon[0], dtype=np.int8), host.ravel(), err_msg=f"{name} NEON")
        np.testing.assert_array_equal(np.fromfile(ref[0], dtype=np.int8), host.ravel(), err_msg=f"{name} reference")
