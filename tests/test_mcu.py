"""`edgec build --target mcu`: the generated Cortex-M project builds with
arm-none-eabi-gcc, links only the model's ops, fits the board's memories, and the image
runs in qemu-system-arm (mps2-an386 Cortex-M4, mps2-an500 Cortex-M7) over its UART
protocol with outputs equal to the host's, byte for byte (TF-converted int8
MobileNetV2)."""
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgec
from conftest import need
from edgec.targets.mcu.boards import BOARDS, parse_size
from edgec.targets.mcu.project import generate

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """MobileNetV2-0.35 int8 (TF converter) at 96x96 (2 classes) and 144x144, plain and
    patch-scheduled (--patch auto)."""
    d = tmp_path_factory.mktemp("mcu-model")
    out = {}
    for res in ("96", "144"):
        for patch in (None, "auto"):
            path = d / f"mobilenet{res}{'-patched' if patch else ''}.edgec"
            edgec.convert(FIXTURES / f"mobilenet_v2_035_{res}_int8.tflite", patch=patch, progress=False).save(path)
            out[path.stem] = path
    return out


@pytest.fixture(scope="module")
def model(models):
    return models["mobilenet96"]


def build_project(model, board, out):
    need(shutil.which("arm-none-eabi-gcc") is not None, "arm-none-eabi-gcc missing (apt: gcc-arm-none-eabi, "
                                                         "libnewlib-arm-none-eabi)")
    info = generate(model, board, out)
    subprocess.run(["cmake", "-S", str(out), "-B", str(out / "build"),
                    f"-DCMAKE_TOOLCHAIN_FILE=cmake/{BOARDS[board].toolchain}"], check=True, capture_output=True)
    r = subprocess.run(["cmake", "--build", str(out / "build"), "-j", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return info, out / "build" / "app.elf"


@pytest.mark.parametrize("board,name", [("mps2-an386", "mobilenet96-patched"), ("mps2-an386", "mobilenet144-patched"),
                                        ("mps2-an500", "mobilenet96")])
def test_mcu_image_in_qemu_matches_host(models, board, name, tmp_path):
    from edgec.targets.mcu.link import McuLink, qemu
    model = models[name]
    info, elf = build_project(model, board, tmp_path / board)
    need(shutil.which("qemu-system-arm") is not None, "qemu-system-arm missing (apt: qemu-system-arm)")
    need(importlib.util.find_spec("serial") is not None, "pyserial missing (pip install 'edgec[mcu]')")
    # only the model's ops are in the image
    nm = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    assert "edgec_conv2d_eval" in nm and "edgec_softmax_eval" not in nm and "edgec_resize_eval" not in nm
    it = edgec.Interpreter(model)
    proc, url = qemu(elf, board)
    try:
        link = McuLink(url, timeout=300)
        assert link.ready["arena_bytes"] == info["arena"]  # the static arena is exactly what the plan needs
        rng = np.random.default_rng(11)
        for _ in range(2):  # two inferences: the image keeps serving
            x = rng.integers(-128, 128, it.inputs[0].shape).astype(np.int8)
            (got,), cycles = link.run([(d.shape, d.dtype) for d in it.outputs], [x])
            np.testing.assert_array_equal(got, list(it.run(x).values())[0])
            assert cycles > 0
        link.close()
    finally:
        proc.kill()
        proc.wait()


def test_board_limits_are_enforced(model, tmp_path):
    with pytest.raises(ValueError, match=r"needs \d+ bytes of SRAM on generic-m4 .* the board has 65536"):
        generate(model, "generic-m4", tmp_path / "small", sram=parse_size("64K"))
    with pytest.raises(ValueError, match="bytes of flash"):
        generate(model, "generic-m4", tmp_path / "small", flash=parse_size("512K"))
    generate(model, "generic-m4", tmp_path / "ok")
    ld = (tmp_path / "ok" / "board.ld").read_text()
    assert f"LENGTH = {256 << 10}" in ld and f"LENGTH = {1 << 20}" in ld  # the part's real memories
    assert parse_size("1M") == 1 << 20 and parse_size("256K") == 262144
