"""edgec.lite.Interpreter is a drop-in for tflite-runtime's / LiteRT's Interpreter."""
import numpy as np
import pytest

from conftest import blazeface_input, litert_interpreter, real_images


def script(Interpreter, path, x):
    """An unmodified tflite-runtime style script."""
    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    assert tuple(inp["shape"]) == x.shape and inp["dtype"] == np.float32
    it.set_tensor(inp["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def test_same_script_same_results(blazeface_dir):
    from edgec.lite import Interpreter
    path = blazeface_dir / "face_detection_short_range.tflite"
    x = blazeface_input(real_images()["astronaut"], 128)
    ours = script(Interpreter, path, x)
    ref_it = litert_interpreter(path)
    ref = script(lambda **kw: ref_it, path, x)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


def test_errors_match_tflite_style(blazeface_dir):
    from edgec.lite import Interpreter
    it = Interpreter(model_path=str(blazeface_dir / "face_detection_short_range.tflite"))
    idx = it.get_input_details()[0]["index"]
    with pytest.raises(RuntimeError, match="allocate_tensors"):
        it.set_tensor(idx, np.zeros((1, 128, 128, 3), np.float32))
    it.allocate_tensors()
    with pytest.raises(ValueError, match="Dimension mismatch"):
        it.set_tensor(idx, np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="Got value of type FLOAT64"):
        it.set_tensor(idx, np.zeros((1, 128, 128, 3)))
    with pytest.raises(RuntimeError, match="set_tensor"):
        it.invoke()
