"""Serialize a Graph into a .edgec image (layout: runtime/include/edgec/format.h)."""
from __future__ import annotations

import json

import numpy as np

from ..runtime import format as fmt
from .graph import ConversionError, Graph
from .plan import plan_arena


def _bind_io(graph: Graph):
    """Graph outputs are bound to caller buffers, so an output must be written by an op:
    insert a copy where an output is a graph input, a constant or listed twice."""
    producers = graph.producers()
    seen = set()
    for k, name in enumerate(list(graph.outputs)):
        if name in producers and name not in seen and name not in graph.inputs:
            seen.add(name)
            continue
        t = graph.tensors[name]
        copy = graph.unique_name(f"{name}_out")
        graph.add_tensor(copy, t.shape, t.dtype, scale=t.scale, zero_point=t.zero_point)
        graph.add_node("RESHAPE", [name], [copy], name=f"{name}/copy_to_output")
        graph.outputs[k] = copy
        seen.add(copy)


class _Sections:
    def __init__(self):
        self.parts = []          # (id, bytes) in file order
        self.table = []

    def add(self, sid: str, data: bytes):
        self.parts.append((fmt.SECTION_IDS[sid], bytes(data)))


def write_model(graph: Graph) -> bytes:
    """The .edgec bytes for `graph` (already converted, optimized and quantized)."""
    graph.validate()
    _bind_io(graph)
    graph.prune()
    names = list(graph.inputs) + [n for n in graph.tensors if n not in graph.inputs]
    index = {n: i for i, n in enumerate(names)}
    io = set(graph.inputs) | set(graph.outputs)
    arena_tensors = {n for n, t in graph.tensors.items() if not t.is_constant and n not in io}
    plan = plan_arena(graph, arena_tensors)

    strings = bytearray()

    def name_ref(text: str):
        raw = text.encode("utf-8")
        off = len(strings)
        strings.extend(raw)
        return off, len(raw)

    # constants go last, each 64-byte aligned in the file; their absolute offsets are
    # known once the other sections' sizes are, so lay those out first.
    indices: list = []
    params = bytearray()
    op_records = []
    for node in graph.nodes:
        pdef = fmt.params_def(node.op)
        try:
            pbytes = pdef.pack(fmt.complete_params(node.op, node.params))
        except (KeyError, TypeError, ValueError) as e:
            raise ConversionError(f"{graph.describe(node)}: bad parameters: {e}") from None
        first = len(indices)
        for t in node.inputs:
            indices.append(index[t] if t else -1)
        for t in node.outputs:
            indices.append(index[t])
        noff, nlen = name_ref(node.name or node.outputs[0])
        op_records.append(fmt.OP.pack(fmt.OPS[node.op].code, 0, len(node.inputs), len(node.outputs),
                                      first, len(params), len(pbytes), noff, nlen, 0))
        params.extend(pbytes)
    graph_first = len(indices)
    indices.extend(index[n] for n in graph.inputs)
    indices.extend(index[n] for n in graph.outputs)
    meta = dict(graph.metadata)
    meta.setdefault("inputs", [{"name": n, "shape": list(graph.tensors[n].shape),
                                "dtype": graph.tensors[n].dtype.name} for n in graph.inputs])
    meta.setdefault("outputs", [{"name": n, "shape": list(graph.tensors[n].shape),
                                 "dtype": graph.tensors[n].dtype.name} for n in graph.outputs])
    meta["arena"] = {"bytes": plan.arena_bytes,
                     "peak_tensors": plan.live_at_peak({n: graph.tensors[n].nbytes for n in plan.lifetimes})[:8]}
    name_refs = [name_ref(n) for n in names]

    head = [
        ("STRINGS", bytes(strings)),
        ("OPS", b"".join(op_records)),
        ("INDICES", np.asarray(indices, dtype="<i4").tobytes()),
        ("PARAMS", bytes(params)),
        ("GRAPH", fmt.GRAPH.pack(plan.arena_bytes, len(graph.inputs), len(graph.outputs), graph_first)),
        ("METADATA", json.dumps(meta, sort_keys=True).encode()),
    ]
    tensor_section_size = len(names) * fmt.TENSOR.size
    pos = fmt.HEADER_SIZE
    layout = []
    for sid, data in [("TENSORS", b"\0" * tensor_section_size)] + head:
        pos = fmt.align(pos)
        layout.append((sid, pos, data))
        pos += len(data)
    # block-sparse CSR tensors (values, cols, rowptr) go to the SPARSE_WEIGHTS section, low-bit
    # weight blobs (format.h, edgec_lowbit_header) to LOWBIT_WEIGHTS, both after CONSTANTS
    sparse = {t for node in graph.nodes if node.op == "SPARSE_FULLY_CONNECTED" for t in node.inputs[1:4]}
    lowbit = {n.inputs[1] for n in graph.nodes if n.op == "LUT_FULLY_CONNECTED" and len(n.inputs) > 1}
    const_offsets = {}

    def blob_of(start, members):
        blob = bytearray()
        for n in members:
            t = graph.tensors[n]
            blob.extend(b"\0" * (fmt.align(len(blob)) - len(blob)))
            const_offsets[n] = start + len(blob)
            blob.extend(np.ascontiguousarray(t.data).astype(t.dtype.newbyteorder("<")).tobytes())
        return blob
    constants = [n for n in names if graph.tensors[n].is_constant]
    const_start = fmt.align(pos)
    const_blob = blob_of(const_start, [n for n in constants if n not in sparse and n not in lowbit])
    sparse_start = fmt.align(const_start + len(const_blob))
    sparse_blob = blob_of(sparse_start, [n for n in constants if n in sparse])
    lowbit_start = fmt.align(sparse_start + len(sparse_blob))
    lowbit_blob = blob_of(lowbit_start, [n for n in constants if n in lowbit])

    records = []
    for n, (noff, nlen) in zip(names, name_refs):
        t = graph.tensors[n]
        if len(t.shape) > fmt.MAX_RANK:
            raise ConversionError(f"{graph.name}: tensor {n!r} has rank {len(t.shape)} > {fmt.MAX_RANK}")
        if any(d <= 0 for d in t.shape):
            raise ConversionError(f"{graph.name}: tensor {n!r} has shape {t.shape}; edgec needs every dim > 0")
        dims = list(t.shape) + [1] * (fmt.MAX_RANK - len(t.shape))
        if t.is_constant:
            storage, offset = 0, const_offsets[n]
        elif n in io:
            storage, offset = 2, 0
        else:
            storage, offset = 1, plan.offsets.get(n, 0)
        records.append(fmt.TENSOR.pack(noff, nlen, fmt.dtype_code(t.dtype), len(t.shape), storage, 0,
                                       *dims, offset, t.nbytes, float(t.scale), int(t.zero_point)))
    layout[0] = ("TENSORS", layout[0][1], b"".join(records))
    layout.append(("CONSTANTS", const_start, bytes(const_blob)))
    table_off = fmt.align(const_start + len(const_blob), 8)
    if sparse_blob:
        layout.append(("SPARSE_WEIGHTS", sparse_start, bytes(sparse_blob)))
        table_off = fmt.align(sparse_start + len(sparse_blob), 8)
    if lowbit_blob:
        layout.append(("LOWBIT_WEIGHTS", lowbit_start, bytes(lowbit_blob)))
        table_off = fmt.align(lowbit_start + len(lowbit_blob), 8)

    out = bytearray(table_off + len(layout) * fmt.SECTION.size)
    for sid, off, data in layout:
        out[off:off + len(data)] = data
    for i, (sid, off, data) in enumerate(layout):
        fmt.SECTION.pack_into(out, table_off + i * fmt.SECTION.size, fmt.SECTION_IDS[sid], 0, off, len(data))
    crc = fmt.crc32(memoryview(out)[fmt.HEADER_SIZE:])
    fmt.HEADER.pack_into(out, 0, fmt.MAGIC, fmt.VERSION_MAJOR, fmt.VERSION_MINOR, 0, fmt.HEADER_SIZE,
                         len(out), table_off, len(layout), crc)
    return bytes(out)
