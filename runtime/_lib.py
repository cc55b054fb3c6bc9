"""cffi ABI-mode binding of libedgec (no compiler, no Python headers needed at run time).

The declarations mirror runtime/include/edgec/edgec.h. The library is the one bundled
in the package (edgec/runtime/lib/), or EDGEC_LIBRARY when set (e.g. a cross build
under test)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

CDEF = """
typedef int edgec_status;
typedef struct edgec_model edgec_model;
typedef struct edgec_interpreter edgec_interpreter;
typedef struct {
    const char *name; uint32_t name_length; int32_t dtype; int32_t rank; int32_t dims[6];
    uint64_t nbytes; float scale; int32_t zero_point; int32_t storage;
} edgec_tensor_info;
typedef struct { int32_t num_threads; int32_t profile; void *arena; size_t arena_size; int32_t device; } edgec_options;
const char *edgec_version(void);
const char *edgec_status_string(edgec_status status);
const char *edgec_op_name(int32_t opcode);
const char *edgec_cpu_features(void);
const char *edgec_lut_kernel_name(void);
edgec_status edgec_model_open(const void *data, size_t size, uint32_t flags, edgec_model **out,
                              char *err, size_t err_size);
void edgec_model_close(edgec_model *model);
int32_t edgec_model_tensor_count(const edgec_model *model);
int32_t edgec_model_op_count(const edgec_model *model);
int32_t edgec_model_input_count(const edgec_model *model);
int32_t edgec_model_output_count(const edgec_model *model);
int32_t edgec_model_input_tensor(const edgec_model *model, int32_t i);
int32_t edgec_model_output_tensor(const edgec_model *model, int32_t i);
edgec_status edgec_model_tensor_info(const edgec_model *model, int32_t tensor, edgec_tensor_info *out);
int32_t edgec_model_op_code(const edgec_model *model, int32_t op);
uint64_t edgec_model_planned_arena_bytes(const edgec_model *model);
void edgec_options_default(edgec_options *options);
edgec_status edgec_interpreter_create(const edgec_model *model, const edgec_options *options,
                                      edgec_interpreter **out, char *err, size_t err_size);
void edgec_interpreter_destroy(edgec_interpreter *interp);
size_t edgec_interpreter_arena_bytes(const edgec_interpreter *interp);
size_t edgec_interpreter_packed_bytes(const edgec_interpreter *interp);
edgec_status edgec_interpreter_invoke(edgec_interpreter *interp, const void *const *inputs,
                                      void *const *outputs);
int32_t edgec_interpreter_profile(const edgec_interpreter *interp, uint64_t *ns, int32_t capacity);
const char *edgec_interpreter_error(const edgec_interpreter *interp);
int32_t edgec_interpreter_device_ops(const edgec_interpreter *interp);
int32_t edgec_cuda_driver_version(char *text, size_t size);
uint32_t edgec_crc32(uint32_t crc, const void *data, size_t size);
"""

ffi = FFI()
ffi.cdef(CDEF)
_lib = None


def library_path() -> Path:
    """EDGEC_LIBRARY, else the library installed in the package, else (source checkout)
    a CMake build in <checkout>/build."""
    override = os.environ.get("EDGEC_LIBRARY")
    if override:
        return Path(override)
    name = {"darwin": "libedgec.dylib", "win32": "edgec.dll"}.get(sys.platform, "libedgec.so")
    here = Path(__file__).resolve().parent
    candidates = [here / "lib" / name, here.parent / "build" / name]
    try:  # a source checkout on sys.path shadowing an installed edgec: use the installed core
        from importlib.metadata import PackageNotFoundError, distribution
        candidates.append(Path(distribution("edgec").locate_file(f"edgec/runtime/lib/{name}")))
    except (ImportError, PackageNotFoundError):
        pass
    return next((c for c in candidates if c.exists()), candidates[0])


def lib():
    """The loaded C core (loaded once)."""
    global _lib
    if _lib is None:
        path = library_path()
        if not path.exists():
            raise ImportError(
                f"edgec's C core is missing ({path}). Install the package with pip "
                "(pip install .), build it in a checkout (cmake -B build && cmake --build build), "
                "or set EDGEC_LIBRARY.")
        _lib = ffi.dlopen(str(path))
    return _lib
