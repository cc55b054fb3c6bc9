"""The device side of split computing: run the head, encode the cut tensors, send them to
`edgec serve` (KServe v2 REST with Triton's binary extension, stdlib http.client only)
and return the tail's outputs; when the server is slow, unreachable or answers 5xx, run
the whole model locally instead and say so. After a failure the server is skipped for
`retry_s` seconds, then tried again.

    client = edgec.SplitClient("split/", "http://edge:8000", token="...", deadline_ms=300)
    outputs = client.run(x)            # {name: array}
    client.last                        # {"where": "server"|"local", "bytes_sent": ..., "reason": ...}
"""
from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from pathlib import Path

import numpy as np

from . import Interpreter, codec

_DT = {"float32": "FP32", "int8": "INT8", "uint8": "UINT8", "int32": "INT32", "int64": "INT64", "float16": "FP16"}


class SplitClient:
    def __init__(self, directory, url: str, token: str | None = None, deadline_ms: float = 1000.0,
                 model: str | None = None, retry_s: float = 5.0):
        d = Path(directory)
        self.desc = json.loads((d / "codec.json").read_text())
        self.head = Interpreter(d / "head.edgec")
        self.full = Interpreter(d / "model.edgec")
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"server URL {url!r}: expected http://host:port")
        self.url, self.token, self.deadline = u, token, deadline_ms / 1000.0
        self.model = model or d.resolve().name
        self.retry_s, self._down_until = retry_s, 0.0
        self.last: dict = {}

    def _request(self, body: bytes, header_len: int) -> tuple:
        conn_cls = http.client.HTTPSConnection if self.url.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(self.url.hostname, self.url.port or (443 if self.url.scheme == "https" else 80),
                        timeout=self.deadline)
        headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(header_len)}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request("POST", f"/v2/models/{urllib.parse.quote(self.model)}/infer", body=body, headers=headers)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def _remote(self, feeds) -> tuple:
        head_out = self.head.run(feeds)
        inputs, blobs = [], []
        for t in self.desc["tensors"]:
            blob = codec.encode(head_out[t["name"]], t["mode"], self.desc.get("coder", "zstd"))
            inputs.append({"name": t["name"], "shape": [len(blob)], "datatype": "UINT8",
                           "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
        for name in self.desc.get("extra_inputs", []):
            a = np.ascontiguousarray(feeds[name] if isinstance(feeds, dict) else feeds)
            inputs.append({"name": name, "shape": list(a.shape), "datatype": _DT[a.dtype.name],
                           "parameters": {"binary_data_size": a.nbytes}})
            blobs.append(a.tobytes())
        header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
        status, headers, body = self._request(header + b"".join(blobs), len(header))
        if status >= 500:
            raise ConnectionError(f"server answered {status}")
        if status != 200:  # 4xx: our request is wrong; falling back would hide it
            raise RuntimeError(f"server refused the request ({status}): {body[:300].decode('utf-8', 'replace')}")
        n = int({k.lower(): v for k, v in headers.items()}.get("inference-header-content-length", len(body)))
        meta, pos, out = json.loads(body[:n]), n, {}
        for o in meta["outputs"]:
            dt = {v: k for k, v in _DT.items()}[o["datatype"]]
            if "parameters" in o and "binary_data_size" in o["parameters"]:
                size = o["parameters"]["binary_data_size"]
                out[o["name"]] = np.frombuffer(body[pos:pos + size], dt).reshape(o["shape"]).copy()
                pos += size
            else:
                out[o["name"]] = np.asarray(o["data"], dt).reshape(o["shape"])
        return out, sum(len(b) for b in blobs)

    def run(self, feeds) -> dict:
        now = time.monotonic()
        if now >= self._down_until:
            try:
                out, sent = self._remote(feeds)
                self.last = {"where": "server", "bytes_sent": sent}
                return out
            except (OSError, ConnectionError, http.client.HTTPException) as e:  # timeouts are OSErrors
                self._down_until = now + self.retry_s
                reason = f"{type(e).__name__}: {e}"
        else:
            reason = f"server skipped for {self._down_until - now:.1f} s after a failure"
        self.last = {"where": "local", "bytes_sent": 0, "reason": reason}
        return self.full.run(feeds)
