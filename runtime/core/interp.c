#if defined(__unix__) || defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L
#endif
/* The interpreter: prepare every op once, lay out one arena (the converter's plan plus
 * per-thread scratch at the tail), then run ops in order at each invoke without
 * allocating. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda.h"
#include "model.h"
#include "threads.h"

#if defined(__unix__) || defined(__APPLE__)
#include <time.h>
static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#else
/* Bare-metal builds provide a clock (e.g. SysTick) or get zeros. */
__attribute__((weak)) uint64_t edgec_platform_now_ns(void) { return 0; }
static uint64_t now_ns(void) { return edgec_platform_now_ns(); }
#endif

struct edgec_interpreter {
    const edgec_model *model;
    edgec_tensor *tensors;
    edgec_node *nodes;
    edgec_tensor **links;       /* storage for every node's input/output pointers */
    uint8_t *arena;             /* 64-aligned */
    void *arena_allocation;     /* what to free, NULL when the caller owns the arena */
    size_t arena_bytes;         /* planned + packed + threads * scratch */
    size_t packed_bytes;
    size_t scratch_offset;
    size_t scratch_stride;      /* per thread, 64-aligned */
    edgec_pool *pool;
    int32_t profile;
    uint64_t *profile_ns;
    edgec_cuda *cuda;           /* the device executor (cuda.h), NULL on the CPU */
    char error[320];
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static void bind_tensor(edgec_tensor *t, const edgec_tensor_record *r, int32_t index) {
    int32_t d;
    memset(t, 0, sizeof(*t));
    t->rank = r->rank;
    for (d = 0; d < EDGEC_MAX_RANK; ++d) t->dims[d] = d < r->rank ? r->dims[d] : 1;
    t->dtype = r->dtype;
    t->storage = r->storage;
    t->nbytes = (size_t)r->nbytes;
    t->count = t->nbytes / edgec_dtype_size(r->dtype);
    t->scale = r->scale;
    t->zero_point = r->zero_point;
    t->index = index;
}

static edgec_status fail_op(char *err, size_t err_size, const edgec_model *m, int32_t i,
                            const edgec_error *e) {
    const edgec_op_record *op = &m->ops[i];
    snprintf(err, err_size, "op #%d %s '%.*s': %s", i, edgec_op_name(op->opcode),
             (int)op->name_length, m->strings + op->name_offset, e->message);
    return e->status ? e->status : EDGEC_ERR_INVALID;
}

void edgec_options_default(edgec_options *o) {
    memset(o, 0, sizeof(*o));
    o->num_threads = 1;
}

edgec_status edgec_interpreter_create(const edgec_model *m, const edgec_options *options,
                                      edgec_interpreter **out, char *err, size_t err_size) {
    edgec_interpreter *it;
    edgec_options opt;
    size_t link_count = 0, max_scratch = 0, packed_total = 0, packed_at, threads;
    int32_t i, k;
    char scratch_err[8];
    if (!err || !err_size) {
        err = scratch_err;
        err_size = sizeof(scratch_err);
    }
    err[0] = 0;
    if (!m || !out) {
        snprintf(err, err_size, "model and out must not be NULL");
        return EDGEC_ERR_ARGUMENT;
    }
    *out = 0;
    if (options) opt = *options;
    else edgec_options_default(&opt);
    it = (edgec_interpreter *)calloc(1, sizeof(*it));
    if (!it) return EDGEC_ERR_NOMEM;
    it->model = m;
    for (i = 0; i < m->op_count; ++i) link_count += (size_t)m->ops[i].input_count + m->ops[i].output_count;
    it->tensors = (edgec_tensor *)calloc((size_t)m->tensor_count + 1, sizeof(edgec_tensor));
    it->nodes = (edgec_node *)calloc((size_t)m->op_count + 1, sizeof(edgec_node));
    it->links = (edgec_tensor **)calloc(link_count + 1, sizeof(edgec_tensor *));
    it->profile_ns = (uint64_t *)calloc((size_t)m->op_count + 1, sizeof(uint64_t));
    if (!it->tensors || !it->nodes || !it->links || !it->profile_ns) {
        edgec_interpreter_destroy(it);
        snprintf(err, err_size, "out of memory");
        return EDGEC_ERR_NOMEM;
    }
    if (opt.device != EDGEC_DEVICE_CPU) {
        edgec_status s = opt.arena ? EDGEC_ERR_ARGUMENT : edgec_cuda_open(opt.device, &it->cuda, err, err_size);
        if (opt.arena) snprintf(err, err_size, "a caller-owned arena cannot be used with a CUDA device");
        if (s) {
            edgec_interpreter_destroy(it);
            return s;
        }
    }
    for (i = 0; i < m->tensor_count; ++i) {
        bind_tensor(&it->tensors[i], &m->tensors[i], i);
        if (m->tensors[i].storage == EDGEC_STORAGE_CONSTANT)
            it->tensors[i].data = (uint8_t *)(uintptr_t)(m->data + m->tensors[i].offset);
    }
    link_count = 0;
    for (i = 0; i < m->op_count; ++i) {
        const edgec_op_record *op = &m->ops[i];
        const edgec_op_entry *e = edgec_op_lookup(op->opcode);
        edgec_node *node = &it->nodes[i];
        edgec_error e_err;
        edgec_status s;
        node->opcode = op->opcode;
        node->index = i;
        node->input_count = op->input_count;
        node->output_count = op->output_count;
        node->inputs = it->links + link_count;
        node->outputs = node->inputs + op->input_count;
        for (k = 0; k < op->input_count + op->output_count; ++k) {
            int32_t t = m->indices[op->inputs_index + k];
            it->links[link_count + (size_t)k] = t < 0 ? 0 : &it->tensors[t];
        }
        link_count += (size_t)op->input_count + op->output_count;
        node->params = m->params + op->params_offset;
        node->params_size = op->params_size;
        memset(&e_err, 0, sizeof(e_err));
        s = e->prepare(node, &e_err);
        if (s == EDGEC_OK && node->rows < 1) {
            s = EDGEC_ERR_INVALID;
            snprintf(e_err.message, sizeof(e_err.message), "prepare produced no work (rows=%d)", node->rows);
        }
        if (s != EDGEC_OK) {
            e_err.status = s;
            s = fail_op(err, err_size, m, i, &e_err);
            edgec_interpreter_destroy(it);
            return s;
        }
        if (node->scratch_bytes > max_scratch) max_scratch = node->scratch_bytes;
        packed_total += align64(node->packed_bytes);
    }
    it->pool = edgec_pool_create(opt.num_threads);
    threads = (size_t)edgec_pool_size(it->pool);
    /* arena: planned tensors | packed weights of every node | per-thread scratch */
    packed_at = align64((size_t)m->graph->arena_bytes);
    it->scratch_offset = packed_at + packed_total;
    it->packed_bytes = packed_total;
    it->scratch_stride = align64(max_scratch);
    it->arena_bytes = it->scratch_offset + threads * it->scratch_stride;
    if (opt.arena) {
        if ((uintptr_t)opt.arena % 64 || opt.arena_size < it->arena_bytes) {
            snprintf(err, err_size, "the caller's arena must be 64-byte aligned and at least %llu bytes (got %llu)",
                     (unsigned long long)it->arena_bytes, (unsigned long long)opt.arena_size);
            edgec_interpreter_destroy(it);
            return EDGEC_ERR_ARGUMENT;
        }
        it->arena = (uint8_t *)opt.arena;
    } else if (it->cuda) { /* managed memory: CPU and GPU ops share the arena */
        if (!(it->arena = (uint8_t *)edgec_cuda_alloc(it->cuda, it->arena_bytes))) {
            snprintf(err, err_size, "CUDA: cannot allocate a managed arena of %llu bytes", (unsigned long long)it->arena_bytes);
            edgec_interpreter_destroy(it);
            return EDGEC_ERR_NOMEM;
        }
    } else {
        it->arena_allocation = malloc(it->arena_bytes + 64);
        if (!it->arena_allocation) {
            snprintf(err, err_size, "cannot allocate an arena of %llu bytes", (unsigned long long)it->arena_bytes);
            edgec_interpreter_destroy(it);
            return EDGEC_ERR_NOMEM;
        }
        it->arena = (uint8_t *)(((uintptr_t)it->arena_allocation + 63) & ~(uintptr_t)63);
    }
    for (i = 0; i < m->tensor_count; ++i)
        if (m->tensors[i].storage == EDGEC_STORAGE_ARENA) it->tensors[i].data = it->arena + m->tensors[i].offset;
    for (i = 0; i < m->op_count; ++i) {
        edgec_node *node = &it->nodes[i];
        if (!node->packed_bytes || !node->pack) continue;
        node->packed = it->arena + packed_at;
        packed_at += align64(node->packed_bytes);
        node->pack(node);
    }
    if (it->cuda) {
        edgec_status s = edgec_cuda_attach(it->cuda, m, it->tensors, it->nodes, err, err_size);
        if (s) {
            edgec_interpreter_destroy(it);
            return s;
        }
    }
    it->profile = opt.profile;
    *out = it;
    return EDGEC_OK;
}

void edgec_interpreter_destroy(edgec_interpreter *it) {
    if (!it) return;
    edgec_pool_destroy(it->pool);
    edgec_cuda_close(it->cuda);
    free(it->arena_allocation);
    free(it->profile_ns);
    free(it->links);
    free(it->nodes);
    free(it->tensors);
    free(it);
}

size_t edgec_interpreter_arena_bytes(const edgec_interpreter *it) { return it ? it->arena_bytes : 0; }

size_t edgec_interpreter_packed_bytes(const edgec_interpreter *it) { return it ? it->packed_bytes : 0; }

const char *edgec_interpreter_error(const edgec_interpreter *it) { return it ? it->error : "no interpreter"; }

int32_t edgec_interpreter_device_ops(const edgec_interpreter *it) {
    return it && it->cuda ? edgec_cuda_node_count(it->cuda) : 0;
}

/* The device hook of invoke: node i runs on the device when the executor claimed it;
 * a CPU node first waits for the device's pending work (managed memory, no copies). */
static edgec_status invoke_device(edgec_interpreter *it, const void *const *inputs, void *const *outputs) {
    const edgec_model *m = it->model;
    edgec_status s = edgec_cuda_begin(it->cuda, inputs, it->error, sizeof(it->error));
    int32_t i;
    for (i = 0; i < m->op_count && !s; ++i) {
        const edgec_node *node = &it->nodes[i];
        uint64_t t0 = it->profile ? now_ns() : 0;
        if (edgec_cuda_runs(it->cuda, i)) {
            s = edgec_cuda_launch(it->cuda, node, it->error, sizeof(it->error));
            if (!s && it->profile) s = edgec_cuda_sync(it->cuda, it->error, sizeof(it->error));
        } else if (!(s = edgec_cuda_sync(it->cuda, it->error, sizeof(it->error)))) {
            edgec_pool_run(it->pool, edgec_op_lookup(node->opcode)->eval, node, it->arena + it->scratch_offset,
                           it->scratch_stride);
        }
        if (it->profile) it->profile_ns[i] = now_ns() - t0;
    }
    if (!s) s = edgec_cuda_end(it->cuda, outputs, it->error, sizeof(it->error));
    if (!s) it->error[0] = 0;
    return s;
}

edgec_status edgec_interpreter_invoke(edgec_interpreter *it, const void *const *inputs,
                                      void *const *outputs) {
    const edgec_model *m;
    int32_t i;
    if (!it) return EDGEC_ERR_ARGUMENT;
    m = it->model;
    if (!inputs || !outputs) {
        snprintf(it->error, sizeof(it->error), "inputs and outputs must not be NULL");
        return EDGEC_ERR_ARGUMENT;
    }
    for (i = 0; i < (int32_t)m->graph->input_count; ++i) {
        if (!inputs[i]) {
            snprintf(it->error, sizeof(it->error), "input %d is NULL", i);
            return EDGEC_ERR_ARGUMENT;
        }
        it->tensors[m->graph_inputs[i]].data = (uint8_t *)(uintptr_t)inputs[i];
    }
    for (i = 0; i < (int32_t)m->graph->output_count; ++i) {
        if (!outputs[i]) {
            snprintf(it->error, sizeof(it->error), "output %d is NULL", i);
            return EDGEC_ERR_ARGUMENT;
        }
        it->tensors[m->graph_outputs[i]].data = (uint8_t *)outputs[i];
    }
    if (it->cuda) return invoke_device(it, inputs, outputs);
    for (i = 0; i < m->op_count; ++i) {
        const edgec_node *node = &it->nodes[i];
        const edgec_op_entry *e = edgec_op_lookup(node->opcode);
        uint64_t t0 = it->profile ? now_ns() : 0;
        edgec_pool_run(it->pool, e->eval, node, it->arena + it->scratch_offset, it->scratch_stride);
        if (it->profile) it->profile_ns[i] = now_ns() - t0;
    }
    it->error[0] = 0;
    return EDGEC_OK;
}

int32_t edgec_interpreter_profile(const edgec_interpreter *it, uint64_t *ns, int32_t capacity) {
    int32_t i;
    if (!it) return 0;
    for (i = 0; ns && i < capacity && i < it->model->op_count; ++i) ns[i] = it->profile_ns[i];
    return it->model->op_count;
}
