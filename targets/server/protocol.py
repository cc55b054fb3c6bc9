"""KServe v2 REST bodies with Triton's binary tensor data extension: a JSON header of
`Inference-Header-Content-Length` bytes, then each binary tensor's raw bytes in input
order (`parameters.binary_data_size`). Everything a request says is checked against
limits before any array is built; errors are ProtocolError (-> HTTP 400)."""
from __future__ import annotations

import json

import numpy as np

DATATYPES = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT8": np.int8, "UINT8": np.uint8,
             "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_}
NAMES = {np.dtype(v): k for k, v in DATATYPES.items()}


class ProtocolError(ValueError):
    pass


def datatype(dtype) -> str:
    return NAMES[np.dtype(dtype)]


def parse_request(body: bytes, header_length: str | None, max_elements: int) -> tuple:
    """-> (request JSON, {input name: array}). header_length: the
    Inference-Header-Content-Length header, or None for a JSON-only body."""
    try:
        n = len(body) if header_length is None else int(header_length)
    except ValueError:
        raise ProtocolError("Inference-Header-Content-Length is not an integer") from None
    if not 0 < n <= len(body):
        raise ProtocolError(f"Inference-Header-Content-Length {n} outside the body of {len(body)} bytes")
    try:
        req = json.loads(body[:n])
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtocolError(f"request header is not JSON: {e}") from None
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list) or not req["inputs"]:
        raise ProtocolError("request needs a non-empty \"inputs\" list")
    arrays, pos = {}, n
    for spec in req["inputs"]:
        if not isinstance(spec, dict):
            raise ProtocolError("each input must be an object")
        name, shape, dt = spec.get("name"), spec.get("shape"), spec.get("datatype")
        if not isinstance(name, str) or not isinstance(shape, list) or dt not in DATATYPES:
            raise ProtocolError(f"input {name!r}: needs name, shape and a datatype in {sorted(DATATYPES)}")
        if not all(isinstance(d, int) and 0 <= d for d in shape):
            raise ProtocolError(f"input {name!r}: shape {shape} must be non-negative integers")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count > max_elements:
            raise ProtocolError(f"input {name!r}: {count} elements > the server's limit of {max_elements}")
        dtype = np.dtype(DATATYPES[dt])
        size = (spec.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size != count * dtype.itemsize or pos + size > len(body):
                raise ProtocolError(f"input {name!r}: binary_data_size {size} does not match shape {shape} "
                                    f"{dt} or the body")
            arrays[name] = np.frombuffer(body[pos:pos + size], dtype).reshape(shape).copy()
            pos += size
        else:
            data = spec.get("data")
            try:
                a = np.asarray(data, dtype=dtype)
            except (TypeError, ValueError):
                raise ProtocolError(f"input {name!r}: data is not a list of {dt}") from None
            if a.size != count:
                raise ProtocolError(f"input {name!r}: {a.size} values for shape {shape}")
            arrays[name] = a.reshape(shape)
    if pos != len(body):
        raise ProtocolError(f"{len(body) - pos} bytes after the last binary input")
    return req, arrays


def write_response(model: str, req: dict, outputs: dict) -> tuple:
    """-> (body bytes, headers). Outputs go binary when the request asks for it (per
    output `parameters.binary_data` or request `parameters.binary_data_output`)."""
    wanted = {o.get("name"): o for o in req.get("outputs") or [] if isinstance(o, dict)}
    default_binary = bool((req.get("parameters") or {}).get("binary_data_output", False))
    names = [n for n in outputs if not wanted or n in wanted]
    unknown = [n for n in wanted if n not in outputs]
    if unknown:
        raise ProtocolError(f"unknown output(s) {unknown}; the model has {list(outputs)}")
    meta, blobs = [], []
    for n in names:
        a = np.ascontiguousarray(outputs[n])
        binary = bool(((wanted.get(n) or {}).get("parameters") or {}).get("binary_data", default_binary))
        o = {"name": n, "datatype": datatype(a.dtype), "shape": list(a.shape)}
        if binary:
            o["parameters"] = {"binary_data_size": a.nbytes}
            blobs.append(a.tobytes())
        else:
            o["data"] = a.ravel().tolist()
        meta.append(o)
    head = {"model_name": model, "model_version": "1", "outputs": meta}
    if "id" in req:
        head["id"] = req["id"]
    js = json.dumps(head).encode()
    if not blobs:
        return js, {"Content-Type": "application/json"}
    return js + b"".join(blobs), {"Content-Type": "application/octet-stream",
                                  "Inference-Header-Content-Length": str(len(js))}
