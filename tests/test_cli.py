"""The `edgec` command line on a real model: convert, run, inspect, check, info, bench."""
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from conftest import blazeface_input, real_images


def edgec(*args, ok=True):
    # cwd outside the checkout, so the installed package is imported, not ./edgec
    r = subprocess.run([sys.executable, "-m", "edgec.cli", *map(str, args)], capture_output=True,
                       text=True, cwd=tempfile.gettempdir())
    if ok:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def short_range(blazeface_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "short.edgec"
    src = blazeface_dir / "face_detection_short_range.tflite"
    r = edgec("convert", src, "-o", out, "--mean", 127.5, "--std", 127.5)
    assert "wrote" in r.stdout and "input  input: float32[1, 128, 128, 3]" in r.stdout
    return src, out


def test_run_image_and_npy(short_range, tmp_path):
    from PIL import Image
    _, model = short_range
    img = tmp_path / "astronaut.png"
    Image.fromarray(real_images()["astronaut"]).save(img)
    r = edgec("run", model, "--input", img, "--output", tmp_path / "out.npz")
    assert "classificators: float32[1, 896, 1]" in r.stdout
    x = blazeface_input(real_images()["astronaut"], 128)
    np.save(tmp_path / "x.npy", x)
    edgec("run", model, "--input", tmp_path / "x.npy", "--output", tmp_path / "out2.npz")
    a, b = np.load(tmp_path / "out.npz"), np.load(tmp_path / "out2.npz")
    # the image path applies the stored preprocessing ((x - 127.5) / 127.5): same input
    assert np.allclose(a["classificators"], b["classificators"], atol=1e-3)


def test_inspect(short_range):
    _, model = short_range
    r = edgec("inspect", model, "--memory")
    for text in ("sections:", "CONV2D", "DEPTHWISE_CONV2D", "arena[", "const@", "peak", "weights:"):
        assert text in r.stdout


def test_check_and_info(short_range):
    src, _ = short_range
    r = edgec("check", src)
    assert "CONV_2D" in r.stdout and "supported" in r.stdout
    r = edgec("info")
    assert "cpu:" in r.stdout and "CONV2D" in r.stdout


def test_bench_against_litert(short_range):
    src, model = short_range
    r = edgec("bench", model, "--compare", "litert", "--reference", src, "--rounds", 2, "--warmup", 1)
    assert "edgec / litert" in r.stdout


def test_bench_profile_and_chrome_trace(short_range, tmp_path):
    import json
    from edgec.runtime import format as fmt
    _, model = short_range
    r = edgec("bench", model, "--rounds", 1, "--warmup", 1, "--profile", "--trace", tmp_path / "trace.json")
    assert "per op type" in r.stdout and "CONV2D" in r.stdout
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    ops = fmt.read_model(model.read_bytes()).ops
    assert [e["name"] for e in events] == [op.op for op in ops]  # one event per op, in order
    assert all(e["dur"] >= 0 and e["ph"] == "X" for e in events) and sum(e["dur"] for e in events) > 0
    assert all(b["ts"] >= a["ts"] + a["dur"] - 2e-3 for a, b in zip(events, events[1:]))  # rounded to ns


def test_cli_errors(tmp_path):
    bad = tmp_path / "bad.edgec"
    bad.write_bytes(b"junk")
    r = edgec("run", bad, ok=False)
    assert r.returncode == 1 and "error" in r.stderr and "Traceback" not in r.stderr
    r = edgec("convert", tmp_path / "missing.tflite", ok=False)
    assert r.returncode == 1 and "cannot read" in r.stderr
    r = edgec("convert", bad, "--input-shape", "x", ok=False)
    assert r.returncode != 0 and "NAME:D0" in r.stderr


def test_convert_int8_from_image_folder(blazeface_dir, tmp_path):
    from PIL import Image
    folder = tmp_path / "calib"
    folder.mkdir()
    for name, img in real_images().items():
        Image.fromarray(img).save(folder / f"{name}.png")
    out = tmp_path / "short_int8.edgec"
    r = edgec("convert", blazeface_dir / "face_detection_short_range.tflite", "-o", out, "--quantize", "int8",
              "--calibration", folder, "--mean", 127.5, "--std", 127.5)
    assert "wrote" in r.stdout
    r = edgec("inspect", out, "--no-tensors")
    assert "int8" in r.stdout and "QUANTIZE" in r.stdout
