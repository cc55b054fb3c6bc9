"""SPARSE_FULLY_CONNECTED's NEON tiles under qemu-aarch64 (-cpu cortex-a72 and -cpu max):
int8 byte-identical with runtime/reference.py and the C reference loops, fp32 within 1e-5
of the output's magnitude; row counts that leave a partial 16-row tile. Correctness only."""
import numpy as np
import pytest

import edgec
from edgec.runtime import reference, sparse as sp
from test_neon_kernels import CPUS, aarch64, run_qemu  # noqa: F401 (fixture)
from test_sparse import int8_pair, random_pattern
from edgec.converters.graph import Graph


def f32_model(rng, m, n, k, block):
    w = np.where(random_pattern(rng, n, k, block, 0.3), rng.standard_normal((n, k)), 0).astype(np.float32)
    values, cols, rowptr = sp.pack_block_csr_ref(w, block)
    bh, bw = sp.block_shape(block)
    g = Graph(name="sparse-f32")
    g.add_tensor("x", (m, k))
    g.inputs.append("x")
    for name, a in (("v", values), ("c", cols), ("r", rowptr), ("b", rng.standard_normal(n).astype(np.float32))):
        g.add_tensor(name, a.shape, a.dtype, a)
    g.add_tensor("y", (m, n))
    g.add_node("SPARSE_FULLY_CONNECTED", ["x", "v", "c", "r", "b"], ["y"],
               {"block_h": bh, "block_w": bw, "act_min": -1.0, "act_max": 6.0}, name="sparse")
    g.outputs = ["y"]
    return g, {"x": rng.standard_normal((m, k)).astype(np.float32)}


@pytest.mark.parametrize("cpu", CPUS)
def test_sparse_neon(aarch64, cpu, tmp_path):  # noqa: F811
    rng = np.random.default_rng(7)
    cases = []
    for block in ("1x4", "4x1"):
        cases.append(f32_model(rng, 37, 24, 36, block))
        cases.append(int8_pair(rng, 37, 36, 24, block, 0.3, (0.05, 3), (0.4, -5), (-np.inf, np.inf), 3, True)[1:])
        cases.append(int8_pair(rng, 21, 24, 20, block, 0.5, (0.1, -7), (0.3, 2), (0.0, 6.0), 4, False)[1:])
    for i, (g, feeds) in enumerate(cases):
        path = tmp_path / f"case{i}.edgec"
        edgec.Model(g).save(path)
        want = reference.run_model(path, feeds)["y"]
        x = next(iter(feeds.values()))
        for ref_kernels in (False, True):
            out = run_qemu(aarch64, cpu, path, [x], tmp_path / f"case{i}-{ref_kernels}", reference_kernels=ref_kernels)
            got = np.fromfile(out[0], dtype=want.dtype).reshape(want.shape)
            if want.dtype == np.int8:
                np.testing.assert_array_equal(got, want, err_msg=f"case {i} on {cpu}")
            else:
                assert float(np.abs(got - want).max()) <= 1e-5 * float(np.abs(want).max()), f"case {i} on {cpu}"
