"""BINARY_CONV2D's NEON (vcnt) variant under qemu-aarch64 (-cpu cortex-a72 and -cpu max):
outputs identical to runtime/reference.py and to the scalar reference kernel, on shapes
with several 64-bit channel words, padding, stride and dilation. Correctness only."""
import numpy as np
import pytest

import edgec
from edgec.runtime import reference
from test_binary import binary_conv_graph
from test_neon_kernels import CPUS, aarch64, run_qemu  # noqa: F401 (fixture)


@pytest.mark.parametrize("cpu", CPUS)
def test_binary_conv_neon(aarch64, cpu, tmp_path):  # noqa: F811
    rng = np.random.default_rng(3)
    shapes = [(1, 7, 9, 70, 13, 3, 1, 1, (1, 1, 1, 1), 0.1), (2, 6, 5, 130, 8, 3, 2, 1, (0, 2, 1, 0), 0.0),
              (1, 8, 8, 64, 16, 3, 1, 2, (2, 2, 2, 2), 0.0)]
    for i, (n, h, w, c, oc, k, s, d, pads, zeros) in enumerate(shapes):
        g, feeds = binary_conv_graph(rng, n, h, w, c, oc, k, s, d, pads, (-1.0, 6.0), i != 1, zeros)
        path = tmp_path / f"bconv{i}.edgec"
        edgec.Model(g).save(path)
        want = reference.run_model(path, feeds)["y"]
        for ref_kernels in (False, True):
            out = run_qemu(aarch64, cpu, path, [feeds["x"]], tmp_path / f"b{i}-{ref_kernels}", reference_kernels=ref_kernels)
            np.testing.assert_array_equal(np.fromfile(out[0], np.float32).reshape(want.shape), want,
                                          err_msg=f"shape {i} on {cpu}")
