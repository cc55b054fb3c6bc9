"""Text dump of a .edgec file: header, sections, tensors, ops, arena plan, sizes."""
from __future__ import annotations

from . import format as fmt


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _params_text(params: dict) -> str:
    skip = {"q_min": -128, "q_max": 127, "act_min": float("-inf"), "act_max": float("inf")}
    parts = []
    for k, v in params.items():
        if skip.get(k, object()) == v or (isinstance(v, list) and not any(v)):
            continue
        parts.append(f"{k}={v}")
    return " ".join(parts)


def inspect_text(model: fmt.ModelFile, show_tensors: bool = True, memory: bool = False) -> str:
    t = model.tensors
    lines = [f"edgec IR {model.version[0]}.{model.version[1]}, {_size(model.file_size)}, "
             f"{len(t)} tensors, {len(model.ops)} ops"]
    if model.metadata.get("source_sha256"):
        lines.append(f"source: {model.metadata.get('source', '?')} sha256 {model.metadata['source_sha256'][:16]}")
    lines.append("sections:")
    for name, off, size in model.sections:
        lines.append(f"  {name:<16} offset {off:>10}  {_size(size):>10}")
    const_bytes = sum(x.nbytes for x in t if x.storage == "constant")
    lines.append(f"weights: {_size(const_bytes)}   arena (planned activations): {_size(model.arena_bytes)}")

    def tname(i):
        return "-" if i < 0 else t[i].name

    def io(kind, idx):
        for i in idx:
            x = t[i]
            q = f" q=({x.scale:.6g},{x.zero_point})" if x.scale else ""
            lines.append(f"{kind:<7} {x.name}: {x.dtype.name}{list(x.shape)}{q}")
    io("input", model.inputs)
    io("output", model.outputs)
    lines.append("ops:")
    for op in model.ops:
        ins = ", ".join(tname(i) for i in op.inputs)
        outs = ", ".join(tname(i) for i in op.outputs)
        lines.append(f"  #{op.index:<4} {op.op:<18} {op.name}")
        lines.append(f"        in: {ins}")
        lines.append(f"        out: {outs}  {_params_text(op.params)}")
    if show_tensors:
        lines.append("tensors:")
        for x in t:
            where = {"constant": f"const@{x.offset}", "arena": f"arena[{x.offset}:{x.offset + x.nbytes}]",
                     "io": "io"}[x.storage]
            lines.append(f"  {x.index:<5} {x.dtype.name:<8} {str(list(x.shape)):<22} {_size(x.nbytes):>10}  {where:<28} {x.name}")
    if memory:
        lines.extend(memory_text(model))
    return "\n".join(lines)


def memory_text(model: fmt.ModelFile) -> list:
    """Arena usage per op: bytes live at each op and the tensors that make the peak."""
    first, last = {}, {}
    for op in model.ops:
        for i in op.inputs + op.outputs:
            if i >= 0 and model.tensors[i].storage == "arena":
                first.setdefault(i, op.index)
                last[i] = op.index
    live_bytes = []
    for op in model.ops:
        live = [i for i in first if first[i] <= op.index <= last[i]]
        live_bytes.append((sum(model.tensors[i].nbytes for i in live), op.index, live))
    lines = ["memory (arena bytes live at each op):"]
    for total, idx, _ in live_bytes:
        lines.append(f"  #{idx:<4} {model.ops[idx].op:<18} {_size(total):>10}")
    if live_bytes:
        total, idx, live = max(live_bytes)
        lines.append(f"peak {_size(total)} at op #{idx} ({model.ops[idx].op} {model.ops[idx].name}); "
                     f"planned arena {_size(model.arena_bytes)}; tensors at the peak:")
        for i in sorted(live, key=lambda i: -model.tensors[i].nbytes):
            lines.append(f"    {_size(model.tensors[i].nbytes):>10}  {model.tensors[i].name}")
    return lines
