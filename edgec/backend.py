"""onnx's backend API over edgec, so onnx.backend.test and tools built on it run models
through edgec: prepare(model) converts the ModelProto (static shapes taken from its
inputs) and returns a rep whose run(inputs) calls the C core.

    import edgec.backend as backend
    rep = backend.prepare(onnx_model)
    outputs = rep.run([x])
"""
from __future__ import annotations

import numpy as np

from .converters import ConversionError, convert


class EdgecRep:
    def __init__(self, model, interpreter):
        self.model = model
        self.interpreter = interpreter

    def run(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            feeds = inputs
        else:
            inputs = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
            feeds = {d.name: np.asarray(a) for d, a in zip(self.interpreter.inputs, inputs)}
        out = self.interpreter.run(feeds)
        return tuple(out[d.name] for d in self.interpreter.outputs)


def _static_shapes(model) -> dict:
    inits = {i.name for i in model.graph.initializer}
    shapes = {}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        if dims and all(d > 0 for d in dims):
            shapes[inp.name] = tuple(dims)
    return shapes


def prepare(model, device: str = "CPU", **kwargs) -> EdgecRep:
    if device.upper() != "CPU":
        raise ValueError(f"edgec backend: device {device!r} is not supported (CPU)")
    m = convert(model.SerializeToString(), input_shape=_static_shapes(model) or None, progress=False)
    return EdgecRep(m, m.interpreter())


def run_model(model, inputs, device: str = "CPU", **kwargs):
    return prepare(model, device).run(inputs)


def supports_device(device: str) -> bool:
    return device.upper() == "CPU"


__all__ = ["prepare", "run_model", "supports_device", "EdgecRep", "ConversionError"]
