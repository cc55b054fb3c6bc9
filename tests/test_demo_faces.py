"""`edgec demo faces` on real photos (scikit-image's samples) and a Pillow-composed group:
the same faces as the same BlazeFace model run in LiteRT with the same post-processing,
boxes within 2 px; the CLI writes the annotated images."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import litert_interpreter, litert_run
from edgec.apps.blazeface import FaceDetector, model_path
from test_ptq import group_photo


def photos():
    from skimage import data
    return {"astronaut": data.astronaut(), "camera": np.stack([data.camera()] * 3, -1), "group": group_photo()}


@pytest.mark.parametrize("kind", ["short", "full"])
def test_same_faces_as_litert(blazeface_dir, kind):
    det = FaceDetector(kind)
    ref_it = litert_interpreter(model_path(kind))
    total = 0
    for name, arr in photos().items():
        img = Image.fromarray(arr)
        ours = det(img)
        ref = det.postprocess(img, litert_run(ref_it, [det.preprocess(img)]))
        assert len(ours) == len(ref), f"{kind}/{name}: {len(ours)} faces vs LiteRT {len(ref)}"
        for a, b in zip(sorted(ours, key=lambda f: f.box), sorted(ref, key=lambda f: f.box)):
            assert np.abs(np.subtract(a.box, b.box)).max() <= 2.0, (kind, name, a.box, b.box)
            assert np.abs(np.subtract(a.keypoints, b.keypoints)).max() <= 2.0
        total += len(ours)
    assert total >= 3  # the photos do have faces (astronaut, cameraman, the group's faces)


def test_cli_writes_annotated_images(blazeface_dir, tmp_path):
    paths = []
    for name, arr in photos().items():
        p = tmp_path / f"{name}.png"
        Image.fromarray(arr).save(p)
        paths.append(str(p))
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "demo", "faces", "--images", *paths, "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for name in photos():
        out = tmp_path / "out" / f"{name}_faces.png"
        assert out.exists() and Image.open(out).size == Image.open(tmp_path / f"{name}.png").size
    assert r.stdout.count("face(s)") == 3


def test_video_source(blazeface_dir, tmp_path):
    """--video: frames decoded by PyAV (FFmpeg), each through the demo pipeline."""
    import importlib.util
    from conftest import need
    need(importlib.util.find_spec("av") is not None, "PyAV missing (pip install av)")
    import av
    photo = Image.fromarray(photos()["astronaut"]).resize((320, 320))
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 320, 320, "yuv420p"
        for i in range(6):  # the photo sliding right
            frame = Image.new("RGB", (320, 320))
            frame.paste(photo, (i * 8 - 24, 0))
            for packet in s.encode(av.VideoFrame.from_image(frame)):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "demo", "faces", "--video", str(path), "--out",
                        str(tmp_path / "frames")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "6 frames" in r.stdout and len(list((tmp_path / "frames").glob("frame_*.png"))) == 6
    from edgec.apps import sources
    det = FaceDetector("short")
    assert all(len(det(f)) == 1 for f in sources.video(path))  # the face is found in every decoded frame


def test_missing_source_library_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "demo", "faces"], capture_output=True, text=True)
    assert r.returncode == 1 and "give one source" in r.stderr
