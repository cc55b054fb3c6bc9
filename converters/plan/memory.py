"""Greedy-by-size arena planning (as TFLM's GreedyMemoryPlanner, done offline).

Each intermediate tensor lives from the op that writes it to the last op that reads
it. Taking tensors from largest to smallest, each goes to the lowest 64-aligned
offset where it overlaps no already-placed tensor whose lifetime intersects its own.
The arena is the highest end offset. Graph inputs/outputs are not planned: they are
bound to the caller's buffers at each run (zero copy). The C reader re-checks that no
two simultaneously-live tensors share bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

ALIGN = 64


@dataclass
class ArenaPlan:
    offsets: dict        # tensor name -> arena offset
    lifetimes: dict      # tensor name -> (first op, last op)
    arena_bytes: int

    def live_at_peak(self, sizes: dict) -> list:
        """Names of the tensors live at the op where their total size is largest."""
        if not self.lifetimes:
            return []
        last = max(e for _, e in self.lifetimes.values())
        best, best_op = -1, 0
        for op in range(last + 1):
            total = sum(sizes[n] for n, (s, e) in self.lifetimes.items() if s <= op <= e)
            if total > best:
                best, best_op = total, op
        return sorted((n for n, (s, e) in self.lifetimes.items() if s <= best_op <= e),
                      key=lambda n: -sizes[n])


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_arena(graph, planned: set) -> ArenaPlan:
    """Offsets for the tensors named in `planned` (activations that live in the arena)."""
    lifetimes = {}
    for i, node in enumerate(graph.nodes):
        for name in [*node.inputs, *node.outputs]:
            if name in planned:
                start, _ = lifetimes.get(name, (i, i))
                lifetimes[name] = (start, i)
    sizes = {n: graph.tensors[n].nbytes for n in lifetimes}
    order = sorted(lifetimes, key=lambda n: (-sizes[n], lifetimes[n][0], n))
    placed = []  # (offset, end, start_op, end_op)
    offsets = {}
    for name in order:
        s, e = lifetimes[name]
        conflicts = sorted((o, end) for o, end, s2, e2 in placed if s2 <= e and s <= e2)
        offset = 0
        for o, end in conflicts:
            if offset + sizes[name] <= o:
                break
            offset = max(offset, _align(end))
        offsets[name] = offset
        placed.append((offset, offset + sizes[name], s, e))
    arena = max((end for _, end, _, _ in placed), default=0)
    return ArenaPlan(offsets, lifetimes, _align(arena))
