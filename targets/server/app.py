"""The aiohttp application behind `edgec serve DIR`.

Models: DIR itself or each subfolder holding tail.edgec (a split's tail, with
codec.json: inputs may arrive as codec blobs, datatype UINT8) or model.edgec (a whole
model). A model's name is its folder name; requests can only name loaded models, so no
path from a request ever reaches the file system.

Hardening: bearer token on every route but /v2/health/*; request bodies over
max_body -> 413 (aiohttp refuses to read them); inputs checked against the model's
names, shapes and dtypes and an element limit before any array is built -> 400 with the
reason; more than max_concurrent requests in flight -> 503; an inference longer than
timeout_s -> 504; SIGTERM/SIGINT stop accepting and let in-flight requests finish
(aiohttp's graceful shutdown, shutdown_timeout). Prometheus metrics at /metrics."""
from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from aiohttp import web

from ...runtime import Interpreter, codec
from .protocol import ProtocolError, datatype, parse_request, write_response

HEALTH = ("/v2/health/live", "/v2/health/ready")


@dataclass
class ServedModel:
    name: str
    interpreter: Interpreter
    codec: dict | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0

    def inputs(self) -> dict:
        return {d.name: d for d in self.interpreter.inputs}

    def decode(self, name: str, a: np.ndarray) -> np.ndarray:
        d = self.inputs()[name]
        if a.dtype == np.uint8 and a.ndim == 1 and d.dtype != np.uint8 and self.codec:
            try:
                return codec.decode(a.tobytes(), d.shape, d.dtype)
            except codec.CodecError as e:
                raise ProtocolError(f"input {name!r}: {e}") from None
        if tuple(a.shape) != tuple(d.shape) or a.dtype != d.dtype:
            raise ProtocolError(f"input {name!r} must be {datatype(d.dtype)}{list(d.shape)}, "
                                f"got {datatype(a.dtype)}{list(a.shape)}")
        return a

    def run(self, feeds: dict) -> dict:
        with self.lock:  # one interpreter per model: requests take turns
            return self.interpreter.run(feeds)


def load_models(root: Path, threads: int = 1) -> dict:
    root = Path(root)
    dirs = [root] + sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    models = {}
    for d in dirs:
        path = d / "tail.edgec" if (d / "tail.edgec").exists() else d / "model.edgec"
        if not path.exists():
            continue
        desc = json.loads((d / "codec.json").read_text()) if (d / "codec.json").exists() else None
        models[d.name] = ServedModel(d.name, Interpreter(path, num_threads=threads), desc)
    if not models:
        raise FileNotFoundError(f"{root}: no tail.edgec or model.edgec in it or its subfolders "
                                "(make one with `edgec split`)")
    return models


def make_app(models: dict, token: str | None = None, max_body: int = 64 << 20, max_concurrent: int = 32,
             timeout_s: float = 30.0, max_elements: int = 1 << 26) -> web.Application:
    in_flight = {"n": 0}

    @web.middleware
    async def guard(request, handler):
        if token is not None and request.path not in HEALTH:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                         headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    app = web.Application(client_max_size=max_body, middlewares=[guard])

    def model_of(request) -> ServedModel:
        name = request.match_info["name"]
        if name not in models:
            raise web.HTTPNotFound(text=json.dumps({"error": f"no model {name!r}; serving {sorted(models)}"}),
                                   content_type="application/json")
        return models[name]

    async def live(request):
        return web.Response(status=200)

    async def server_meta(request):
        return web.json_response({"name": "edgec", "version": "0.1.0", "extensions": ["binary_tensor_data"]})

    async def model_meta(request):
        m = model_of(request)
        it = m.interpreter
        return web.json_response({
            "name": m.name, "versions": ["1"], "platform": "edgec",
            "inputs": [{"name": d.name, "datatype": datatype(d.dtype), "shape": list(d.shape)} for d in it.inputs],
            "outputs": [{"name": d.name, "datatype": datatype(d.dtype), "shape": list(d.shape)} for d in it.outputs]})

    async def model_ready(request):
        model_of(request)
        return web.Response(status=200)

    async def infer(request):
        m = model_of(request)
        if in_flight["n"] >= max_concurrent:
            return web.json_response({"error": f"{max_concurrent} requests in flight; retry later"}, status=503)
        in_flight["n"] += 1
        t0 = time.perf_counter()
        m.requests += 1
        try:
            body = await request.read()  # over client_max_size: aiohttp answers 413
            try:
                req, arrays = parse_request(body, request.headers.get("Inference-Header-Content-Length"),
                                            max_elements)
                expected = m.inputs()
                unknown = [n for n in arrays if n not in expected]
                missing = [n for n in expected if n not in arrays]
                if unknown or missing:
                    raise ProtocolError(f"model {m.name!r} takes inputs {list(expected)}; "
                                        f"unknown {unknown}, missing {missing}")
                feeds = {n: m.decode(n, a) for n, a in arrays.items()}
            except ProtocolError as e:
                m.errors += 1
                return web.json_response({"error": str(e)}, status=400)
            loop = asyncio.get_running_loop()
            try:
                outputs = await asyncio.wait_for(loop.run_in_executor(None, m.run, feeds), timeout_s)
            except asyncio.TimeoutError:
                m.errors += 1
                return web.json_response({"error": f"inference exceeded {timeout_s} s"}, status=504)
            try:
                body, headers = write_response(m.name, req, outputs)
            except ProtocolError as e:
                m.errors += 1
                return web.json_response({"error": str(e)}, status=400)
            return web.Response(body=body, headers=headers)
        finally:
            in_flight["n"] -= 1
            m.seconds += time.perf_counter() - t0

    async def metrics(request):
        lines = ["# TYPE edgec_requests_total counter", "# TYPE edgec_errors_total counter",
                 "# TYPE edgec_request_seconds_total counter"]
        for m in models.values():
            lines += [f'edgec_requests_total{{model="{m.name}"}} {m.requests}',
                      f'edgec_errors_total{{model="{m.name}"}} {m.errors}',
                      f'edgec_request_seconds_total{{model="{m.name}"}} {m.seconds:.6f}']
        lines.append(f"edgec_in_flight {in_flight['n']}")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    app.router.add_get("/v2/health/live", live)
    app.router.add_get("/v2/health/ready", live)
    app.router.add_get("/v2", server_meta)
    app.router.add_get("/v2/models/{name}", model_meta)
    app.router.add_get("/v2/models/{name}/versions/{version}", model_meta)
    app.router.add_get("/v2/models/{name}/ready", model_ready)
    app.router.add_post("/v2/models/{name}/infer", infer)
    app.router.add_post("/v2/models/{name}/versions/{version}/infer", infer)
    app.router.add_get("/metrics", metrics)
    return app


def serve(root, host: str = "127.0.0.1", port: int = 8000, token: str | None = None, threads: int = 1,
          grace_s: float = 30.0, **limits):
    models = load_models(Path(root), threads)
    app = make_app(models, token=token, **limits)
    print(f"edgec serve: {sorted(models)} on http://{host}:{port} (KServe v2 REST"
          f"{', bearer token' if token else ', no token: local use only'})", flush=True)
    web.run_app(app, host=host, port=port, shutdown_timeout=grace_s, print=None, access_log=None)
