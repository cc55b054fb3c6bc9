"""Bad input gets a clear Python exception, never a crash or a wrong result."""
import numpy as np
import pytest

import edgec
from edgec.converters.graph import Graph
from edgec.runtime import ModelError


def small_model() -> bytes:
    """x[1,4,4,3] -> CONV2D 3x3 (SAME) -> CLAMP -> ADD x -> y: arena tensors, constants, params."""
    g = Graph(name="small")
    g.add_tensor("x", (1, 4, 4, 3))
    rng = np.random.default_rng(0)
    g.add_constant("w", rng.standard_normal((3, 3, 3, 3)).astype(np.float32))
    g.add_constant("b", rng.standard_normal(3).astype(np.float32))
    g.add_tensor("c", (1, 4, 4, 3))
    g.add_tensor("r", (1, 4, 4, 3))
    g.add_tensor("y", (1, 4, 4, 3))
    g.add_node("CONV2D", ["x", "w", "b"], ["c"], {"pad_top": 1, "pad_left": 1, "pad_bottom": 1,
                                                  "pad_right": 1}, name="conv")
    g.add_node("CLAMP", ["c"], ["r"], {"min": 0.0, "max": 6.0}, name="relu6")
    g.add_node("ADD", ["r", "x"], ["y"], name="add")
    g.inputs, g.outputs = ["x"], ["y"]
    return edgec.Model(g).to_bytes()


def test_small_model_runs():
    it = edgec.Interpreter(small_model())
    x = np.ones((1, 4, 4, 3), np.float32)
    assert it.run(x)["y"].shape == (1, 4, 4, 3)


@pytest.mark.parametrize("cut", [0, 10, 63, 64, 100, 500, -200, -1])
def test_truncated_file(cut):
    data = small_model()
    with pytest.raises(ModelError, match="truncated|shorter|header"):
        edgec.Interpreter(data[:cut])


def test_corrupted_file_checksum():
    data = bytearray(small_model())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ModelError, match="checksum"):
        edgec.Interpreter(bytes(data))


def test_not_a_model(tmp_path):
    p = tmp_path / "junk.edgec"
    p.write_bytes(b"\x89PNG" + b"\0" * 200)
    with pytest.raises(ModelError, match="bad magic"):
        edgec.Interpreter(p)
    with pytest.raises(ModelError, match="cannot open"):
        edgec.Interpreter(tmp_path / "missing.edgec")
    (tmp_path / "empty.edgec").write_bytes(b"")
    with pytest.raises(ModelError, match="shorter"):
        edgec.Interpreter(tmp_path / "empty.edgec")


def test_mutations_without_checksum_never_crash():
    """Random byte mutations with the CRC check off reach the parser and op checks:
    each either loads and runs or raises ModelError (a crash would kill pytest)."""
    data = small_model()
    rng = np.random.default_rng(1)
    loaded = 0
    for _ in range(3000):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 4))):
            buf[pos] = int(rng.integers(0, 256))
        try:
            it = edgec.Interpreter(bytes(buf), verify_checksum=False)
        except ModelError:
            continue
        loaded += 1
        if all(np.prod(d.shape) < 1e7 for d in it.inputs + it.outputs):
            it.run({d.name: np.zeros(d.shape, d.dtype) for d in it.inputs})
    assert loaded > 0  # some mutations hit harmless bytes (weights, names)


def test_wrong_inputs():
    it = edgec.Interpreter(small_model())
    with pytest.raises(ValueError, match=r"'x' must have shape \(1, 4, 4, 3\)"):
        it.run(np.zeros((1, 4, 4, 4), np.float32))
    with pytest.raises(TypeError, match="must be float32, got float64"):
        it.run(np.zeros((1, 4, 4, 3)))
    with pytest.raises(KeyError, match="unknown \\['nope'\\]"):
        it.run({"nope": np.zeros((1, 4, 4, 3), np.float32)})
    with pytest.raises(KeyError, match="missing \\['x'\\]"):
        it.run({})


def test_non_contiguous_input_is_accepted():
    it = edgec.Interpreter(small_model())
    x = np.random.default_rng(0).standard_normal((1, 4, 3, 4)).astype(np.float32).transpose(0, 1, 3, 2)
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(it.run(x)["y"], it.run(np.ascontiguousarray(x))["y"])


def test_run_after_close():
    it = edgec.Interpreter(small_model())
    it.close()
    with pytest.raises(RuntimeError, match="closed"):
        it.run(np.zeros((1, 4, 4, 3), np.float32))
    it.close()  # idempotent


def test_bad_op_params_are_refused_in_prepare():
    """A structurally valid file whose op parameters contradict its shapes fails in
    prepare with a message naming the op (never reaches eval)."""
    g = Graph(name="bad")
    g.add_tensor("x", (1, 4, 4, 3))
    g.add_constant("w", np.zeros((3, 3, 3, 3), np.float32))
    g.add_tensor("y", (1, 4, 4, 3))
    g.add_node("CONV2D", ["x", "w", ""], ["y"], {}, name="conv_without_padding")  # VALID gives 2x2
    g.inputs, g.outputs = ["x"], ["y"]
    with pytest.raises(ModelError, match="CONV2D 'conv_without_padding'"):
        edgec.Interpreter(edgec.Model(g).to_bytes())


def test_unknown_conversion_inputs(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"hello world, not a model")
    with pytest.raises(edgec.ConversionError, match="not a TFLite or ONNX model"):
        edgec.convert(p)
    with pytest.raises(edgec.ConversionError, match="cannot read"):
        edgec.convert(tmp_path / "missing.tflite")


def test_fuzz_regression_int8_zero_point_out_of_range():
    """Found by libFuzzer: an int8 tensor whose zero point is outside [-128, 127] made the
    int8 ADD kernel overflow; the reader now refuses it."""
    import struct
    from edgec.runtime import format as fmt
    g = Graph(name="zp")
    for n in ("a", "b", "y"):
        g.add_tensor(n, (2, 3), np.int8, scale=0.1, zero_point=1)
    g.add_node("ADD", ["a", "b"], ["y"], {"left_shift": 20, "in1_multiplier": 1 << 30, "in1_shift": -1,
                                          "in2_multiplier": 1 << 30, "in2_shift": -1,
                                          "out_multiplier": 1 << 30, "out_shift": -1})
    g.inputs, g.outputs = ["a", "b"], ["y"]
    data = bytearray(edgec.Model(g).to_bytes())
    model = fmt.read_model(bytes(data))
    tensors_off = next(off for name, off, _ in model.sections if name == "TENSORS")
    struct.pack_into("<i", data, tensors_off + 60, 277760)  # tensor 0's zero_point field
    with pytest.raises(ModelError, match="zero point 277760 is outside its int8 range"):
        edgec.Interpreter(bytes(data), verify_checksum=False)
