"""Live web view for the demos (`edgec demo faces|ocr --images ... --web`): a page with
the annotated frames as an MJPEG stream, frames per second and per-stage latency
(pre-processing, inference, post-processing), and start/stop buttons. Standard library
HTTP server; one worker thread runs the pipeline on the latest frame of the source, so
slow inference drops frames instead of queueing them. With --token T every route needs
`?token=T` (a headless Pi viewed from a laptop: --host 0.0.0.0 --token T)."""
from __future__ import annotations

import hmac
import io
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html><meta charset=utf-8><title>edgec demo: {name}</title>
<style>body{{font-family:sans-serif;background:#111;color:#eee}} img{{max-width:95vw;border:1px solid #444}}
button{{font-size:1.1em;margin:4px}}</style>
<h1>edgec demo: {name}</h1>
<div><button id=start>Start</button><button id=stop>Stop</button> <span id=state></span></div>
<p id=fps>FPS: -</p><p id=lat>pre - ms, inference - ms, post - ms</p>
<img id=view src="stream{q}">
<script>
const q = "{q}";
async function stats() {{
  const r = await fetch("stats" + q); const s = await r.json();
  document.getElementById("fps").textContent = "FPS: " + s.fps.toFixed(1) + " (" + s.frames + " frames)";
  document.getElementById("lat").textContent = "pre " + s.pre_ms.toFixed(1) + " ms, inference " +
      s.infer_ms.toFixed(1) + " ms, post " + s.post_ms.toFixed(1) + " ms";
  document.getElementById("state").textContent = s.running ? "running" : "stopped";
}}
document.getElementById("start").onclick = () => fetch("start" + q, {{method: "POST"}}).then(stats);
document.getElementById("stop").onclick = () => fetch("stop" + q, {{method: "POST"}}).then(stats);
setInterval(stats, 500); stats();
</script>"""


class LiveDemo:
    """frames: an iterable of PIL images (cycled); pipeline(img) -> (annotated image,
    {"pre_ms", "infer_ms", "post_ms"})."""

    def __init__(self, name: str, frames, pipeline):
        self.name, self.frames, self.pipeline = name, list(frames), pipeline
        if not self.frames:
            raise ValueError("the live view needs at least one frame")
        self.running = threading.Event()
        self.running.set()
        self.lock = threading.Lock()
        self.jpeg, self.count, self.stats = b"", 0, {"pre_ms": 0.0, "infer_ms": 0.0, "post_ms": 0.0}
        self.t0, self.quit = time.monotonic(), False
        self.worker = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        i = 0
        while not self.quit:
            if not self.running.wait(0.1):
                continue
            img, timing = self.pipeline(self.frames[i % len(self.frames)])
            i += 1
            buf = io.BytesIO()
            img.convert("RGB").save(buf, "JPEG", quality=80)
            with self.lock:  # latencies shown as a moving average (the last ~10 frames)
                self.stats = {k: 0.9 * self.stats.get(k, v) + 0.1 * v if self.count else v for k, v in timing.items()}
                self.jpeg, self.count = buf.getvalue(), self.count + 1

    def snapshot(self) -> dict:
        with self.lock:
            fps = self.count / max(time.monotonic() - self.t0, 1e-9)
            return {"fps": fps, "frames": self.count, "running": self.running.is_set(), **self.stats}


def make_server(demo: LiveDemo, host: str = "127.0.0.1", port: int = 8080, token: str | None = None):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _authorized(self, query) -> bool:
            if token is None:
                return True
            given = (query.get("token") or [""])[0]
            return hmac.compare_digest(given.encode(), token.encode())

        def _route(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if not self._authorized(query):
                self.send_error(401, "add ?token=... (the demo was started with --token)")
                return None
            return url.path.rstrip("/") or "/", ("?token=" + urllib.parse.quote(token)) if token else ""

        def do_GET(self):
            r = self._route()
            if r is None:
                return
            path, q = r
            if path == "/":
                body = PAGE.format(name=demo.name, q=q).encode()
                self._send(200, "text/html; charset=utf-8", body)
            elif path == "/stats":
                self._send(200, "application/json", json.dumps(demo.snapshot()).encode())
            elif path == "/stream":
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                last = -1
                try:
                    while not demo.quit:
                        with demo.lock:
                            jpeg, count = demo.jpeg, demo.count
                        if count != last and jpeg:
                            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                             str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                            self.wfile.flush()
                            last = count
                        time.sleep(0.02)
                except (BrokenPipeError, ConnectionResetError):
                    return
            else:
                self.send_error(404)

        def do_POST(self):
            r = self._route()
            if r is None:
                return
            path, _ = r
            if path == "/start":
                demo.running.set()
            elif path == "/stop":
                demo.running.clear()
            else:
                self.send_error(404)
                return
            self._send(200, "application/json", json.dumps(demo.snapshot()).encode())

        def _send(self, code, ctype, body):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(demo: LiveDemo, host="127.0.0.1", port=8080, token=None):
    server = make_server(demo, host, port, token)
    demo.worker.start()
    print(f"edgec demo {demo.name}: live view on http://{host}:{server.server_address[1]}/"
          f"{'?token=...' if token else ''} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        demo.quit = True
        server.server_close()


def faces_pipeline(kind: str = "short"):
    from .blazeface import FaceDetector, draw
    det = FaceDetector(kind)

    def run(img):
        t0 = time.perf_counter()
        x = det.preprocess(img)
        t1 = time.perf_counter()
        out = list(det.it.run(x).values())
        t2 = time.perf_counter()
        annotated = draw(img, det.postprocess(img, out))
        t3 = time.perf_counter()
        return annotated, {"pre_ms": (t1 - t0) * 1e3, "infer_ms": (t2 - t1) * 1e3, "post_ms": (t3 - t2) * 1e3}
    return run


def ocr_pipeline():
    from . import ocr
    models = ocr.load_models()

    def run(img):
        t0 = time.perf_counter()
        lines = ocr.read(img, models)  # detection, crops and recognition interleave
        t1 = time.perf_counter()
        annotated = ocr.draw(img, lines)
        t2 = time.perf_counter()
        return annotated, {"pre_ms": 0.0, "infer_ms": (t1 - t0) * 1e3, "post_ms": (t2 - t1) * 1e3}
    return run
