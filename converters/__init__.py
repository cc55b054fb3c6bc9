"""edgec.converters: lower ONNX and TFLite models into the .edgec IR.

    m = edgec.convert("model.tflite", input_shape={"x": (1, 3, 320, 320)})
    m.save("model.edgec")
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .graph import ConversionError, Graph

__all__ = ["convert", "load", "check", "Model", "ConversionError", "Graph"]

PRECISIONS = ("fp32", "int8", "int4", "int3", "int2", "mixed")


class Model:
    """A converted model: the optimized Graph and its .edgec bytes."""

    def __init__(self, graph: Graph):
        from .writer import write_model
        self.graph = graph
        self._bytes = write_model(graph)

    def to_bytes(self) -> bytes:
        return self._bytes

    def save(self, path) -> Path:
        path = Path(path)
        path.write_bytes(self._bytes)
        return path

    def interpreter(self, **kwargs):
        from ..runtime import Interpreter
        return Interpreter(self._bytes, **kwargs)

    def __len__(self):
        return len(self._bytes)


def _source_bytes(model) -> tuple:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "model"
    path = Path(model)
    try:
        return path.read_bytes(), path.name
    except OSError as e:
        raise ConversionError(f"{model}: cannot read: {e.strerror}") from None


def detect_format(data: bytes, name: str = "") -> str:
    if len(data) >= 8 and data[4:8] == b"TFL3":
        return "tflite"
    if name.endswith(".onnx") or (data[:1] == b"\x08" and not name.endswith(".tflite")):
        return "onnx"
    raise ConversionError(f"{name}: not a TFLite or ONNX model (unknown file signature)")


def load(model, input_shape: dict | None = None) -> Graph:
    """Parse a .tflite / .onnx file (path or bytes) into an unoptimized Graph."""
    data, name = _source_bytes(model)
    kind = detect_format(data, name)
    if kind == "tflite":
        from .tflite import load_tflite
        graph = load_tflite(data, input_shape=input_shape, name=name)
    else:
        try:
            from .onnx import load_onnx
        except ImportError:
            raise ConversionError(f"{name}: the ONNX frontend is not part of this edgec version") from None
        graph = load_onnx(data, input_shape=input_shape, name=name)
    graph.metadata.setdefault("source_sha256", hashlib.sha256(data).hexdigest())
    graph.metadata.setdefault("producer", "edgec")
    return graph


def convert(model, quantize: str = "fp32", calibration=None, input_shape: dict | None = None,
            calibration_method: str = "minmax", percentile: float = 99.99, progress: bool = True,
            preprocessing: dict | None = None, patch: str | None = None, max_recompute: float = 0.15,
            exclude=(), keep_float=(), sparsity: float | None = None, sparse_block: str = "1x4",
            sparse_kernels: bool = True, group_size: int = 128, lut_tables: str = "exact",
            size_budget: float | None = None) -> Model:
    """Convert a TFLite or ONNX model into an edgec Model (save() it to get a .edgec).

    quantize="int8" quantizes a float model after training: `calibration` is an iterable
    of arrays (or {input: array} dicts), an .npz or an image folder; activation ranges
    by `calibration_method` ("minmax" or "percentile"); per-channel int8 weights.
    Models that are already int8 (TFLite full-integer) convert as they are.
    preprocessing={"mean": m, "std": s} is stored in the model (and used for image folders).
    patch="auto" runs the memory-heavy first stage patch by patch (MCUNetV2; the split and
    grid with the smallest peak arena whose extra MACs stay <= max_recompute), or
    patch="RxC" / "RxC@TENSOR" for a fixed grid (and split tensor); outputs are unchanged.
    exclude=[node names] / keep_float=[edgec op types, e.g. "SOFTMAX"] stay float in an
    int8 model (quantize/dequantize ops are added around them).
    sparsity=0.8 prunes that fraction of sparse_block ("1x4" or "4x1") weight blocks, by
    magnitude, in FULLY_CONNECTED and 1x1 CONV2D layers, and runs them with the block-sparse
    kernels (SPARSE_FULLY_CONNECTED); sparse_kernels=False keeps the pruned layers dense.
    quantize="int4"|"int3"|"int2" stores FULLY_CONNECTED / MatMul / 1x1-conv weights in that
    many bits per weight (groups of `group_size` = 32, 64 or 128 inputs with a half scale and
    a zero point each; T-MAC table-lookup GEMM at run time); everything else stays fp32.
    quantize="mixed" with size_budget=0.4 picks 4/3/2/1 bits or fp32 per such layer so that all
    constants take at most that fraction of their fp32 bytes (per-layer output error on
    `calibration`, or weight error without it; report in metadata["quantization"]).
    lut_tables="int8" uses T-MAC's int8 tables (faster; rounds the partial sums);
    exclude=[node names] keeps those layers' weights in fp32.
    """
    if quantize not in PRECISIONS:
        raise ConversionError(f"quantize={quantize!r}: choose one of {', '.join(PRECISIONS)}")
    try:
        return _convert(model, quantize, calibration, input_shape, calibration_method, percentile,
                        progress, preprocessing, patch, max_recompute, exclude, keep_float,
                        (sparsity, sparse_block, sparse_kernels), group_size, lut_tables, size_budget)
    except (ConversionError, TypeError):
        raise
    except Exception as e:  # malformed models reach numpy / passes in many ways
        name = getattr(model, "name", None) or (str(model) if isinstance(model, (str, Path)) else "model")
        raise ConversionError(f"{name}: cannot convert ({type(e).__name__}: {e})") from e


def _convert(model, quantize, calibration, input_shape, calibration_method, percentile, progress,
             preprocessing, patch=None, max_recompute=0.15, exclude=(), keep_float=(),
             sparse=(None, "1x4", True), group_size=128, lut_tables="exact", size_budget=None) -> Model:
    graph = load(model, input_shape=input_shape)
    if preprocessing:
        graph.metadata["preprocessing"] = dict(preprocessing)
    from .passes import run_passes
    from . import quantize as q
    run_passes(graph)
    sparsity, sparse_block, sparse_kernels = sparse
    if sparsity:
        from .passes.prune import prune_graph
        prune_graph(graph, sparsity, sparse_block)
    if quantize == "int8":
        batches = q.calibration_batches(calibration, graph)
        ranges = q.collect_ranges(graph, batches, calibration_method, percentile, progress)
        names, kinds = set(exclude or ()), {k.upper() for k in keep_float or ()}
        unknown = names - {n.name for n in graph.nodes}
        if unknown:
            raise ConversionError(f"{graph.name}: exclude names no node: {sorted(unknown)[:5]} "
                                  "(node names as in the source model; see `edgec inspect`)")
        q.quantize_graph(graph, ranges, (lambda n: n.name in names or n.op in kinds) if names or kinds else None)
        graph.metadata["quantization"] = {"scheme": "int8 per-channel weights, per-tensor activations",
                                          "calibration": calibration_method, "samples": len(batches)}
    elif quantize in ("int4", "int3", "int2"):
        from .quantize.lowbit import quantize_lowbit
        report = quantize_lowbit(graph, quantize, group_size, lut_tables, exclude)
        graph.metadata["quantization"] = {"scheme": f"{quantize} weights in groups of {group_size} "
                                          f"(T-MAC LUT GEMM, {lut_tables} tables), int8 activations per row", **report}
    elif quantize == "mixed":
        from .quantize.mixed import quantize_mixed
        batches = q.calibration_batches(calibration, graph) if calibration is not None else None
        report = quantize_mixed(graph, size_budget, batches, group_size, lut_tables, exclude)
        graph.metadata["quantization"] = {"scheme": f"mixed 1/2/3/4-bit and fp32 weights in groups of {group_size} "
                                          "(T-MAC LUT GEMM), int8 activations per row", **report}
    elif quantize != "fp32":
        raise ConversionError(f"{graph.name}: quantize={quantize!r} is not available in this edgec "
                              "version yet (fp32, int8, int4, int3, int2 are)")
    q.lower_int8(graph)  # integer parameters for int8 nodes
    from .passes.lookup_mul import fuse_lookup_mul
    fuse_lookup_mul(graph)  # int8 x * f(x) (swish) as one table
    if sparsity and sparse_kernels:
        from .passes.prune import lower_sparse
        lower_sparse(graph, sparse_block)
    if patch:
        from .plan.patch import apply_patch
        graph = apply_patch(graph, patch, max_recompute, progress)
    from .passes.residual import fuse_residuals
    fuse_residuals(graph)  # fp32 conv + skip ADD (+ channel PAD): after patching, which slices conv inputs
    return Model(graph)


def check(model) -> list:
    """Per-op support rows for a model, without converting it."""
    data, name = _source_bytes(model)
    if detect_format(data, name) == "tflite":
        from .tflite import check_tflite
        return check_tflite(data)
    from .onnx import check_onnx
    return check_onnx(data)
