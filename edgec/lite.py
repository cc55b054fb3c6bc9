"""A drop-in for tflite-runtime's / LiteRT's Interpreter, backed by edgec.

    from edgec.lite import Interpreter          # was: from tflite_runtime.interpreter import Interpreter
    it = Interpreter(model_path="model.tflite")
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    y = it.get_tensor(it.get_output_details()[0]["index"])

The .tflite is converted in memory on construction (a .edgec path is loaded as is).
"""
from __future__ import annotations

import numpy as np

from .runtime import Interpreter as _EdgecInterpreter

__all__ = ["Interpreter"]


class Interpreter:
    def __init__(self, model_path=None, model_content=None, num_threads=None,
                 experimental_delegates=None, **_ignored):
        if (model_path is None) == (model_content is None):
            raise ValueError("pass exactly one of model_path or model_content")
        source = model_content if model_content is not None else model_path
        if model_path is not None and str(model_path).endswith(".edgec"):
            data = source
        else:
            from .converters import convert
            data = convert(source).to_bytes()
        self._it = _EdgecInterpreter(data, num_threads=num_threads or 1)
        self._values = {}
        self._outputs = {}
        self._allocated = False

    def allocate_tensors(self):
        self._allocated = True

    def _detail(self, d):
        return {"name": d.name, "index": d.index, "shape": np.array(d.shape, dtype=np.int32),
                "shape_signature": np.array(d.shape, dtype=np.int32), "dtype": d.dtype.type,
                "quantization": d.quantization,
                "quantization_parameters": {"scales": np.array([d.quantization[0]] if d.quantization[0] else [],
                                                               dtype=np.float32),
                                            "zero_points": np.array([d.quantization[1]] if d.quantization[0] else [],
                                                                    dtype=np.int32),
                                            "quantized_dimension": 0},
                "sparsity_parameters": {}}

    def get_input_details(self):
        return [self._detail(d) for d in self._it.inputs]

    def get_output_details(self):
        return [self._detail(d) for d in self._it.outputs]

    def _require_allocated(self):
        if not self._allocated:
            raise RuntimeError("call allocate_tensors() first")

    def set_tensor(self, tensor_index, value):
        self._require_allocated()
        for d in self._it.inputs:
            if d.index == tensor_index:
                value = np.asarray(value)
                if value.dtype != d.dtype:
                    raise ValueError(f"Cannot set tensor: Got value of type {value.dtype.name.upper()} "
                                     f"but expected type {d.dtype.name.upper()} for input {d.index}, name: {d.name}")
                if value.shape != d.shape:
                    raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {value.shape} "
                                     f"but expected {d.shape} for input {d.index}.")
                self._values[d.name] = np.array(value, copy=True)
                return
        raise ValueError(f"Tensor index {tensor_index} is not an input of this model")

    def invoke(self):
        self._require_allocated()
        missing = [d.name for d in self._it.inputs if d.name not in self._values]
        if missing:
            raise RuntimeError(f"set_tensor() was not called for inputs {missing}")
        self._outputs = self._it.run(self._values)

    def get_tensor(self, tensor_index):
        for d in self._it.outputs:
            if d.index == tensor_index:
                if d.name not in self._outputs:
                    raise RuntimeError("call invoke() before reading outputs")
                return self._outputs[d.name].copy()
        for d in self._it.inputs:
            if d.index == tensor_index and d.name in self._values:
                return self._values[d.name].copy()
        raise ValueError(f"Tensor index {tensor_index} is not an input or output of this model "
                         "(edgec keeps only inputs and outputs readable)")

    def tensor(self, tensor_index):
        return lambda: self.get_tensor(tensor_index)

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        for d in self._it.inputs:
            if d.index == input_index and tuple(tensor_size) == d.shape:
                return
        raise ValueError("edgec models have static shapes: convert with input_shape=... instead")

    def get_signature_list(self):
        return {}
