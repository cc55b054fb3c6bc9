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
    batched: dict = field(default_factory=dict)   # batch size -> Interpreter (tail_b{B}.edgec)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    batches: int = 0
    batched_requests: int = 0

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

    def run_batch(self, feeds_list: list) -> list:
        """n requests at once on the smallest tail_b{B} with B >= n (zero rows pad the
        batch); one output dict per request. Batch 1 runs the plain tail."""
        n = len(feeds_list)
        if n == 1 or not self.batched:
            return [self.run(f) for f in feeds_list]
        size = min((b for b in self.batched if b >= n), default=None)
        if size is None:
            size = max(self.batched)
            return self.run_batch(feeds_list[:size]) + self.run_batch(feeds_list[size:])
        it = self.batched[size]
        stacked = {}
        for d in it.inputs:
            rows = [f[d.name] for f in feeds_list]
            pad = [np.zeros_like(rows[0])] * (size - n)
            stacked[d.name] = np.concatenate(rows + pad, axis=0)
        with self.lock:
            out = it.run(stacked)
        self.batches += 1
        self.batched_requests += n
        return [{k: v[i:i + 1] for k, v in out.items()} for i in range(n)]


def load_models(root: Path, threads: int = 1) -> dict:
    root = Path(root)
    dirs = [root] + sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    models = {}
    for d in dirs:
        path = d / "tail.edgec" if (d / "tail.edgec").exists() else d / "model.edgec"
        if not path.exists():
            continue
        desc = json.loads((d / "codec.json").read_text()) if (d / "codec.json").exists() else None
        batched = {int(p.stem.split("_b")[1]): Interpreter(p, num_threads=threads) for p in d.glob("tail_b*.edgec")}
        models[d.name] = ServedModel(d.name, Interpreter(path, num_threads=threads), desc, batched)
    if not models:
        raise FileNotFoundError(f"{root}: no tail.edgec or model.edgec in it or its subfolders "
                                "(make one with `edgec split`)")
    return models


class Batcher:
    """Dynamic batching for one model: requests wait up to max_delay_s for company, then
    the queue (up to the largest batch size) runs as one batch in a worker thread."""

    def __init__(self, model: ServedModel, max_delay_s: float):
        self.model, self.delay = model, max_delay_s
        self.queue: list = []
        self.task = None

    async def submit(self, feeds: dict) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self.queue.append((feeds, fut))
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._drain())
        return await fut

    async def _drain(self):
        loop = asyncio.get_running_loop()
        limit = max(self.model.batched)
        while self.queue:
            start = loop.time()
            while len(self.queue) < limit and loop.time() - start < self.delay:
                await asyncio.sleep(min(0.001, self.delay))
            group, self.queue = self.queue[:limit], self.queue[limit:]
            try:
                outs = await loop.run_in_executor(None, self.model.run_batch, [f for f, _ in group])
                for (_, fut), out in zip(group, outs):
                    if not fut.done():
                        fut.set_result(out)
            except Exception as e:  # noqa: BLE001 - handed to every waiting request
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(e)


def make_app(models: dict, token: str | None = None, max_body: int = 64 << 20, max_concurrent: int = 32,
             timeout_s: float = 30.0, max_elements: int = 1 << 26, max_delay_ms: float = 0.0) -> web.Application:
    in_flight = {"n": 0}
    batchers = {name: Batcher(m, max_delay_ms / 1000.0) for name, m in models.items()
                if m.batched and max_delay_ms > 0}

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
            work = batchers[m.name].submit(feeds) if m.name in batchers else loop.run_in_executor(None, m.run, feeds)
            try:
                outputs = await asyncio.wait_for(work, timeout_s)
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
                      f'edgec_request_seconds_total{{model="{m.name}"}} {m.seconds:.6f}',
                      f'edgec_batches_total{{model="{m.name}"}} {m.batches}',
                      f'edgec_batched_requests_total{{model="{m.name}"}} {m.batched_requests}']
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
    batching = {n: sorted(m.batched) for n, m in models.items() if m.batched and limits.get("max_delay_ms")}
    print(f"edgec serve: {sorted(models)} on http://{host}:{port} (KServe v2 REST"
          f"{', bearer token' if token else ', no token: local use only'}"
          f"{f', dynamic batching {batching}' if batching else ''})", flush=True)
    web.run_app(app, host=host, port=port, shutdown_timeout=grace_s, print=None, access_log=None)
