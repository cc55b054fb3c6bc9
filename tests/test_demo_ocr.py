"""`edgec demo ocr`: PP-OCR det + cls + rec through edgec (rapidocr's models and character
list, our DB and CTC post-processing) reads Pillow-rendered text exactly, including an
upside-down line (the direction classifier turns it)."""
import subprocess
import sys

from PIL import Image, ImageDraw, ImageFont

from conftest import need

LINES = ["edgec runs on the edge", "Raspberry Pi 5 and Jetson", "int8 models 2026"]


def render(lines, flip_last=False):
    img = Image.new("RGB", (640, 320), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        line = Image.new("RGB", (600, 60), (255, 255, 255))
        ImageDraw.Draw(line).text((10, 5), t, fill=(0, 0, 0), font=ImageFont.load_default(size=40))
        if flip_last and i == len(lines) - 1:
            line = line.rotate(180)
        img.paste(line, (20, 30 + i * 90))
    return img


def test_reads_rendered_lines(tmp_path, monkeypatch):
    import importlib.util
    need(importlib.util.find_spec("rapidocr") is not None, "rapidocr is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from edgec.apps import ocr
    models = ocr.load_models()
    assert [ln.text for ln in ocr.read(render(LINES), models)] == LINES
    assert [ln.text for ln in ocr.read(render(LINES, flip_last=True), models)] == LINES
    assert list((tmp_path / "cache" / "edgec" / "models").glob("*.edgec"))  # converted once, cached


def test_cli_demo_ocr(tmp_path):
    import importlib.util
    need(importlib.util.find_spec("rapidocr") is not None, "rapidocr is not installed")
    render(LINES).save(tmp_path / "text.png")
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "demo", "ocr", "--images", str(tmp_path / "text.png"),
                        "--out", str(tmp_path / "out.png")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    for line in LINES:
        assert line in r.stdout
    assert Image.open(tmp_path / "out.png").size == (640, 320)
