"""PP-OCR through edgec: text detection (DB), direction classification and recognition
(CTC) with the models and character list shipped in rapidocr's wheel; pre- and
post-processing in numpy and Pillow (no OpenCV), following PaddleOCR's constants.

    python -m edgec.apps.ocr photo.png [--out annotated.png]

Models are converted once per input size and cached in the user cache folder
(~/.cache/edgec/models, or $XDG_CACHE_HOME/edgec/models)."""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DET_SIZE = 640          # the detector sees the image padded to DET_SIZE x DET_SIZE
REC_H, REC_W = 48, 320  # recognizer input: text lines resized to height 48, padded to 320
CLS_SHAPE = (48, 192)
DB_THRESH, BOX_THRESH, UNCLIP = 0.3, 0.6, 1.6


@dataclass
class Line:
    text: str
    score: float
    box: tuple  # (x0, y0, x1, y1) in pixels of the original image


def models_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None:
        raise FileNotFoundError("rapidocr is not installed: pip install --no-deps rapidocr (it ships the models)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def cached_model(name: str, shape: tuple):
    """The .edgec of rapidocr's ONNX model `name` for input `shape`, converted on first use."""
    import edgec
    src = models_dir() / name
    key = hashlib.sha256(src.read_bytes()[:1 << 20] + repr(shape).encode() + edgec.__version__.encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgec" / "models"
    path = cache / f"{src.stem}-{'x'.join(map(str, shape))}-{key}.edgec"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"edgec: converting {name} for {shape} (once; cached in {cache})", file=sys.stderr)
        edgec.convert(src, input_shape={"x": shape}, progress=False).save(path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return edgec.Interpreter(path)


def characters() -> list:
    """rapidocr's recognizer carries its character list in the ONNX metadata; CTC index 0
    is the blank, the last one a space (PaddleOCR's use_space_char)."""
    import onnx
    m = onnx.load(str(models_dir() / "PP-OCRv6_rec_small.onnx"), load_external_data=False)
    meta = {p.key: p.value for p in m.metadata_props}
    return ["blank"] + meta["character"].splitlines() + [" "]


def _normalize(rgb: np.ndarray) -> np.ndarray:
    """HWC uint8 RGB -> NCHW float32, (x / 255 - 0.5) / 0.5 as PaddleOCR."""
    return ((rgb.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]


def _components(mask: np.ndarray) -> list:
    """8-connected components of a boolean map: lists of (y, x) pixel arrays."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    out = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        q, pix = deque([(y0, x0)]), []
        while q:
            y, x = q.popleft()
            pix.append((y, x))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                        seen[yy, xx] = True
                        q.append((yy, xx))
        out.append(np.array(pix))
    return out


def detect(img, det=None) -> list:
    """Text boxes (x0, y0, x1, y1, score) in original pixels, top to bottom."""
    from PIL import Image
    det = det or cached_model("PP-OCRv6_det_small.onnx", (1, 3, DET_SIZE, DET_SIZE))
    w, h = img.size
    scale = DET_SIZE / max(w, h)
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.full((DET_SIZE, DET_SIZE, 3), 255, np.uint8)
    canvas[:rh, :rw] = np.asarray(img.convert("RGB").resize((rw, rh), Image.BILINEAR))
    prob = list(det.run(_normalize(canvas)).values())[0][0, 0]
    return boxes_from_prob(prob, scale, w, h)


def boxes_from_prob(prob: np.ndarray, scale: float = 1.0, w: int | None = None, h: int | None = None) -> list:
    """DB post-processing of a probability map: components above DB_THRESH whose mean
    probability passes BOX_THRESH, grown by DB's unclip distance, in image pixels
    (map pixels / scale), top to bottom: [(x0, y0, x1, y1, score)]."""
    w = w if w is not None else prob.shape[1] / scale
    h = h if h is not None else prob.shape[0] / scale
    boxes = []
    for pix in _components(prob > DB_THRESH):
        if len(pix) < 8:
            continue
        score = float(prob[pix[:, 0], pix[:, 1]].mean())
        if score < BOX_THRESH:
            continue
        y0, x0 = pix.min(0)
        y1, x1 = pix.max(0) + 1
        bw, bh = x1 - x0, y1 - y0
        d = bw * bh * UNCLIP / (2 * (bw + bh))  # DB's unclip distance for the shrunk region
        box = [(x0 - d) / scale, (y0 - d) / scale, (x1 + d) / scale, (y1 + d) / scale]
        boxes.append((max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]), score))
    return sorted(boxes, key=lambda b: (round(b[1] / 10), b[0]))


def _line_input(crop, height: int, width: int) -> np.ndarray:
    """Resize a text crop to `height` (aspect kept, at most `width`), pad right with 0."""
    from PIL import Image
    cw, ch = crop.size
    rw = max(1, min(width, int(np.ceil(height * cw / max(ch, 1)))))
    a = _normalize(np.asarray(crop.convert("RGB").resize((rw, height), Image.BILINEAR)))
    out = np.zeros((1, 3, height, width), np.float32)
    out[..., :rw] = a
    return out


def ctc_decode(logits: np.ndarray, chars: list) -> tuple:
    """Greedy CTC: argmax per step, merge repeats, drop blanks; score = mean max prob."""
    idx = logits.argmax(-1)
    prob = logits.max(-1)
    keep = (idx != 0) & np.concatenate([[True], idx[1:] != idx[:-1]])
    text = "".join(chars[i] for i in idx[keep] if i < len(chars))
    return text, float(prob[keep].mean()) if keep.any() else 0.0


def read(img, models=None) -> list:
    """OCR an image (PIL.Image): [Line] top to bottom."""
    det, cls, rec, chars = models or load_models()
    lines = []
    for x0, y0, x1, y1, _ in detect(img, det):
        crop = img.crop((int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))))
        p = list(cls.run(_line_input(crop, *CLS_SHAPE)).values())[0][0]
        if p.argmax() == 1 and p[1] > 0.9:  # the cls model says 180 degrees
            crop = crop.rotate(180)
        logits = list(rec.run(_line_input(crop, REC_H, REC_W)).values())[0][0]
        text, score = ctc_decode(logits, chars)
        if text.strip():
            lines.append(Line(text.strip(), score, (x0, y0, x1, y1)))
    return lines


def load_models() -> tuple:
    return (cached_model("PP-OCRv6_det_small.onnx", (1, 3, DET_SIZE, DET_SIZE)),
            cached_model("ch_ppocr_mobile_v2.0_cls_mobile.onnx", (1, 3) + CLS_SHAPE),
            cached_model("PP-OCRv6_rec_small.onnx", (1, 3, REC_H, REC_W)), characters())


def draw(img, lines):
    from PIL import ImageDraw
    out = img.convert("RGB")
    d = ImageDraw.Draw(out)
    for ln in lines:
        d.rectangle(ln.box, outline=(255, 0, 0), width=2)
        d.text((ln.box[0], max(0, ln.box[1] - 12)), ln.text, fill=(255, 0, 0))
    return out


def main(argv=None) -> int:
    from PIL import Image
    ap = argparse.ArgumentParser(prog="edgec demo ocr", description="PP-OCR on images through edgec")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--out", help="annotated image (one input) or folder")
    args = ap.parse_args(argv)
    models = load_models()
    for i, path in enumerate(args.images):
        img = Image.open(path)
        lines = read(img, models)
        print(f"{path}: {len(lines)} line(s)")
        for ln in lines:
            print(f"  {ln.text}  ({ln.score:.2f})")
        if args.out:
            out = Path(args.out)
            if len(args.images) > 1:
                out.mkdir(parents=True, exist_ok=True)
                out = out / f"{Path(path).stem}-ocr.png"
            draw(img, lines).save(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
