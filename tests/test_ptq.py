"""Post-training int8 quantization of float models: BlazeFace full-range calibrated on a
few photos finds the same faces as fp32, with scores within 0.05; calibration from
arrays, an .npz or an image folder; deterministic output."""
import numpy as np
import pytest

import edgec
from conftest import blazeface_input, real_images
from edgec.apps.blazeface import MODELS, decode


def calibration_photos():
    from skimage import data
    return [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), np.stack([data.camera()] * 3, -1)]


def group_photo():
    """A Pillow-composed group: face crops from two photos pasted at several sizes."""
    from PIL import Image
    from skimage import data
    canvas = Image.fromarray(data.coffee()).resize((640, 480))
    astro = Image.fromarray(data.astronaut()).crop((120, 20, 320, 220))
    camera = Image.fromarray(np.stack([data.camera()] * 3, -1)).crop((180, 40, 330, 190))
    canvas.paste(astro.resize((170, 170)), (30, 60))
    canvas.paste(camera.resize((150, 150)), (250, 200))
    canvas.paste(astro.resize((120, 120)), (470, 40))
    return np.asarray(canvas)


def eval_photos():
    from skimage import data
    return {"astronaut": data.astronaut(), "camera": np.stack([data.camera()] * 3, -1), "group": group_photo()}


def _iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def full_range(blazeface_dir):
    src = blazeface_dir / "face_detection_full_range.tflite"
    calib = [blazeface_input(im, 192) for im in calibration_photos()]
    return src, edgec.convert(src), edgec.convert(src, quantize="int8", calibration=calib, progress=False)


def test_int8_blazeface_finds_the_same_faces(full_range):
    _, m32, m8 = full_range
    assert {n.op for n in m8.graph.nodes} >= {"CONV2D", "DEPTHWISE_CONV2D", "QUANTIZE", "DEQUANTIZE"}
    assert len(m8) < 0.4 * len(m32)  # int8 weights
    it32, it8 = m32.interpreter(), m8.interpreter()
    _, size, strides, per, _ = MODELS["full"]
    total = 0
    for name, img in eval_photos().items():
        x = blazeface_input(img, size)
        # decode below the 0.5 detection threshold so a face scored 0.51 by one and 0.49
        # by the other is compared on its score instead of counted as missing
        f32 = decode(*it32.run(x).values(), size, strides, per, 0.3)
        f8 = decode(*it8.run(x).values(), size, strides, per, 0.3)
        for mine, other in ((f32, f8), (f8, f32)):
            for score, box, _ in mine:
                if score < 0.5:
                    continue
                match = max(other, key=lambda f: _iou(f[1], box), default=None)
                assert match is not None and _iou(match[1], box) > 0.8, f"{name}: face at {box} not matched"
                assert abs(match[0] - score) <= 0.05, f"{name}: scores {score:.3f} vs {match[0]:.3f}"
        total += sum(f[0] >= 0.5 for f in f32)
    assert total >= 5  # the photos do contain faces (astronaut, cameraman, a group of three)


def test_ptq_is_deterministic_and_accepts_npz_and_folders(full_range, tmp_path, blazeface_dir):
    from PIL import Image
    src, _, m8 = full_range
    calib = np.concatenate([blazeface_input(im, 192) for im in calibration_photos()])
    np.savez(tmp_path / "calib.npz", **{m8.graph.inputs[0]: calib})
    again = edgec.convert(src, quantize="int8", calibration=tmp_path / "calib.npz", progress=False)
    assert again.to_bytes() == m8.to_bytes()
    folder = tmp_path / "images"
    folder.mkdir()
    for i, im in enumerate(calibration_photos()):
        Image.fromarray(im).save(folder / f"{i}.png")
    from_folder = edgec.convert(src, quantize="int8", calibration=folder, progress=False,
                                preprocessing={"mean": 127.5, "std": 127.5})
    assert abs(len(from_folder) - len(m8)) < 1024  # same weights; metadata differs


def test_ptq_errors(blazeface_dir, tmp_path):
    src = blazeface_dir / "face_detection_short_range.tflite"
    with pytest.raises(edgec.ConversionError, match="needs calibration data"):
        edgec.convert(src, quantize="int8")
    with pytest.raises(edgec.ConversionError, match=r"has shape \(1, 64, 64, 3\)"):
        edgec.convert(src, quantize="int8", calibration=[np.zeros((1, 64, 64, 3), np.float32)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(edgec.ConversionError, match="no images"):
        edgec.convert(src, quantize="int8", calibration=tmp_path / "empty")
    with pytest.raises(edgec.ConversionError, match="choose minmax, percentile or mse"):
        edgec.convert(src, quantize="int8", calibration=[np.zeros((1, 128, 128, 3), np.float32)],
                      calibration_method="kl")


def test_percentile_ranges_are_within_minmax(blazeface_dir):
    from edgec.converters import load
    from edgec.converters.passes import run_passes
    from edgec.converters.quantize import collect_ranges
    g = run_passes(load(blazeface_dir / "face_detection_short_range.tflite"))
    batches = [{g.inputs[0]: blazeface_input(im, 128)} for im in real_images().values()]
    mm = collect_ranges(g, batches, "minmax", progress=False)
    pc = collect_ranges(g, batches, "percentile", 99.9, progress=False)
    assert mm.keys() == pc.keys() and len(mm) > 50
    assert all(mm[n][0] <= pc[n][0] <= pc[n][1] <= mm[n][1] for n in mm)
    assert any(pc[n][1] < mm[n][1] for n in mm)
