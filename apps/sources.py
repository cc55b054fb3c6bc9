"""Frame sources for the demos: --images (files or folders), --video FILE (decoded by
PyAV, FFmpeg's Python binding: `pip install av`), --camera (Picamera2 on a Raspberry Pi,
else OpenCV's V4L2 capture). Each yields PIL images; a missing library is a clear error
saying what to install."""
from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def images(paths) -> list:
    from PIL import Image
    files = []
    for p in map(Path, paths):
        files += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) if p.is_dir() else [p]
    if not files:
        raise FileNotFoundError(f"no images in {', '.join(map(str, paths))}")
    return [Image.open(f).convert("RGB") for f in files]


def video(path, max_frames: int | None = None):
    """Frames of a video file, in order (PyAV)."""
    try:
        import av
    except ImportError:
        raise ImportError("--video needs PyAV: pip install av") from None
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such video")
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if max_frames is not None and i >= max_frames:
                break
            yield frame.to_image().convert("RGB")


def camera(index: int = 0, size=(640, 480)):
    """Live frames: Picamera2 (Raspberry Pi camera; in a venv made with
    --system-site-packages, as Raspberry Pi OS ships it with apt), else OpenCV."""
    from PIL import Image
    try:
        from picamera2 import Picamera2
    except ImportError:
        Picamera2 = None
    if Picamera2 is not None:
        cam = Picamera2()
        cam.configure(cam.create_preview_configuration(main={"size": size, "format": "RGB888"}))
        cam.start()
        try:
            while True:
                yield Image.fromarray(cam.capture_array()[..., ::-1])
        finally:
            cam.stop()
    try:
        import cv2
    except ImportError:
        raise ImportError("--camera needs Picamera2 (Raspberry Pi OS: apt install python3-picamera2, then a venv "
                          "with --system-site-packages) or OpenCV (pip install opencv-python-headless)") from None
    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise RuntimeError(f"camera {index}: cannot open (is it connected and free?)")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield Image.fromarray(frame[..., ::-1])
    finally:
        cap.release()
