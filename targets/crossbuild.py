"""CMake cross builds of the C core from a checkout or from the installed package (the
wheel ships CMakeLists.txt, cmake/ and the C sources beside the Python code)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# arch -> (toolchain file, compiler the toolchain file uses, Debian package to install)
TOOLCHAINS = {
    "aarch64": ("aarch64-linux-gnu.cmake", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    "armv7": ("armv7-linux-gnueabihf.cmake", "arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"),
}


def source_root() -> Path:
    """The folder with CMakeLists.txt: the installed package, or the checkout root."""
    import edgec
    pkg = Path(edgec.__file__).resolve().parent
    for root in (pkg, pkg.parent):
        if (root / "CMakeLists.txt").exists() and (root / "runtime" / "core").is_dir():
            return root
    raise FileNotFoundError(f"no CMakeLists.txt beside {pkg}: reinstall edgec from its wheel or sdist")


def cross_build(arch: str, build_dir: Path, *defines: str, quiet: bool = False) -> Path:
    """Configure and build libedgec + edgec-run for `arch`; returns the build folder."""
    if arch not in TOOLCHAINS:
        raise ValueError(f"unknown arch {arch!r}: choose {', '.join(sorted(TOOLCHAINS))}")
    toolchain, cc, package = TOOLCHAINS[arch]
    for tool, hint in ((cc, f"apt-get install {package}"), ("cmake", "apt-get install cmake")):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} not found: {hint}")
    root = source_root()
    build_dir = Path(build_dir)
    cmd = ["cmake", "-S", str(root), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
           f"-DCMAKE_TOOLCHAIN_FILE={root / 'cmake' / 'toolchains' / toolchain}", "-DEDGEC_TESTS=OFF", *defines]
    out = subprocess.DEVNULL if quiet else None
    if not quiet:
        print(f"edgec build: configuring for {arch} ({toolchain})", file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=out)
    subprocess.run(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 2)], check=True, stdout=out)
    return build_dir
