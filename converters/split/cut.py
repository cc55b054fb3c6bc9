"""Cut a Graph at a set of tensors. The head computes the cut tensors from the model's
inputs; the tail computes the model's outputs from the cut tensors. A cut is valid when
every tensor the tail reads from the head's side is in the set (feature-pyramid models
such as PP-OCR det need several tensors); otherwise the error names the tensors that
cross it. `write_split` writes head.edgec, tail.edgec, model.edgec (the whole model, for
the device's local fallback) and codec.json."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..graph import ConversionError, Graph


@dataclass
class SplitResult:
    head: Graph
    tail: Graph
    cut: list


def _subgraph(g: Graph, nodes: list, inputs: list, outputs: list, name: str) -> Graph:
    sub = Graph(name=name, metadata=dict(g.metadata))
    used = set(inputs) | set(outputs) | {t for n in nodes for t in [*n.inputs, *n.outputs] if t}
    sub.tensors = {k: v for k, v in g.tensors.items() if k in used}
    sub.nodes = list(nodes)
    sub.inputs, sub.outputs = list(inputs), list(outputs)
    return sub


def split_graph(g: Graph, cut: list) -> SplitResult:
    missing = [t for t in cut if t not in g.tensors]
    if missing:
        raise ConversionError(f"{g.name}: no tensor named {missing[0]!r} (see `edgec inspect MODEL.edgec`)")
    producers = g.producers()
    head_ids, todo = set(), list(cut)
    while todo:  # ancestors of the cut
        n = producers.get(todo.pop())
        if n is None or id(n) in head_ids:
            continue
        head_ids.add(id(n))
        todo += [i for i in n.inputs if i and not g.tensors[i].is_constant]
    head = [n for n in g.nodes if id(n) in head_ids]
    tail = [n for n in g.nodes if id(n) not in head_ids]
    head_made = {o for n in head for o in n.outputs}
    crossing = sorted({i for n in tail for i in n.inputs if i in head_made and i not in cut})
    if crossing:
        raise ConversionError(f"{g.name}: the tail also reads {crossing[:5]} from the head's side; "
                              f"add them to the cut (--at)")
    tail_inputs = list(cut) + [i for i in g.inputs if any(i in n.inputs for n in tail)]
    if not tail:
        raise ConversionError(f"{g.name}: nothing is left for the tail after {cut}")
    head_outputs = list(cut) + [o for o in g.outputs if o in head_made and o not in cut]
    return SplitResult(_subgraph(g, head, g.inputs, head_outputs, f"{g.name} (head)"),
                       _subgraph(g, tail, tail_inputs, [o for o in g.outputs if o not in head_made], f"{g.name} (tail)"),
                       list(cut))


def write_split(g: Graph, cut: list, out_dir, mode: str = "lossless", coder: str = "zstd",
                batch_graphs: dict | None = None) -> dict:
    """Write the split into out_dir; returns the codec description (also codec.json).
    batch_graphs {B: the same model converted with batch B} adds tail_b{B}.edgec, the
    tails `edgec serve` uses to run B queued requests at once (dynamic batching)."""
    from .. import Model
    from ...runtime.codec import MODES
    if mode not in MODES:
        raise ConversionError(f"codec {mode!r}: choose {', '.join(MODES)}")
    s = split_graph(g, cut)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    Model(s.head).save(out / "head.edgec")
    Model(s.tail).save(out / "tail.edgec")
    Model(g).save(out / "model.edgec")
    for b, gb in sorted((batch_graphs or {}).items()):
        Model(split_graph(gb, cut).tail).save(out / f"tail_b{b}.edgec")
    desc = {"model": g.name, "coder": coder, "head_outputs": s.head.outputs, "tail_outputs": s.tail.outputs,
            "tensors": [{"name": t, "shape": list(g.tensors[t].shape), "dtype": g.tensors[t].dtype.name,
                         "mode": mode if g.tensors[t].dtype.kind == "f" else "lossless"} for t in cut],
            "extra_inputs": [i for i in s.tail.inputs if i not in cut]}
    (out / "codec.json").write_text(json.dumps(desc, indent=2))
    return desc


def single_cuts(g: Graph) -> list:
    """Tensors that alone cut the graph in two (block boundaries), in graph order."""
    out = []
    for n in g.nodes[:-1]:
        t = n.outputs[0]
        try:
            split_graph(g, [t])
        except ConversionError:
            continue
        out.append(t)
    return out


def frontier_cut(g: Graph, k: int) -> list:
    """The cut after the first k+1 ops in graph order: every tensor they produce that a
    later op (or the model's output) reads. Always a valid cut; one tensor in a chain,
    several across a feature pyramid."""
    if not 0 <= k < len(g.nodes) - 1:
        raise ConversionError(f"{g.name}: cut position {k} outside 0..{len(g.nodes) - 2}")
    made = {o for n in g.nodes[:k + 1] for o in n.outputs}
    later = [i for n in g.nodes[k + 1:] for i in n.inputs] + list(g.outputs)
    seen, cut = set(), []
    for t in later:
        if t in made and t not in seen:
            seen.add(t)
            cut.append(t)
    return cut
