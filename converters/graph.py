"""The converter's in-memory graph: what frontends produce, passes rewrite and the
writer serializes.

Nodes already use edgec op names (runtime/include/edgec/ops.def) and parameter dicts
whose keys are the fields of the op's params struct in format.h, so a frontend's job
is exactly "map source op -> edgec op + params". Layout is NHWC throughout.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..runtime import format as fmt


class ConversionError(ValueError):
    """A model cannot be converted; the message names the model, node and op."""


def handler_registry():
    """(handlers, handles): a frontend's source-op -> handler table and the decorator
    `@handles("OP", ...)` that fills it."""
    handlers = {}

    def handles(*kinds):
        def deco(fn):
            for k in kinds:
                handlers[k] = fn
            return fn
        return deco
    return handlers, handles


def unsupported_ops_error(model: str, unsupported: dict, limit: int = 10) -> ConversionError:
    """One error for a whole model: every unsupported op type with (up to `limit`) node
    names, and what to do. Frontends collect {op type: [node names]} before converting."""
    lines = []  # op types may be undecodable bytes in a damaged protobuf: sort as text
    for kind, nodes in sorted(unsupported.items(), key=lambda kv: str(kv[0])):
        shown = ", ".join(repr(n) for n in nodes[:limit])
        more = f" and {len(nodes) - limit} more" if len(nodes) > limit else ""
        lines.append(f"  {kind}: {len(nodes)} node(s): {shown}{more}")
    return ConversionError(f"{model}: {len(unsupported)} unsupported op type(s):\n" + "\n".join(lines) +
                           "\nRun `edgec check MODEL` for the full support table; replace these ops in the "
                           "source model (or cut the graph before them) and convert again.")


@dataclass
class Tensor:
    name: str
    shape: tuple
    dtype: np.dtype
    data: np.ndarray | None = None   # set for constants
    scale: float = 0.0               # per-tensor quantization; 0 = none
    zero_point: int = 0
    channel_scales: np.ndarray | None = None  # per-channel (weights): scales along quant_axis
    quant_axis: int = 0

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)
        if self.data is not None:
            self.data = np.ascontiguousarray(self.data, dtype=self.dtype).reshape(self.shape)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


@dataclass
class Node:
    op: str                  # edgec op name
    inputs: list             # tensor names; "" = optional input absent
    outputs: list
    params: dict = field(default_factory=dict)
    name: str = ""           # node name in the source model, for messages and mapping


@dataclass
class Graph:
    tensors: dict = field(default_factory=dict)   # name -> Tensor
    nodes: list = field(default_factory=list)     # topological order
    inputs: list = field(default_factory=list)    # tensor names
    outputs: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    name: str = "model"                           # source model, for messages

    # -- building ----------------------------------------------------------------------
    def add_tensor(self, name, shape, dtype=np.float32, data=None, scale=0.0, zero_point=0):
        if name in self.tensors:
            raise ConversionError(f"{self.name}: duplicate tensor name {name!r}")
        t = Tensor(name, shape, dtype, data, scale, zero_point)
        self.tensors[name] = t
        return t

    def add_constant(self, name, array, dtype=None):
        array = np.asarray(array, dtype=dtype)
        return self.add_tensor(self.unique_name(name), array.shape, array.dtype, array)

    def add_node(self, op, inputs, outputs, params=None, name=""):
        """Append a node; params are completed with format.PARAM_DEFAULTS."""
        try:
            params = fmt.complete_params(op, dict(params or {}))
        except KeyError as e:
            raise ConversionError(f"model {self.name!r}, node {name!r}: {e.args[0]}") from None
        node = Node(op, list(inputs), list(outputs), params, name)
        self.nodes.append(node)
        return node

    def unique_name(self, base: str) -> str:
        if base not in self.tensors:
            return base
        i = 1
        while f"{base}_{i}" in self.tensors:
            i += 1
        return f"{base}_{i}"

    # -- queries -----------------------------------------------------------------------
    def producers(self) -> dict:
        return {out: n for n in self.nodes for out in n.outputs}

    def consumers(self) -> dict:
        users = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    users.setdefault(i, []).append(n)
        return users

    def const(self, name: str):
        """The constant array of tensor `name`, or None if it is not a constant."""
        t = self.tensors.get(name) if name else None
        return None if t is None else t.data

    def describe(self, node: Node) -> str:
        return f"model {self.name!r}, node {node.name or '?'!r} ({node.op})"

    # -- maintenance -------------------------------------------------------------------
    def replace_uses(self, old: str, new: str):
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        self.outputs = [new if o == old else o for o in self.outputs]

    def prune(self):
        """Drop nodes whose outputs nobody uses and tensors no node or IO references."""
        live = set(self.outputs)
        kept = []
        for n in reversed(self.nodes):
            if any(o in live for o in n.outputs):
                kept.append(n)
                live.update(i for i in n.inputs if i)
        self.nodes = kept[::-1]
        live.update(self.inputs)
        self.tensors = {k: v for k, v in self.tensors.items() if k in live}

    def validate(self):
        """Every input is produced before use; raises ConversionError otherwise."""
        ready = set(self.inputs) | {k for k, t in self.tensors.items() if t.is_constant}
        for n in self.nodes:
            for i in n.inputs:
                if i and i not in ready:
                    raise ConversionError(f"{self.describe(n)}: input {i!r} is used before it is produced")
                if i and i not in self.tensors:
                    raise ConversionError(f"{self.describe(n)}: unknown tensor {i!r}")
            ready.update(n.outputs)
        for o in self.outputs:
            if o not in ready:
                raise ConversionError(f"{self.name}: graph output {o!r} is never produced")
