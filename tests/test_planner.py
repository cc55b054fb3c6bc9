"""The offline arena planner: no two simultaneously-live tensors share bytes, and the
plan is no larger than needed on simple chains."""
import numpy as np
from hypothesis import given, settings, strategies as st

from edgec.converters.graph import Graph
from edgec.converters.plan import plan_arena


def chain(sizes):
    g = Graph()
    g.add_tensor("t0", (sizes[0],))
    for i, n in enumerate(sizes[1:], 1):
        g.add_tensor(f"t{i}", (n,))
        g.add_node("CLAMP", [f"t{i - 1}"], [f"t{i}"])
    return g


def test_chain_uses_two_slots():
    g = chain([1024] * 5)
    plan = plan_arena(g, {f"t{i}" for i in range(1, 4)})
    # t1..t3 alternate between two 4096-byte slots
    assert plan.arena_bytes == 8192
    assert plan.offsets["t1"] != plan.offsets["t2"]
    assert plan.offsets["t1"] == plan.offsets["t3"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=2, max_size=12), st.integers(0, 10 ** 6))
def test_random_dags_never_overlap(sizes, seed):
    rng = np.random.default_rng(seed)
    g = Graph()
    g.add_tensor("t0", (sizes[0],))
    for i, n in enumerate(sizes[1:], 1):
        ins = sorted({f"t{int(j)}" for j in rng.integers(0, i, size=2)})
        g.add_tensor(f"t{i}", (n,))
        g.add_node("ADD" if len(ins) == 2 else "CLAMP", ins, [f"t{i}"])
    planned = {f"t{i}" for i in range(1, len(sizes))}
    plan = plan_arena(g, planned)
    names = sorted(plan.offsets)
    for a in names:
        assert plan.offsets[a] % 64 == 0
        assert plan.offsets[a] + g.tensors[a].nbytes <= plan.arena_bytes
        for b in names:
            if a >= b:
                continue
            (s1, e1), (s2, e2) = plan.lifetimes[a], plan.lifetimes[b]
            if s1 <= e2 and s2 <= e1:
                oa, ob = plan.offsets[a], plan.offsets[b]
                assert oa + g.tensors[a].nbytes <= ob or ob + g.tensors[b].nbytes <= oa, (a, b)
    assert plan.arena_bytes <= sum(-(-g.tensors[n].nbytes // 64) * 64 for n in planned)
