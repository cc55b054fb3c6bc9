"""Patch-based scheduling (MCUNetV2): run the memory-heavy first stage of a CNN patch by
patch so only one patch's intermediate tensors live at a time.

The stage is every op between the graph inputs and a split tensor S (NHWC). For a grid of
rows x cols patches of S, each patch's needed region is propagated backwards through the
stage (receptive fields give the halos); each op of the patch computes exactly its
region: the input is cropped (SLICE) to what the op reads, and the op's padding is kept
only where the region touches a true image border. So every output value is computed
from the same inputs with the same arithmetic as unpatched: int8 results are bit-exact,
fp32 too (same summation order per output). Patches of S are then joined with CONCAT
(along W per patch row, then along H), and the rest of the graph reads S as before.

The rewrite is graph-to-graph, before the memory planner: the arena plan (and the C core)
need nothing new. `choose_patch` tries split tensors and grids and keeps the smallest
peak arena whose extra multiply-accumulates stay within a recompute budget."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..graph import ConversionError, Graph

WINDOW_OPS = {"CONV2D", "DEPTHWISE_CONV2D", "MAX_POOL2D", "AVG_POOL2D"}
ELEMENTWISE_OPS = {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "PRELU", "CLAMP", "LEAKY_RELU", "GELU", "UNARY",
                   "LOOKUP", "QUANTIZE", "DEQUANTIZE"}
STAGE_OPS = WINDOW_OPS | ELEMENTWISE_OPS | {"PAD"}


@dataclass
class PatchInfo:
    split: str
    grid: tuple          # (rows, cols)
    peak_bytes: int      # arena of the patched graph
    macs: int            # multiply-accumulates of the patched graph
    base_macs: int       # ... of the unpatched graph

    @property
    def extra_macs(self) -> float:
        return self.macs / self.base_macs - 1 if self.base_macs else 0.0


# ---- geometry ------------------------------------------------------------------------

def _window(node, axis: int):
    """(kernel extent, stride, pad before) of a window op along H (axis 1) or W (axis 2)."""
    p = node.params
    hw = "h" if axis == 1 else "w"
    if node.op in ("CONV2D", "DEPTHWISE_CONV2D"):
        return None, p[f"stride_{hw}"], p["pad_top" if axis == 1 else "pad_left"], p[f"dilation_{hw}"]
    return p[f"filter_{hw}"], p[f"stride_{hw}"], p["pad_top" if axis == 1 else "pad_left"], 1


def _kernel(graph, node, axis):
    k, s, before, d = _window(node, axis)
    if k is None:  # conv weights: [OC, KH, KW, IC] / [1, KH, KW, C]
        k = graph.tensors[node.inputs[1]].shape[axis]
    return (k - 1) * d + 1, s, before


def _input_need(graph, node, out_rng, axis, in_size):
    """(input range it reads, pad before, pad after) for output range out_rng along axis."""
    o0, o1 = out_rng
    if node.op in WINDOW_OPS:
        ext, s, before = _kernel(graph, node, axis)
        start, end = o0 * s - before, (o1 - 1) * s - before + ext
    elif node.op == "PAD":
        before = node.params["pads"][2 * axis]
        start, end = o0 - before, o1 - before
    else:
        return (o0, o1), 0, 0
    a, b = max(start, 0), min(end, in_size)
    return (a, b), a - start, end - b


def _is_activation(graph, name):
    return bool(name) and not graph.tensors[name].is_constant


def _spatial(graph, name):
    t = graph.tensors[name]
    return len(t.shape) == 4


# ---- the stage -------------------------------------------------------------------------

def stage_nodes(graph: Graph, split: str) -> list:
    """Nodes (in graph order) that S depends on; raises when the stage cannot be patched."""
    producers = graph.producers()
    need, todo = set(), [split]
    while todo:
        t = todo.pop()
        n = producers.get(t)
        if n is None or id(n) in need:
            continue
        need.add(id(n))
        todo += [i for i in n.inputs if _is_activation(graph, i)]
    nodes = [n for n in graph.nodes if id(n) in need]
    if not nodes:
        raise ConversionError(f"{graph.name}: {split!r} is not computed by any op")
    outs = {o for n in nodes for o in n.outputs}
    consumers = graph.consumers()
    for n in nodes:
        if n.op not in STAGE_OPS:
            raise ConversionError(f"{graph.name}: op {n.op} ({n.name}) cannot run patch by patch")
        for i in n.inputs:
            if _is_activation(graph, i) and not _spatial(graph, i):
                raise ConversionError(f"{graph.name}: {n.op} ({n.name}) reads non-NHWC {i!r}")
            if n.op in ELEMENTWISE_OPS and _is_activation(graph, i) and \
                    graph.tensors[i].shape != graph.tensors[n.outputs[0]].shape:
                raise ConversionError(f"{graph.name}: broadcast {n.op} ({n.name}) in the stage")
        if n.op == "PAD" and any(n.params["pads"][k] for k in (0, 1, 6, 7)):
            raise ConversionError(f"{graph.name}: PAD ({n.name}) pads batch or channels")
        for o in n.outputs:
            if o != split and any(id(c) not in need for c in consumers.get(o, [])):
                raise ConversionError(f"{graph.name}: {o!r} is also read after the stage")
            if o in graph.outputs and o != split:
                raise ConversionError(f"{graph.name}: {o!r} is a graph output inside the stage")
    return nodes


def _split_ranges(size, parts):
    edges = np.linspace(0, size, parts + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(parts)]


def _needs(graph, nodes, split, region):
    """Needed (rows, cols) region of every tensor of the stage for one patch of S."""
    need = {split: region}
    for n in reversed(nodes):
        out = n.outputs[0]
        if out not in need:
            continue
        for i in n.inputs:
            if not _is_activation(graph, i):
                continue
            shape = graph.tensors[i].shape
            rows = _input_need(graph, n, need[out][0], 1, shape[1])[0]
            cols = _input_need(graph, n, need[out][1], 2, shape[2])[0]
            if i in need:  # union over consumers
                (r0, r1), (c0, c1) = need[i]
                rows, cols = (min(r0, rows[0]), max(r1, rows[1])), (min(c0, cols[0]), max(c1, cols[1]))
            need[i] = (rows, cols)
    return need


# ---- the rewrite -----------------------------------------------------------------------

def patch_graph(graph: Graph, split: str, grid: tuple) -> Graph:
    """A copy of `graph` whose stage up to `split` runs as grid[0] x grid[1] patches."""
    nodes = stage_nodes(graph, split)
    g = copy.copy(graph)
    g.tensors = dict(graph.tensors)
    g.nodes = []
    g.metadata = dict(graph.metadata)
    stage_ids = {id(n) for n in nodes}
    stage_tensors = {o for n in nodes for o in n.outputs}
    first = next(k for k, n in enumerate(graph.nodes) if id(n) in stage_ids)
    g.nodes = [n for n in graph.nodes[:first] if id(n) not in stage_ids]
    S = graph.tensors[split]
    rows, cols = grid
    if rows > S.shape[1] or cols > S.shape[2]:
        raise ConversionError(f"{graph.name}: grid {rows}x{cols} is finer than {split!r} {S.shape[1]}x{S.shape[2]}")
    row_parts = []
    for pi, rr in enumerate(_split_ranges(S.shape[1], rows)):
        col_parts = []
        for pj, cr in enumerate(_split_ranges(S.shape[2], cols)):
            col_parts.append(_emit_patch(graph, g, nodes, split, (rr, cr), f"p{pi}_{pj}"))
        row = g.unique_name(f"{split}__row{pi}")
        _like(g, S, row, (S.shape[0], rr[1] - rr[0], S.shape[2], S.shape[3]))
        g.add_node("CONCAT", col_parts, [row], {"axis": 2}, name=f"patch row {pi}")
        row_parts.append(row)
    g.tensors[split] = S
    g.add_node("CONCAT", row_parts, [split], {"axis": 1}, name=f"patches of {split}")
    for t in stage_tensors - {split}:
        g.tensors.pop(t, None)
    g.nodes += [n for n in graph.nodes[first:] if id(n) not in stage_ids]
    g.metadata["patch"] = {"split": split, "grid": [rows, cols]}
    return g


def _like(g, src, name, shape):
    t = g.add_tensor(name, shape, src.dtype, scale=src.scale, zero_point=src.zero_point)
    return t


def _emit_patch(graph, g, nodes, split, region, tag):
    need = _needs(graph, nodes, split, region)
    made = {}  # original tensor -> (patch tensor, produced region)
    for x in {i for n in nodes for i in n.inputs if _is_activation(graph, i)} - {o for n in nodes for o in n.outputs}:
        if x in need:
            made[x] = (_crop(graph, g, x, ((0, graph.tensors[x].shape[1]), (0, graph.tensors[x].shape[2])),
                             need[x], f"{x}__{tag}"), need[x])
    for n in nodes:
        out = n.outputs[0]
        if out not in need:
            continue
        (o_rows, o_cols) = need[out]
        params = dict(n.params)
        inputs = []
        for i in n.inputs:
            if not _is_activation(graph, i):
                inputs.append(i)
                continue
            shape = graph.tensors[i].shape
            rows, pt, pb = _input_need(graph, n, o_rows, 1, shape[1])
            cols, pl, pr = _input_need(graph, n, o_cols, 2, shape[2])
            src, have = made[i]
            inputs.append(_crop(graph, g, src, have, (rows, cols), f"{i}__{tag}_for_{len(g.nodes)}"))
            if n.op in WINDOW_OPS:
                params.update(pad_top=pt, pad_bottom=pb, pad_left=pl, pad_right=pr)
            elif n.op == "PAD":
                pads = list(params["pads"])
                pads[2:6] = [pt, pb, pl, pr]
                params["pads"] = pads
        t = graph.tensors[out]
        name = g.unique_name(f"{out}__{tag}")
        _like(g, t, name, (t.shape[0], o_rows[1] - o_rows[0], o_cols[1] - o_cols[0], t.shape[3]))
        g.add_node(n.op, inputs, [name], params, name=f"{n.name} [{tag}]")
        made[out] = (name, need[out])
    return made[split][0]


def _crop(graph, g, src, have, want, name):
    """src holds region `have` of its tensor; SLICE it to region `want` (no-op if equal)."""
    if have == want:
        return src
    (hr0, _), (hc0, _) = have
    (r0, r1), (c0, c1) = want
    t = g.tensors[src] if src in g.tensors else graph.tensors[src]
    name = g.unique_name(name)
    _like(g, t, name, (t.shape[0], r1 - r0, c1 - c0, t.shape[3]))
    g.add_node("SLICE", [src], [name], {"begin": [0, r0 - hr0, c0 - hc0, 0, 0, 0], "step": [1, 1, 1, 1, 1, 1]},
               name=f"crop {src}")
    return name


# ---- cost and choice -------------------------------------------------------------------

def macs(graph: Graph) -> int:
    total = 0
    for n in graph.nodes:
        if n.op in ("CONV2D", "DEPTHWISE_CONV2D"):
            w = graph.tensors[n.inputs[1]].shape
            y = graph.tensors[n.outputs[0]].shape
            per = w[1] * w[2] * (w[3] if n.op == "CONV2D" else 1)
            total += int(np.prod(y)) * per
        elif n.op == "FULLY_CONNECTED":
            w = graph.tensors[n.inputs[1]].shape
            total += int(np.prod(graph.tensors[n.outputs[0]].shape)) * w[1]
    return total


def peak_bytes(graph: Graph) -> int:
    from .memory import plan_arena
    planned = {n for n, t in graph.tensors.items() if not t.is_constant} - set(graph.inputs) - set(graph.outputs)
    return plan_arena(graph, planned).arena_bytes


def split_candidates(graph: Graph) -> list:
    """NHWC tensors that end a patchable stage, in graph order."""
    out = []
    for n in graph.nodes:
        t = n.outputs[0]
        if n.op in STAGE_OPS and _spatial(graph, t):
            try:
                stage_nodes(graph, t)
            except ConversionError:
                continue
            out.append(t)
    return out


def evaluate(graph: Graph, split: str, grid: tuple, base_macs: int | None = None) -> PatchInfo:
    g = patch_graph(graph, split, grid)
    return PatchInfo(split, grid, peak_bytes(g), macs(g), base_macs if base_macs is not None else macs(graph))


def choose_patch(graph: Graph, max_recompute: float = 0.15, grids=range(2, 9)) -> tuple:
    """(best PatchInfo or None, all rows tried). Best = smallest peak arena with extra MACs
    <= max_recompute; None when no patching beats the plain plan."""
    base_macs, base_peak = macs(graph), peak_bytes(graph)
    rows = []
    for split in split_candidates(graph):
        s = graph.tensors[split].shape
        for k in grids:
            if k > s[1] or k > s[2]:
                continue
            rows.append(evaluate(graph, split, (k, k), base_macs))
    ok = [r for r in rows if r.extra_macs <= max_recompute and r.peak_bytes < base_peak]
    best = min(ok, key=lambda r: (r.peak_bytes, r.macs)) if ok else None
    return best, rows, base_peak


def apply_patch(graph: Graph, spec: str, max_recompute: float = 0.15, report: bool = True) -> Graph:
    """convert(patch=...): "auto", "RxC" (best split for that grid) or "RxC@TENSOR"."""
    import sys
    if spec == "auto":
        best, rows, base_peak = choose_patch(graph, max_recompute)
    else:
        grid_text, _, split = spec.partition("@")
        try:
            grid = tuple(int(v) for v in grid_text.lower().split("x"))
            assert len(grid) == 2 and min(grid) >= 1
        except (ValueError, AssertionError):
            raise ConversionError(f"patch={spec!r}: use auto, RxC (e.g. 3x3) or RxC@TENSOR") from None
        base_macs, base_peak = macs(graph), peak_bytes(graph)
        splits = [split] if split else split_candidates(graph)
        rows = [evaluate(graph, s, grid, base_macs) for s in splits if
                grid[0] <= graph.tensors[s].shape[1] and grid[1] <= graph.tensors[s].shape[2]]
        best = min(rows, key=lambda r: (r.peak_bytes, r.macs)) if rows else None
    if report:
        print(f"patch: plain plan {base_peak} B; {len(rows)} (split, grid) tried", file=sys.stderr)
        for r in sorted(rows, key=lambda r: (r.peak_bytes, r.macs))[:5]:
            print(f"  {r.grid[0]}x{r.grid[1]} at {r.split}: peak {r.peak_bytes} B, extra MACs {r.extra_macs:.1%}",
                  file=sys.stderr)
    if best is None:
        if report:
            print(f"patch: nothing beats the plain plan within {max_recompute:.0%} extra MACs; not patched",
                  file=sys.stderr)
        return graph
    if report:
        print(f"patch: {best.grid[0]}x{best.grid[1]} up to {best.split}: peak {base_peak} -> {best.peak_bytes} B, "
              f"extra MACs {best.extra_macs:.1%}", file=sys.stderr)
    g = patch_graph(graph, best.split, best.grid)
    g.metadata["patch"].update(peak_bytes=best.peak_bytes, plain_peak_bytes=base_peak,
                               extra_macs=round(best.extra_macs, 4))
    return g
