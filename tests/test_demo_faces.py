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
