"""Mutated .tflite and .onnx files through edgec.convert (tests/fuzz/fuzz_frontends.py):
a CI-sized run per format, plus every saved regression case. Each case runs in a forked
child: no crash, no hang, no exception escaping convert() unclassified. (The documented
longer run: 1000 mutants per format, numbers in BENCHMARKS.md.)"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzz_frontends as ff  # noqa: E402

from conftest import need  # noqa: E402

BAD = ("crash", "hang", "unclean")


@pytest.mark.parametrize("kind", ["tflite", "onnx"])
def test_mutants_end_cleanly(kind):
    need(len(ff.tflite_seeds() if kind == "tflite" else ff.onnx_seeds()) >= 2, f"{kind} seed models missing")
    counts = ff.fuzz(kind, 150, seed=2026, save=False, progress=False)
    assert sum(counts.values()) == 150
    assert not [k for k in counts if k.startswith(BAD)], dict(counts)
    assert counts["clean error"] > 0 and counts["converted"] > 0  # the mutator reaches both sides


def test_saved_regressions_end_cleanly():
    for case in sorted(ff.REGRESSIONS.glob("*.*")):
        if case.suffix not in (".tflite", ".onnx"):
            continue
        outcome = ff.run_case(case.read_bytes(), case.suffix[1:])
        assert not outcome.startswith(BAD), f"{case.name}: {outcome}"


def test_a_crash_would_be_seen(monkeypatch):
    """The harness itself: a child killed by a signal, or stuck, is reported."""
    import os
    import signal
    import time
    import faulthandler

    def segfault(data, kind):
        faulthandler.disable()  # the child dies quietly; the parent reports it
        os.kill(os.getpid(), signal.SIGSEGV)
    monkeypatch.setattr(ff, "_child", segfault)
    assert ff.run_case(b"", "tflite") == f"crash (signal {int(signal.SIGSEGV)})"
    monkeypatch.setattr(ff, "_child", lambda data, kind: time.sleep(30))
    assert ff.run_case(b"", "tflite", timeout=0.5) == "hang"
