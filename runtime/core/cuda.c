#if defined(__unix__) || defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L
#endif
/* The CUDA executor (contract in cuda.h): the CUDA driver API through dlopen("libcuda.so.1")
 * with our own typedefs, so libedgec needs no CUDA headers, no cudart and no libcuda at
 * link time; the kernels are the fatbin embedded by fatbin.S (EDGEC_CUDA=ON builds).
 * Builds without EDGEC_CUDA_HOST (MCU, fuzzing) get stubs that explain themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda.h"

#ifndef EDGEC_CUDA_MIN_DRIVER
#define EDGEC_CUDA_MIN_DRIVER 13000 /* CUDA 13.0: what nvcc 13.0's PTX ISA 9.0 and cubins need */
#endif
#ifndef EDGEC_CUDA_ARCHS_TEXT
#define EDGEC_CUDA_ARCHS_TEXT ""
#endif

#if defined(EDGEC_CUDA_HOST) && defined(__linux__)
#include <dlfcn.h>

#include "cuda_plan.h"

/* glibc 2.34 moved dlopen & co. from libdl into libc under a new version; bind the
 * architecture's original versions (as threads.c does for pthreads) so a library linked
 * against Debian 12's cross sysroot still loads on glibc 2.31 (JetPack 5, Bullseye),
 * where CMake's NEEDED libdl.so.2 provides them. */
#if defined(__GLIBC__) && !defined(EDGEC_NO_SYMVER)
#if defined(__aarch64__)
#define EDGEC_DL_VERSION "GLIBC_2.17"
#elif defined(__arm__)
#define EDGEC_DL_VERSION "GLIBC_2.4"
#elif defined(__x86_64__)
#define EDGEC_DL_VERSION "GLIBC_2.2.5"
#endif
#ifdef EDGEC_DL_VERSION
__asm__(".symver dlopen,dlopen@" EDGEC_DL_VERSION);
__asm__(".symver dlsym,dlsym@" EDGEC_DL_VERSION);
__asm__(".symver dlclose,dlclose@" EDGEC_DL_VERSION);
__asm__(".symver dlerror,dlerror@" EDGEC_DL_VERSION);
#endif
#endif

#ifdef EDGEC_CUDA_FATBIN
extern const unsigned char edgec_cuda_fatbin[]; /* fatbin.S */
#endif

/* The driver API subset we use, declared from its documented C signatures. */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef unsigned long long CUdeviceptr;
#define CU_MEM_ATTACH_GLOBAL 1u
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76
#define CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY 83

typedef struct {
    void *lib;
    CUresult (*cuInit)(unsigned);
    CUresult (*cuDriverGetVersion)(int *);
    CUresult (*cuDeviceGetCount)(int *);
    CUresult (*cuDeviceGet)(CUdevice *, int);
    CUresult (*cuDeviceGetName)(char *, int, CUdevice);
    CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
    CUresult (*cuCtxSetCurrent)(CUcontext);
    CUresult (*cuCtxSynchronize)(void);
    CUresult (*cuModuleLoadData)(CUmodule *, const void *);
    CUresult (*cuModuleUnload)(CUmodule);
    CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                               unsigned, CUstream, void **, void **);
    CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
    CUresult (*cuMemFree)(CUdeviceptr);
    CUresult (*cuGetErrorString)(CUresult, const char **);
    int version;
} edgec_cu_driver;

static const char *cu_error(const edgec_cu_driver *d, CUresult r) {
    const char *s = 0;
    if (d->cuGetErrorString && d->cuGetErrorString(r, &s) == 0 && s) return s;
    return "unknown CUDA error";
}

static void driver_unload(edgec_cu_driver *d) {
    if (d->lib) dlclose(d->lib);
    memset(d, 0, sizeof(*d));
}

/* dlopen libcuda, resolve the API, cuInit, and check the driver version. */
static edgec_status driver_load(edgec_cu_driver *d, char *err, size_t err_size) {
    static const char *const names[] = {
        "cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName",
        "cuDeviceGetAttribute", "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease_v2",
        "cuCtxSetCurrent", "cuCtxSynchronize", "cuModuleLoadData", "cuModuleUnload",
        "cuModuleGetFunction", "cuLaunchKernel", "cuMemAllocManaged", "cuMemFree_v2", "cuGetErrorString"};
    void **slots[] = {(void **)&d->cuInit, (void **)&d->cuDriverGetVersion, (void **)&d->cuDeviceGetCount,
                      (void **)&d->cuDeviceGet, (void **)&d->cuDeviceGetName, (void **)&d->cuDeviceGetAttribute,
                      (void **)&d->cuDevicePrimaryCtxRetain, (void **)&d->cuDevicePrimaryCtxRelease,
                      (void **)&d->cuCtxSetCurrent, (void **)&d->cuCtxSynchronize, (void **)&d->cuModuleLoadData,
                      (void **)&d->cuModuleUnload, (void **)&d->cuModuleGetFunction, (void **)&d->cuLaunchKernel,
                      (void **)&d->cuMemAllocManaged, (void **)&d->cuMemFree, (void **)&d->cuGetErrorString};
    size_t i;
    CUresult r;
    memset(d, 0, sizeof(*d));
    d->lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!d->lib) {
        const char *why = dlerror();
        snprintf(err, err_size, "libcuda.so.1 (the NVIDIA driver) was not found: %s", why ? why : "dlopen failed");
        return EDGEC_ERR_UNSUPPORTED;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        void *f = dlsym(d->lib, names[i]);
        if (!f) {
            snprintf(err, err_size, "libcuda.so.1 has no %s: the driver is too old", names[i]);
            driver_unload(d);
            return EDGEC_ERR_UNSUPPORTED;
        }
        memcpy(slots[i], &f, sizeof(f)); /* object pointer -> function pointer, as POSIX allows */
    }
    if ((r = d->cuInit(0)) != 0) {
        snprintf(err, err_size, "cuInit failed: %s (%d)", cu_error(d, r), r);
        driver_unload(d);
        return EDGEC_ERR_UNSUPPORTED;
    }
    d->cuDriverGetVersion(&d->version);
    if (d->version < EDGEC_CUDA_MIN_DRIVER) {
        snprintf(err, err_size,
                 "the CUDA driver supports CUDA %d.%d; this build's kernels need %d.%d or newer "
                 "(update the driver / JetPack, or rebuild with an older nvcc)",
                 d->version / 1000, d->version % 1000 / 10, EDGEC_CUDA_MIN_DRIVER / 1000,
                 EDGEC_CUDA_MIN_DRIVER % 1000 / 10);
        driver_unload(d);
        return EDGEC_ERR_UNSUPPORTED;
    }
    return EDGEC_OK;
}

struct edgec_cuda {
    int32_t emulated;
    edgec_cu_driver drv;
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fn[EDGEC_CU_KERNEL_COUNT];
    void **allocs;                 /* what close frees */
    size_t alloc_count, alloc_cap;
    const edgec_model *model;
    edgec_tensor *tensors;
    uint8_t *runs;                 /* per node: 1 = device */
    int32_t device_nodes;
    uint8_t **stage;               /* graph inputs then outputs */
    int32_t pending;               /* launches not yet synchronized */
};

static edgec_status fail(char *err, size_t err_size, const char *what, const edgec_cuda *cu, CUresult r) {
    snprintf(err, err_size, "CUDA: %s failed: %s (%d)", what, cu_error(&cu->drv, r), r);
    return EDGEC_ERR_IO;
}

static edgec_status open_device(edgec_cuda *cu, char *err, size_t err_size) {
    edgec_cu_driver *d = &cu->drv;
    int count = 0, managed = 0;
    CUresult r;
    edgec_status s = driver_load(d, err, err_size);
    if (s) return s;
    if (d->cuDeviceGetCount(&count) != 0 || count < 1) {
        snprintf(err, err_size, "the CUDA driver %d.%d sees no GPU", d->version / 1000, d->version % 1000 / 10);
        return EDGEC_ERR_UNSUPPORTED;
    }
    if ((r = d->cuDeviceGet(&cu->dev, 0)) != 0) return fail(err, err_size, "cuDeviceGet", cu, r);
    d->cuDeviceGetAttribute(&managed, CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, cu->dev);
    if (!managed) {
        snprintf(err, err_size, "GPU 0 does not support managed memory (cuMemAllocManaged)");
        return EDGEC_ERR_UNSUPPORTED;
    }
#ifndef EDGEC_CUDA_FATBIN
    snprintf(err, err_size, "this libedgec was built without CUDA kernels (configure with -DEDGEC_CUDA=ON)");
    return EDGEC_ERR_UNSUPPORTED;
#else
    int k;
    if ((r = d->cuDevicePrimaryCtxRetain(&cu->ctx, cu->dev)) != 0) return fail(err, err_size, "cuDevicePrimaryCtxRetain", cu, r);
    if ((r = d->cuCtxSetCurrent(cu->ctx)) != 0) return fail(err, err_size, "cuCtxSetCurrent", cu, r);
    if ((r = d->cuModuleLoadData(&cu->mod, edgec_cuda_fatbin)) != 0) {
        snprintf(err, err_size, "cuModuleLoadData: the embedded kernels (%s) do not load on this GPU: %s (%d)",
                 EDGEC_CUDA_ARCHS_TEXT, cu_error(d, r), r);
        return EDGEC_ERR_UNSUPPORTED;
    }
    for (k = 0; k < EDGEC_CU_KERNEL_COUNT; ++k)
        if ((r = d->cuModuleGetFunction(&cu->fn[k], cu->mod, edgec_cu_kernel_names[k])) != 0)
            return fail(err, err_size, edgec_cu_kernel_names[k], cu, r);
    return EDGEC_OK;
#endif
}

edgec_status edgec_cuda_open(int32_t device, edgec_cuda **out, char *err, size_t err_size) {
    edgec_cuda *cu;
    edgec_status s = EDGEC_OK;
    *out = 0;
    if (device != EDGEC_DEVICE_CUDA && device != EDGEC_DEVICE_CUDA_EMULATED) {
        snprintf(err, err_size, "unknown device %d", (int)device);
        return EDGEC_ERR_ARGUMENT;
    }
    cu = (edgec_cuda *)calloc(1, sizeof(*cu));
    if (!cu) return EDGEC_ERR_NOMEM;
    cu->emulated = device == EDGEC_DEVICE_CUDA_EMULATED;
    if (!cu->emulated) s = open_device(cu, err, err_size);
    if (s) {
        edgec_cuda_close(cu);
        return s;
    }
    *out = cu;
    return EDGEC_OK;
}

void edgec_cuda_close(edgec_cuda *cu) {
    size_t i;
    if (!cu) return;
    if (cu->pending) cu->drv.cuCtxSynchronize();
    for (i = 0; i < cu->alloc_count; ++i) {
        if (cu->emulated) free(cu->allocs[i]);
        else cu->drv.cuMemFree((CUdeviceptr)(uintptr_t)cu->allocs[i]);
    }
    free(cu->allocs);
    free(cu->runs);
    free(cu->stage);
    if (cu->mod) cu->drv.cuModuleUnload(cu->mod);
    if (cu->ctx) cu->drv.cuDevicePrimaryCtxRelease(cu->dev);
    driver_unload(&cu->drv);
    free(cu);
}

void *edgec_cuda_alloc(edgec_cuda *cu, size_t bytes) {
    void *p = 0;
    if (cu->alloc_count == cu->alloc_cap) {
        size_t cap = cu->alloc_cap ? 2 * cu->alloc_cap : 16;
        void **grown = (void **)realloc(cu->allocs, cap * sizeof(void *));
        if (!grown) return 0;
        cu->allocs = grown;
        cu->alloc_cap = cap;
    }
    if (!bytes) bytes = 1;
    if (cu->emulated) {
        /* the emulator's "managed memory": 64-aligned like the driver's (256) */
        p = malloc(bytes + 64);
        if (!p) return 0;
        cu->allocs[cu->alloc_count++] = p;
        return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    } else {
        CUdeviceptr d = 0;
        if (cu->drv.cuMemAllocManaged(&d, bytes, CU_MEM_ATTACH_GLOBAL) != 0) return 0;
        p = (void *)(uintptr_t)d;
        cu->allocs[cu->alloc_count++] = p;
        return p;
    }
}

edgec_status edgec_cuda_attach(edgec_cuda *cu, const edgec_model *m, edgec_tensor *tensors,
                               const edgec_node *nodes, char *err, size_t err_size) {
    const int32_t io = (int32_t)(m->graph->input_count + m->graph->output_count);
    uint8_t *constants;
    int32_t i;
    cu->model = m;
    cu->tensors = tensors;
    cu->runs = (uint8_t *)calloc((size_t)m->op_count + 1, 1);
    cu->stage = (uint8_t **)calloc((size_t)io + 1, sizeof(uint8_t *));
    /* the GPU reads weights from managed memory: one copy of the image, at load */
    constants = (uint8_t *)edgec_cuda_alloc(cu, (size_t)m->size);
    if (!cu->runs || !cu->stage || !constants) {
        snprintf(err, err_size, "CUDA: out of managed memory for the model's %llu bytes", (unsigned long long)m->size);
        return EDGEC_ERR_NOMEM;
    }
    memcpy(constants, m->data, (size_t)m->size);
    for (i = 0; i < m->tensor_count; ++i)
        if (m->tensors[i].storage == EDGEC_STORAGE_CONSTANT) tensors[i].data = constants + m->tensors[i].offset;
    for (i = 0; i < io; ++i) {
        const int32_t t = i < (int32_t)m->graph->input_count ? m->graph_inputs[i]
                                                               : m->graph_outputs[i - (int32_t)m->graph->input_count];
        if (!(cu->stage[i] = (uint8_t *)edgec_cuda_alloc(cu, tensors[t].nbytes))) {
            snprintf(err, err_size, "CUDA: out of managed memory for graph input/output staging");
            return EDGEC_ERR_NOMEM;
        }
    }
    for (i = 0; i < m->op_count; ++i) {
        edgec_cu_args args;
        int64_t total;
        const int32_t k = edgec_cu_plan(&nodes[i], &args, &total);
        cu->runs[i] = (uint8_t)(k >= 0 && total > 0 && (cu->emulated || cu->fn[k]));
        cu->device_nodes += cu->runs[i];
    }
    return EDGEC_OK;
}

int edgec_cuda_runs(const edgec_cuda *cu, int32_t node_index) { return cu->runs[node_index]; }

int32_t edgec_cuda_node_count(const edgec_cuda *cu) { return cu->device_nodes; }

edgec_status edgec_cuda_begin(edgec_cuda *cu, const void *const *inputs, char *err, size_t err_size) {
    const edgec_model *m = cu->model;
    const int32_t ni = (int32_t)m->graph->input_count, no = (int32_t)m->graph->output_count;
    int32_t i;
    CUresult r;
    if (!cu->emulated && (r = cu->drv.cuCtxSetCurrent(cu->ctx)) != 0) /* per calling thread */
        return fail(err, err_size, "cuCtxSetCurrent", cu, r);
    for (i = 0; i < ni; ++i) {
        edgec_tensor *t = &cu->tensors[m->graph_inputs[i]];
        memcpy(cu->stage[i], inputs[i], t->nbytes);
        t->data = cu->stage[i];
    }
    for (i = 0; i < no; ++i) cu->tensors[m->graph_outputs[i]].data = cu->stage[ni + i];
    return EDGEC_OK;
}

edgec_status edgec_cuda_launch(edgec_cuda *cu, const edgec_node *node, char *err, size_t err_size) {
    edgec_cu_args args;
    int64_t total;
    const int32_t k = edgec_cu_plan(node, &args, &total);
    long long n = (long long)total;
    void *params[2];
    CUresult r;
    if (cu->emulated) {
        edgec_cu_emulate(k, &args, total);
        return EDGEC_OK;
    }
    params[0] = &args;
    params[1] = &n;
    r = cu->drv.cuLaunchKernel(cu->fn[k], (unsigned)((total + 255) / 256), 1, 1, 256, 1, 1, 0, 0, params, 0);
    if (r) return fail(err, err_size, edgec_cu_kernel_names[k], cu, r);
    cu->pending = 1;
    return EDGEC_OK;
}

edgec_status edgec_cuda_sync(edgec_cuda *cu, char *err, size_t err_size) {
    CUresult r;
    if (!cu->pending) return EDGEC_OK;
    cu->pending = 0;
    if ((r = cu->drv.cuCtxSynchronize()) != 0) return fail(err, err_size, "cuCtxSynchronize", cu, r);
    return EDGEC_OK;
}

edgec_status edgec_cuda_end(edgec_cuda *cu, void *const *outputs, char *err, size_t err_size) {
    const edgec_model *m = cu->model;
    const int32_t ni = (int32_t)m->graph->input_count, no = (int32_t)m->graph->output_count;
    int32_t i;
    edgec_status s = edgec_cuda_sync(cu, err, err_size);
    if (s) return s;
    for (i = 0; i < no; ++i) memcpy(outputs[i], cu->stage[ni + i], cu->tensors[m->graph_outputs[i]].nbytes);
    return EDGEC_OK;
}

int32_t edgec_cuda_driver_version(char *text, size_t size) {
    edgec_cu_driver d;
    char err[256];
    if (!text || !size) text = err, size = sizeof(err);
    if (driver_load(&d, text, size)) return 0;
    {
        int count = 0, major = 0, minor = 0;
        char name[128] = "?";
        CUdevice dev = 0;
        d.cuDeviceGetCount(&count);
        if (count > 0 && d.cuDeviceGet(&dev, 0) == 0) {
            d.cuDeviceGetName(name, (int)sizeof(name), dev);
            d.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            d.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
        }
        snprintf(text, size, "libcuda.so.1 found, driver CUDA %d.%d (%d), %d GPU(s)%s%s (sm_%d%d)",
                 d.version / 1000, d.version % 1000 / 10, d.version, count, count ? ": " : "", count ? name : "",
                 major, minor);
    }
    {
        const int v = d.version;
        driver_unload(&d);
        return v;
    }
}

#else /* no CUDA host code in this build (MCU, fuzzing, non-Linux) */

struct edgec_cuda {
    int32_t unused;
};

edgec_status edgec_cuda_open(int32_t device, edgec_cuda **out, char *err, size_t err_size) {
    (void)device;
    *out = 0;
    snprintf(err, err_size, "this build of libedgec has no CUDA backend");
    return EDGEC_ERR_UNSUPPORTED;
}
void edgec_cuda_close(edgec_cuda *cu) { (void)cu; }
void *edgec_cuda_alloc(edgec_cuda *cu, size_t bytes) { (void)cu, (void)bytes; return 0; }
edgec_status edgec_cuda_attach(edgec_cuda *cu, const edgec_model *m, edgec_tensor *tensors,
                               const edgec_node *nodes, char *err, size_t err_size) {
    (void)cu, (void)m, (void)tensors, (void)nodes, (void)err, (void)err_size;
    return EDGEC_ERR_UNSUPPORTED;
}
int edgec_cuda_runs(const edgec_cuda *cu, int32_t node_index) { (void)cu, (void)node_index; return 0; }
int32_t edgec_cuda_node_count(const edgec_cuda *cu) { (void)cu; return 0; }
edgec_status edgec_cuda_begin(edgec_cuda *cu, const void *const *inputs, char *err, size_t err_size) {
    (void)cu, (void)inputs, (void)err, (void)err_size;
    return EDGEC_ERR_UNSUPPORTED;
}
edgec_status edgec_cuda_launch(edgec_cuda *cu, const edgec_node *node, char *err, size_t err_size) {
    (void)cu, (void)node, (void)err, (void)err_size;
    return EDGEC_ERR_UNSUPPORTED;
}
edgec_status edgec_cuda_sync(edgec_cuda *cu, char *err, size_t err_size) {
    (void)cu, (void)err, (void)err_size;
    return EDGEC_OK;
}
edgec_status edgec_cuda_end(edgec_cuda *cu, void *const *outputs, char *err, size_t err_size) {
    (void)cu, (void)outputs, (void)err, (void)err_size;
    return EDGEC_ERR_UNSUPPORTED;
}
int32_t edgec_cuda_driver_version(char *text, size_t size) {
    if (text && size) snprintf(text, size, "this build of libedgec has no CUDA backend");
    return 0;
}

#endif
