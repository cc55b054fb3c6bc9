"""edgec: on-device inference for the edge.

    import edgec
    m = edgec.convert("model.tflite")          # or .onnx
    m.save("model.edgec")
    it = edgec.Interpreter("model.edgec")
    outputs = it.run({"input": x})
"""
from pathlib import Path as _Path

__version__ = "0.1.0"

# In a source checkout the card's top-level folders (runtime/, converters/, ...) sit
# beside this package instead of inside it (pyproject maps them at install time):
# let `edgec.runtime` resolve to ../runtime there too.
_root = _Path(__file__).resolve().parent.parent
if not (_Path(__file__).parent / "runtime").exists() and (_root / "runtime" / "__init__.py").exists():
    __path__.append(str(_root))  # noqa: F821 (package __path__)

from .runtime import DeviceError, Interpreter, ModelError, TensorDetails  # noqa: E402
from .converters import ConversionError, Model, convert, check  # noqa: E402
from . import lite  # noqa: E402
from .runtime.split_client import SplitClient  # noqa: E402


def sensitivity(model, calibration, input_shape=None, method: str = "minmax", layers=None) -> list:
    """Per-layer int8 sensitivity: rows {node, op, sqnr_db}, most sensitive first (each
    layer quantized alone, output SQNR against the float model on the calibration data)."""
    from .converters.quantize.sensitivity import sensitivity as _sensitivity
    return _sensitivity(model, calibration, input_shape, method, layers)


def validate(model, converted, data=None, seed: int = 0) -> list:
    """Layer-by-layer error of a converted model against its source model's reference
    runtime (LiteRT BUILTIN_REF / onnxruntime): rows as `edgec validate` prints them."""
    from .converters.validate import validate as _validate
    return _validate(model, converted, data, seed)


__all__ = ["DeviceError", "Interpreter", "ModelError", "TensorDetails", "ConversionError", "Model",
           "convert", "check", "lite", "SplitClient", "sensitivity", "validate", "__version__"]
