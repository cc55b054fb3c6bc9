"""Write a binary wheel of edgec for another platform: this installation's Python code
and C sources (the same file map as the CMake install in CMakeLists.txt) plus a
cross-built libedgec.so and edgec-run."""
from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

SKIP_DIRS = {"__pycache__", "build", ".git"}
MAPPED = ["runtime", "converters", "targets", "apps", "cmake"]  # checkout folders -> edgec/<name>


def package_files() -> list:
    """(path inside the wheel, file) for the Python package and the C sources, without
    host binaries (runtime/lib, runtime/bin) and caches."""
    import edgec
    pkg = Path(edgec.__file__).resolve().parent
    roots = [(pkg, "edgec")]
    if not (pkg / "runtime" / "__init__.py").exists():  # a checkout: folders beside edgec/
        roots += [(pkg.parent / d, f"edgec/{d}") for d in MAPPED if (pkg.parent / d).is_dir()]
        roots.append((pkg.parent / "CMakeLists.txt", "edgec/CMakeLists.txt"))
    files = []
    for src, dst in roots:
        if src.is_file():
            files.append((dst, src))
            continue
        for f in sorted(src.rglob("*")):
            rel = f.relative_to(src)
            if f.is_dir() or SKIP_DIRS & set(rel.parts) or f.suffix == ".pyc":
                continue
            arc = f"{dst}/{rel.as_posix()}"
            if arc.startswith(("edgec/runtime/lib/", "edgec/runtime/bin/")):  # host binaries
                continue
            files.append((arc, f))
    return files


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(out_dir: Path, platform_tag: str, binaries: dict, version: str,
                requires=("numpy>=1.24", "cffi>=1.15")) -> Path:
    """binaries: {path inside the wheel: file}. Returns the .whl path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"edgec-{version}-py3-none-{platform_tag}.whl"
    info = f"edgec-{version}.dist-info"
    entries = [(arc, Path(f).read_bytes()) for arc, f in package_files()]
    entries += [(arc, Path(f).read_bytes()) for arc, f in binaries.items()]
    meta = "\n".join(["Metadata-Version: 2.1", "Name: edgec", f"Version: {version}",
                      "Summary: On-device inference for the edge", "Requires-Python: >=3.8",
                      *[f"Requires-Dist: {r}" for r in requires]]) + "\n"
    wheel = "\n".join(["Wheel-Version: 1.0", "Generator: edgec build", "Root-Is-Purelib: false",
                       f"Tag: py3-none-{platform_tag}"]) + "\n"
    entries += [(f"{info}/METADATA", meta.encode()), (f"{info}/WHEEL", wheel.encode()),
                (f"{info}/entry_points.txt", b"[console_scripts]\nedgec = edgec.cli:main\n")]
    record = "".join(f"{arc},{_digest(data)},{len(data)}\n" for arc, data in entries) + f"{info}/RECORD,,\n"
    path = out_dir / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            zi = zipfile.ZipInfo(arc, date_time=(2026, 1, 1, 0, 0, 0))
            zi.external_attr = (0o755 if arc.endswith(("edgec-run", ".so")) else 0o644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
        z.writestr(f"{info}/RECORD", record)
    return path
