"""edgec.runtime: load a .edgec model and run it through the C core.

This is all a device needs (numpy + cffi). One C call per inference; inputs and
outputs are numpy buffers passed to the core without copies.
"""
from __future__ import annotations

import mmap
import os
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from . import format as fmt
from ._lib import ffi, lib

__all__ = ["Interpreter", "ModelError", "TensorDetails"]


class ModelError(ValueError):
    """A model file cannot be loaded or prepared; the message says which part and why."""


class DeviceError(RuntimeError):
    """The requested device cannot run this interpreter (the message says why)."""


DEVICES = {"cpu": 0, "cuda": 1, "cuda-emulated": 2}
UNSUPPORTED = 5  # EDGEC_ERR_UNSUPPORTED


def cuda_info() -> tuple[int, str]:
    """(driver version, e.g. 13000, or 0; a line saying what was found or why not)."""
    text = ffi.new("char[256]")
    version = int(lib().edgec_cuda_driver_version(text, 256))
    return version, ffi.string(text).decode(errors="replace")


@dataclass(frozen=True)
class TensorDetails:
    name: str
    index: int           # position in the model's tensor table
    shape: tuple
    dtype: np.dtype
    quantization: tuple  # (scale, zero_point); (0.0, 0) when not quantized


def _aligned_copy(data: bytes) -> np.ndarray:
    raw = np.empty(len(data) + 64, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64
    buf = raw[start:start + len(data)]
    buf[:] = np.frombuffer(data, dtype=np.uint8)
    return buf


class Interpreter:
    """Runs one .edgec model.

    Interpreter(model, num_threads=1, verify_checksum=True, profile=False, device="cpu",
                fallback=True)
      model: path to a .edgec file (memory-mapped) or its bytes.
      device: "cpu"; "cuda" (conv, depthwise, fully-connected and same-shape element-wise ops
        on the GPU through libcuda, the rest on the CPU over the same managed memory); or
        "cuda-emulated" (the CUDA kernels run serially on the host: for tests). When the
        GPU cannot be used (no libcuda, driver too old, no kernels in this build),
        fallback=True warns with the reason and runs on the CPU (self.device says which
        device runs); fallback=False raises DeviceError.
    run() calls on one Interpreter are serialized (a lock); use one Interpreter per
    thread for parallel inference.
    """

    def __init__(self, model, num_threads: int = 1, verify_checksum: bool = True,
                 profile: bool = False, device: str = "cpu", fallback: bool = True):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {sorted(DEVICES)}, got {device!r}")
        self._lib = lib()
        self._lock = threading.Lock()
        self._model = self._interp = None
        if isinstance(model, (str, os.PathLike)):
            self.path = str(model)
            try:
                with open(model, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    self._buffer = (mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                                    if size else b"")
            except OSError as e:
                raise ModelError(f"{model}: cannot open: {e.strerror}") from None
        else:
            self.path = "<bytes>"
            self._buffer = _aligned_copy(bytes(model))
        size = len(self._buffer)
        # mmap is page-aligned; an empty file still gets a valid (aligned) pointer
        self._keep = self._buffer if size else _aligned_copy(b"\0" * 64)
        data = ffi.from_buffer(self._keep)
        err = ffi.new("char[1024]")
        out = ffi.new("edgec_model **")
        flags = 0 if verify_checksum else 1
        status = self._lib.edgec_model_open(data, size, flags, out, err, 1024)
        if status:
            raise ModelError(f"{self.path}: {ffi.string(err).decode(errors='replace')}")
        self._model = out[0]
        opts = ffi.new("edgec_options *")
        self._lib.edgec_options_default(opts)
        opts.num_threads = max(1, int(num_threads))
        opts.profile = 1 if profile else 0
        opts.device = DEVICES[device]
        it = ffi.new("edgec_interpreter **")
        status = self._lib.edgec_interpreter_create(self._model, opts, it, err, 1024)
        if status == UNSUPPORTED and device != "cpu":
            why = ffi.string(err).decode(errors="replace")
            if not fallback:
                self._lib.edgec_model_close(self._model)
                self._model = None
                raise DeviceError(f"{self.path}: device {device!r} is not available: {why}")
            warnings.warn(f"{self.path}: device {device!r} is not available ({why}); running on the CPU",
                          RuntimeWarning, stacklevel=2)
            device = "cpu"
            opts.device = 0
            status = self._lib.edgec_interpreter_create(self._model, opts, it, err, 1024)
        if status:
            self._lib.edgec_model_close(self._model)
            self._model = None
            raise ModelError(f"{self.path}: {ffi.string(err).decode(errors='replace')}")
        self._interp = it[0]
        self.num_threads = opts.num_threads
        self.device = device
        self.device_ops = int(self._lib.edgec_interpreter_device_ops(self._interp))  # ops on the device
        self._profile_enabled = bool(profile)
        m = self._model
        self.inputs = [self._details(self._lib.edgec_model_input_tensor(m, i))
                       for i in range(self._lib.edgec_model_input_count(m))]
        self.outputs = [self._details(self._lib.edgec_model_output_tensor(m, i))
                        for i in range(self._lib.edgec_model_output_count(m))]
        self._in_ptrs = ffi.new("void *[]", len(self.inputs))
        self._out_ptrs = ffi.new("void *[]", len(self.outputs))

    def _details(self, index: int) -> TensorDetails:
        info = ffi.new("edgec_tensor_info *")
        self._lib.edgec_model_tensor_info(self._model, index, info)
        name = ffi.unpack(info.name, info.name_length).decode("utf-8", "replace")
        shape = tuple(info.dims[d] for d in range(info.rank))
        return TensorDetails(name, index, shape, fmt.DTYPES[info.dtype],
                             (float(info.scale), int(info.zero_point)))

    # -- running ---------------------------------------------------------------------------
    @property
    def arena_bytes(self) -> int:
        """Exact working memory of this interpreter: planned activations + weights repacked
        for SIMD kernels (`packed_bytes`) + op scratch."""
        self._check_open()
        return int(self._lib.edgec_interpreter_arena_bytes(self._interp))

    @property
    def packed_bytes(self) -> int:
        """The part of arena_bytes holding weights repacked for this CPU's SIMD kernels."""
        self._check_open()
        return int(self._lib.edgec_interpreter_packed_bytes(self._interp))

    def _check_open(self):
        if self._interp is None:
            raise RuntimeError(f"{self.path}: the interpreter is closed")

    def _feeds(self, feeds, kwargs) -> list:
        if feeds is None:
            feeds = {}
        if isinstance(feeds, np.ndarray) or np.isscalar(feeds):
            if len(self.inputs) != 1:
                names = [d.name for d in self.inputs]
                raise ValueError(f"{self.path}: the model has {len(names)} inputs {names}; pass a dict")
            feeds = {self.inputs[0].name: feeds}
        elif isinstance(feeds, (list, tuple)):
            if len(feeds) != len(self.inputs):
                raise ValueError(f"{self.path}: {len(feeds)} arrays given, the model has {len(self.inputs)} inputs")
            feeds = {d.name: a for d, a in zip(self.inputs, feeds)}
        feeds = {**feeds, **kwargs}
        expected = [d.name for d in self.inputs]
        unknown = [k for k in feeds if k not in expected]
        missing = [k for k in expected if k not in feeds]
        if unknown or missing:
            raise KeyError(f"{self.path}: inputs are {expected}; unknown {unknown}, missing {missing}")
        arrays = []
        for d in self.inputs:
            a = feeds[d.name]
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if a.dtype != d.dtype:
                raise TypeError(f"{self.path}: input {d.name!r} must be {d.dtype}, got {a.dtype} "
                                f"(convert with .astype(np.{d.dtype.name}))")
            if a.shape != d.shape:
                raise ValueError(f"{self.path}: input {d.name!r} must have shape {d.shape}, got {a.shape}")
            arrays.append(np.ascontiguousarray(a))
        return arrays

    def run(self, feeds=None, **kwargs) -> dict:
        """Run one inference. feeds: {name: array}, a list in input order, or one array
        for a single-input model. Returns {output name: new array}."""
        with self._lock:
            self._check_open()
            arrays = self._feeds(feeds, kwargs)
            outs = [np.empty(d.shape, dtype=d.dtype) for d in self.outputs]
            for i, a in enumerate(arrays):
                self._in_ptrs[i] = ffi.cast("void *", a.ctypes.data)
            for i, a in enumerate(outs):
                self._out_ptrs[i] = ffi.cast("void *", a.ctypes.data)
            status = self._lib.edgec_interpreter_invoke(self._interp, self._in_ptrs, self._out_ptrs)
            if status:
                msg = ffi.string(self._lib.edgec_interpreter_error(self._interp)).decode()
                raise RuntimeError(f"{self.path}: {msg}")
            return {d.name: a for d, a in zip(self.outputs, outs)}

    def profile(self) -> list:
        """Per-op wall time of the last run (needs profile=True): rows of
        {index, op, name, ms}."""
        self._check_open()
        if not self._profile_enabled:
            raise RuntimeError(f"{self.path}: create the Interpreter with profile=True to profile")
        n = self._lib.edgec_interpreter_profile(self._interp, ffi.NULL, 0)
        ns = ffi.new("uint64_t[]", max(n, 1))
        self._lib.edgec_interpreter_profile(self._interp, ns, n)
        model = fmt.read_model(self._keep[:len(self._buffer)], verify_checksum=False)
        return [{"index": i, "op": op.op, "name": op.name, "ms": ns[i] / 1e6}
                for i, op in enumerate(model.ops)]

    def close(self):
        with self._lock:
            if self._interp is not None:
                self._lib.edgec_interpreter_destroy(self._interp)
                self._interp = None
            if self._model is not None:
                self._lib.edgec_model_close(self._model)
                self._model = None
            if isinstance(self._buffer, mmap.mmap):
                self._keep = self._buffer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def cpu_features() -> str:
    return ffi.string(lib().edgec_cpu_features()).decode()


def core_version() -> str:
    return ffi.string(lib().edgec_version()).decode()
