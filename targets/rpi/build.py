"""`edgec build --target rpi --arch aarch64|armv7 -o dist/`: cross-compile the C core and
write (a) a wheel tagged manylinux_2_31 that pip installs on Raspberry Pi OS Bullseye /
Bookworm and JetPack 5/6 (numpy and cffi come from PyPI's wheels) and (b) a tarball with
libedgec.so, a statically linked edgec-run and the C headers, optionally a model, for
boards without Python. The glibc the binaries need is checked before anything is
written: at most 2.31 (Bullseye, JetPack 5)."""
from __future__ import annotations

import sys
import tarfile
import tempfile
from pathlib import Path

from ..crossbuild import cross_build, source_root
from ..elf import max_glibc, needed_versions
from ..wheel import write_wheel

GLIBC_LIMIT = (2, 31)
PLATFORMS = {"aarch64": "manylinux_2_31_aarch64", "armv7": "manylinux_2_31_armv7l"}


def check_glibc(path: Path):
    need = max_glibc(path)
    if need > GLIBC_LIMIT:
        raise RuntimeError(f"{path.name} needs glibc {need[0]}.{need[1]} > {GLIBC_LIMIT[0]}.{GLIBC_LIMIT[1]} "
                           f"(Raspberry Pi OS Bullseye, JetPack 5): {needed_versions(path)}")


def build(arch: str, out_dir: str | Path, model: str | Path | None = None, quiet: bool = False,
          defines: tuple = (), variant: str = "", check=None) -> dict:
    """Returns {"wheel": path, "tarball": path, "glibc": (major, minor)}. defines: extra
    CMake -D options; variant: tarball name suffix; check(lib): called on the built
    libedgec.so before anything is written (targets/jetson adds the CUDA backend so)."""
    import edgec
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix=f"edgec-{arch}-") as tmp:
        b = cross_build(arch, Path(tmp), "-DEDGEC_STATIC_TOOLS=ON", *defines, quiet=quiet)
        lib, run = b / "libedgec.so", b / "edgec-run"
        for f in (lib, run):
            if not f.exists():
                raise FileNotFoundError(f"the {arch} build made no {f.name}")
            check_glibc(f)
        if check:
            check(lib)
        wheel = write_wheel(out_dir, PLATFORMS[arch], {"edgec/runtime/lib/libedgec.so": lib,
                                                       "edgec/runtime/bin/edgec-run": run}, edgec.__version__)
        tar_path = out_dir / f"edgec-{edgec.__version__}-linux-{arch}{variant}.tar.gz"
        with tarfile.open(tar_path, "w:gz") as tar:
            top = tar_path.name[:-len(".tar.gz")]
            tar.add(lib, f"{top}/lib/libedgec.so")
            tar.add(run, f"{top}/bin/edgec-run")
            tar.add(source_root() / "runtime" / "include" / "edgec", f"{top}/include/edgec")
            if model:
                tar.add(model, f"{top}/models/{Path(model).name}")
        glibc = max(max_glibc(lib), max_glibc(run))
    if not quiet:
        print(f"edgec build: {wheel}\nedgec build: {tar_path}\n"
              f"glibc needed: {glibc[0]}.{glibc[1]} (limit {GLIBC_LIMIT[0]}.{GLIBC_LIMIT[1]})", file=sys.stderr)
    return {"wheel": wheel, "tarball": tar_path, "glibc": glibc}
