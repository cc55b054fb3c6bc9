/* The .edgec reader: validates every offset, size and index of an untrusted image
 * (format.h) before anything uses it. On success the model points into the caller's
 * bytes; on failure it returns a status and a message and touches nothing else. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define EDGEC_MAX_TENSOR_BYTES ((uint64_t)1 << 40)

typedef struct {
    char *buf;
    size_t size;
} msgbuf;

static edgec_status fail(msgbuf *m, edgec_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static edgec_status fail(msgbuf *m, edgec_status s, const char *fmt, ...) {
    if (m->buf && m->size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->buf, m->size, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* a + b <= limit without overflow */
static int fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

static int is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static edgec_status read_sections(edgec_model *m, const edgec_file_header *h, msgbuf *msg) {
    const edgec_section_entry *table;
    uint32_t i;
    const uint8_t *body[32] = {0};
    uint64_t size[32] = {0};
    int seen[32] = {0};

    if (h->section_count > 1024)
        return fail(msg, EDGEC_ERR_FORMAT, "section count %u is implausible", h->section_count);
    if (h->section_table_offset % 8 ||
        !fits(h->section_table_offset, (uint64_t)h->section_count * sizeof(edgec_section_entry),
              m->size))
        return fail(msg, EDGEC_ERR_FORMAT, "section table (offset %llu, %u entries) is out of range",
                    (unsigned long long)h->section_table_offset, h->section_count);
    table = (const edgec_section_entry *)(m->data + h->section_table_offset);
    for (i = 0; i < h->section_count; ++i) {
        const edgec_section_entry *s = &table[i];
        if (s->offset < EDGEC_HEADER_SIZE || s->offset % 8 || !fits(s->offset, s->size, m->size))
            return fail(msg, EDGEC_ERR_FORMAT,
                        "section %u (id %u): offset %llu size %llu is out of range", i, s->id,
                        (unsigned long long)s->offset, (unsigned long long)s->size);
        if (s->id < 32) {
            if (seen[s->id])
                return fail(msg, EDGEC_ERR_FORMAT, "section id %u appears twice", s->id);
            seen[s->id] = 1;
            body[s->id] = m->data + s->offset;
            size[s->id] = s->size;
        }
    }
    {
        static const struct { uint32_t id; const char *name; uint64_t unit; } required[] = {
            {EDGEC_SECTION_STRINGS, "STRINGS", 1},
            {EDGEC_SECTION_TENSORS, "TENSORS", sizeof(edgec_tensor_record)},
            {EDGEC_SECTION_OPS, "OPS", sizeof(edgec_op_record)},
            {EDGEC_SECTION_INDICES, "INDICES", sizeof(int32_t)},
            {EDGEC_SECTION_PARAMS, "PARAMS", 1},
            {EDGEC_SECTION_CONSTANTS, "CONSTANTS", 1},
            {EDGEC_SECTION_GRAPH, "GRAPH", sizeof(edgec_graph_record)},
        };
        for (i = 0; i < sizeof(required) / sizeof(required[0]); ++i) {
            if (!seen[required[i].id])
                return fail(msg, EDGEC_ERR_FORMAT, "required section %s is missing", required[i].name);
            if (size[required[i].id] % required[i].unit)
                return fail(msg, EDGEC_ERR_FORMAT, "section %s size %llu is not a multiple of %llu",
                            required[i].name, (unsigned long long)size[required[i].id],
                            (unsigned long long)required[i].unit);
        }
    }
    if (size[EDGEC_SECTION_GRAPH] != sizeof(edgec_graph_record))
        return fail(msg, EDGEC_ERR_FORMAT, "GRAPH section has %llu bytes, expected %u",
                    (unsigned long long)size[EDGEC_SECTION_GRAPH], (unsigned)sizeof(edgec_graph_record));
    if (size[EDGEC_SECTION_TENSORS] / sizeof(edgec_tensor_record) > 0x7fffffff ||
        size[EDGEC_SECTION_OPS] / sizeof(edgec_op_record) > 0x7fffffff)
        return fail(msg, EDGEC_ERR_FORMAT, "too many tensors or ops");
    m->strings = (const char *)body[EDGEC_SECTION_STRINGS];
    m->strings_size = size[EDGEC_SECTION_STRINGS];
    m->tensors = (const edgec_tensor_record *)body[EDGEC_SECTION_TENSORS];
    m->tensor_count = (int32_t)(size[EDGEC_SECTION_TENSORS] / sizeof(edgec_tensor_record));
    m->ops = (const edgec_op_record *)body[EDGEC_SECTION_OPS];
    m->op_count = (int32_t)(size[EDGEC_SECTION_OPS] / sizeof(edgec_op_record));
    m->indices = (const int32_t *)body[EDGEC_SECTION_INDICES];
    m->index_count = size[EDGEC_SECTION_INDICES] / sizeof(int32_t);
    m->params = body[EDGEC_SECTION_PARAMS];
    m->params_size = size[EDGEC_SECTION_PARAMS];
    m->graph = (const edgec_graph_record *)body[EDGEC_SECTION_GRAPH];
    return EDGEC_OK;
}

static edgec_status check_name(const edgec_model *m, uint32_t off, uint32_t len, const char *what,
                               int32_t i, msgbuf *msg) {
    if (!fits(off, len, m->strings_size))
        return fail(msg, EDGEC_ERR_FORMAT, "%s %d: name (offset %u, length %u) is outside STRINGS",
                    what, i, off, len);
    return EDGEC_OK;
}

/* Constant data lies in CONSTANTS, in SPARSE_WEIGHTS (block-sparse CSR tensors) or in
 * LOWBIT_WEIGHTS (low-bit weight blobs), format.h. */
static edgec_status check_tensors(const edgec_model *m, uint64_t const_begin, uint64_t const_end,
                                  uint64_t sparse_begin, uint64_t sparse_end, uint64_t lowbit_begin,
                                  uint64_t lowbit_end, msgbuf *msg) {
    int32_t i, d;
    uint64_t arena_end = 0;
    for (i = 0; i < m->tensor_count; ++i) {
        const edgec_tensor_record *t = &m->tensors[i];
        uint64_t count = 1, esize = edgec_dtype_size(t->dtype);
        edgec_status s = check_name(m, t->name_offset, t->name_length, "tensor", i, msg);
        if (s) return s;
        if (!esize) return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: unknown dtype %u", i, t->dtype);
        if (t->rank > EDGEC_MAX_RANK)
            return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: rank %u > %d", i, t->rank, EDGEC_MAX_RANK);
        for (d = 0; d < t->rank; ++d) {
            if (t->dims[d] <= 0)
                return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: dim %d is %d", i, d, t->dims[d]);
            /* checked before multiplying: count * dim must not wrap around 2^64 */
            if ((uint64_t)t->dims[d] > EDGEC_MAX_TENSOR_BYTES / count)
                return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: too many elements", i);
            count *= (uint64_t)t->dims[d];
        }
        if (count * esize != t->nbytes)
            return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: %llu bytes recorded, shape needs %llu", i,
                        (unsigned long long)t->nbytes, (unsigned long long)(count * esize));
        if (!(t->scale >= 0.0f) || t->scale > 3.0e38f)
            return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: quantization scale %g is not finite and >= 0", i,
                        (double)t->scale);
        if ((t->dtype == EDGEC_DTYPE_INT8 && (t->zero_point < -128 || t->zero_point > 127)) ||
            (t->dtype == EDGEC_DTYPE_UINT8 && (t->zero_point < 0 || t->zero_point > 255)))
            return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: zero point %d is outside its %s range", i,
                        t->zero_point, edgec_dtype_name(t->dtype));
        switch (t->storage) {
        case EDGEC_STORAGE_CONSTANT:
            if (t->offset % 16 ||
                !((t->offset >= const_begin && fits(t->offset, t->nbytes, const_end)) ||
                  (sparse_end > sparse_begin && t->offset >= sparse_begin && fits(t->offset, t->nbytes, sparse_end)) ||
                  (lowbit_end > lowbit_begin && t->offset >= lowbit_begin && fits(t->offset, t->nbytes, lowbit_end))))
                return fail(msg, EDGEC_ERR_FORMAT,
                            "tensor %d: constant data (offset %llu, %llu bytes) is outside CONSTANTS / SPARSE_WEIGHTS / LOWBIT_WEIGHTS or misaligned",
                            i, (unsigned long long)t->offset, (unsigned long long)t->nbytes);
            break;
        case EDGEC_STORAGE_ARENA:
            if (t->offset % 16 || !fits(t->offset, t->nbytes, m->graph->arena_bytes))
                return fail(msg, EDGEC_ERR_FORMAT,
                            "tensor %d: arena range (offset %llu, %llu bytes) exceeds the planned arena of %llu bytes or is misaligned",
                            i, (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                            (unsigned long long)m->graph->arena_bytes);
            if (t->offset + t->nbytes > arena_end) arena_end = t->offset + t->nbytes;
            break;
        case EDGEC_STORAGE_IO:
            break;
        default:
            return fail(msg, EDGEC_ERR_FORMAT, "tensor %d: unknown storage %u", i, t->storage);
        }
    }
    /* the planned arena is exactly what its tensors span (64-aligned): a file cannot make
     * the runtime allocate memory its tensors do not use */
    if (m->graph->arena_bytes != ((arena_end + 63) & ~(uint64_t)63))
        return fail(msg, EDGEC_ERR_FORMAT, "planned arena of %llu bytes does not match its tensors (%llu bytes)",
                    (unsigned long long)m->graph->arena_bytes, (unsigned long long)arena_end);
    return EDGEC_OK;
}

static edgec_status check_graph(edgec_model *m, msgbuf *msg) {
    const edgec_graph_record *g = m->graph;
    uint64_t n = (uint64_t)g->input_count + g->output_count;
    uint32_t i, j;
    if (g->arena_bytes > EDGEC_MAX_TENSOR_BYTES)
        return fail(msg, EDGEC_ERR_FORMAT, "planned arena of %llu bytes is implausible",
                    (unsigned long long)g->arena_bytes);
    if (g->input_count == 0 || g->output_count == 0 || !fits(g->inputs_index, n, m->index_count))
        return fail(msg, EDGEC_ERR_FORMAT, "graph inputs/outputs (%u, %u at index %u) are invalid",
                    g->input_count, g->output_count, g->inputs_index);
    m->graph_inputs = m->indices + g->inputs_index;
    m->graph_outputs = m->graph_inputs + g->input_count;
    for (i = 0; i < n; ++i) {
        int32_t t = m->graph_inputs[i];
        if (t < 0 || t >= m->tensor_count || m->tensors[t].storage != EDGEC_STORAGE_IO)
            return fail(msg, EDGEC_ERR_FORMAT, "graph %s %u refers to tensor %d, which is not an IO tensor",
                        i < g->input_count ? "input" : "output",
                        i < g->input_count ? i : i - g->input_count, t);
        for (j = 0; j < i; ++j)
            if (m->graph_inputs[j] == t)
                return fail(msg, EDGEC_ERR_FORMAT, "tensor %d is listed twice as graph input/output", t);
    }
    /* every IO tensor must be bound at invoke: it has to be a graph input or output */
    for (i = 0; i < (uint32_t)m->tensor_count; ++i) {
        if (m->tensors[i].storage != EDGEC_STORAGE_IO) continue;
        for (j = 0; j < n && m->graph_inputs[j] != (int32_t)i; ++j) {
        }
        if (j == n)
            return fail(msg, EDGEC_ERR_FORMAT, "IO tensor %u is neither a graph input nor output", i);
    }
    return EDGEC_OK;
}

/* Op records: opcodes known, indices in range, params inside PARAMS with the op's size,
 * and dataflow sound: every input is a constant, a graph input, or written by an earlier
 * op; outputs are written once and are never constants or graph inputs. */
static edgec_status check_ops(const edgec_model *m, msgbuf *msg) {
    int32_t i, k;
    uint8_t *written = (uint8_t *)calloc((size_t)m->tensor_count + 1, 1);
    edgec_status s = EDGEC_OK;
    if (!written) return fail(msg, EDGEC_ERR_NOMEM, "out of memory");
    for (i = 0; i < (int32_t)m->graph->input_count; ++i) written[m->graph_inputs[i]] = 1;
    for (i = 0; i < m->tensor_count; ++i)
        if (m->tensors[i].storage == EDGEC_STORAGE_CONSTANT) written[i] = 1;
    for (i = 0; i < m->op_count && !s; ++i) {
        const edgec_op_record *op = &m->ops[i];
        const edgec_op_entry *e = edgec_op_lookup(op->opcode);
        const char *name = edgec_op_name(op->opcode);
        uint64_t n = (uint64_t)op->input_count + op->output_count;
        if ((s = check_name(m, op->name_offset, op->name_length, "op", i, msg))) break;
        if (!e) {
            s = name ? fail(msg, EDGEC_ERR_UNSUPPORTED,
                            "op #%d (%s) is not compiled into this build of edgec", i, name)
                     : fail(msg, EDGEC_ERR_UNSUPPORTED, "op #%d has unknown opcode %u (newer edgec?)",
                            i, op->opcode);
            break;
        }
        if (op->input_count > EDGEC_MAX_OP_INPUTS || op->output_count == 0 ||
            op->output_count > EDGEC_MAX_OP_INPUTS || !fits(op->inputs_index, n, m->index_count)) {
            s = fail(msg, EDGEC_ERR_FORMAT, "op #%d (%s): %u inputs / %u outputs at index %u are out of range",
                     i, name, op->input_count, op->output_count, op->inputs_index);
            break;
        }
        if (op->params_offset % 4 || op->params_size != e->params_size ||
            !fits(op->params_offset, op->params_size, m->params_size)) {
            s = fail(msg, EDGEC_ERR_FORMAT,
                     "op #%d (%s): parameters (offset %u, %u bytes; expected %u bytes) are invalid",
                     i, name, op->params_offset, op->params_size, e->params_size);
            break;
        }
        for (k = 0; k < (int32_t)n; ++k) {
            int32_t t = m->indices[op->inputs_index + k];
            int is_input = k < op->input_count;
            if (is_input && t == -1) continue;
            if (t < 0 || t >= m->tensor_count) {
                s = fail(msg, EDGEC_ERR_FORMAT, "op #%d (%s): %s %d refers to tensor %d of %d", i, name,
                         is_input ? "input" : "output", is_input ? k : k - op->input_count, t,
                         m->tensor_count);
                break;
            }
            if (is_input && !written[t]) {
                s = fail(msg, EDGEC_ERR_FORMAT, "op #%d (%s): input %d (tensor %d) is read before it is written",
                         i, name, k, t);
                break;
            }
            if (!is_input && written[t]) {
                s = fail(msg, EDGEC_ERR_FORMAT,
                         "op #%d (%s): output tensor %d is a constant, a graph input or written twice",
                         i, name, t);
                break;
            }
        }
        for (k = op->input_count; k < (int32_t)n && !s; ++k) written[m->indices[op->inputs_index + k]] = 1;
    }
    for (i = 0; i < (int32_t)m->graph->output_count && !s; ++i)
        if (!written[m->graph_outputs[i]])
            s = fail(msg, EDGEC_ERR_FORMAT, "graph output %d (tensor %d) is never written", i,
                     m->graph_outputs[i]);
    free(written);
    return s;
}

/* Arena tensors whose lifetimes overlap must not share bytes: otherwise a corrupted plan
 * would silently corrupt results. Lifetime = [writing op, last reading op]. */
static edgec_status check_arena_plan(const edgec_model *m, msgbuf *msg) {
    int32_t n = m->tensor_count, i, j, k;
    int32_t *first = (int32_t *)malloc(sizeof(int32_t) * 2 * (size_t)(n ? n : 1)), *last;
    edgec_status s = EDGEC_OK;
    if (!first) return fail(msg, EDGEC_ERR_NOMEM, "out of memory");
    last = first + n;
    for (i = 0; i < n; ++i) first[i] = last[i] = -1;
    for (i = 0; i < m->op_count; ++i) {
        const edgec_op_record *op = &m->ops[i];
        for (k = 0; k < op->input_count + op->output_count; ++k) {
            int32_t t = m->indices[op->inputs_index + k];
            if (t < 0) continue;
            if (first[t] < 0) first[t] = i;
            last[t] = i;
        }
    }
    for (i = 0; i < n && !s; ++i) {
        const edgec_tensor_record *a = &m->tensors[i];
        if (a->storage != EDGEC_STORAGE_ARENA || first[i] < 0) continue;
        for (j = i + 1; j < n; ++j) {
            const edgec_tensor_record *b = &m->tensors[j];
            if (b->storage != EDGEC_STORAGE_ARENA || first[j] < 0) continue;
            if (first[i] > last[j] || first[j] > last[i]) continue;     /* disjoint in time */
            if (a->offset + a->nbytes <= b->offset || b->offset + b->nbytes <= a->offset) continue;
            s = fail(msg, EDGEC_ERR_FORMAT,
                     "memory plan: tensors %d and %d are live at the same time and overlap in the arena",
                     i, j);
            break;
        }
    }
    free(first);
    return s;
}

edgec_status edgec_model_open(const void *data, size_t size, uint32_t flags, edgec_model **out,
                              char *err, size_t err_size) {
    msgbuf msg;
    const edgec_file_header *h = (const edgec_file_header *)data;
    edgec_model *m;
    edgec_status s;
    msg.buf = err;
    msg.size = err_size;
    if (err && err_size) err[0] = 0;
    if (!out) return fail(&msg, EDGEC_ERR_ARGUMENT, "out is NULL");
    *out = 0;
    if (!data) return fail(&msg, EDGEC_ERR_ARGUMENT, "data is NULL");
    if (!is_little_endian())
        return fail(&msg, EDGEC_ERR_UNSUPPORTED, "big-endian hosts are not supported");
    if ((uintptr_t)data % 16)
        return fail(&msg, EDGEC_ERR_ARGUMENT, "model bytes must be 16-byte aligned");
    if (size < EDGEC_HEADER_SIZE)
        return fail(&msg, EDGEC_ERR_FORMAT, "file is %llu bytes, shorter than the %d-byte header",
                    (unsigned long long)size, EDGEC_HEADER_SIZE);
    if (h->magic != EDGEC_MAGIC) return fail(&msg, EDGEC_ERR_FORMAT, "not an .edgec file (bad magic)");
    if (h->version_major != EDGEC_VERSION_MAJOR)
        return fail(&msg, EDGEC_ERR_VERSION, "IR version %u.%u is not supported (this runtime reads %d.x)",
                    h->version_major, h->version_minor, EDGEC_VERSION_MAJOR);
    {
        size_t r;
        for (r = 0; r < sizeof(h->reserved) && !h->reserved[r]; ++r) {
        }
        if (h->flags || r < sizeof(h->reserved))
            return fail(&msg, EDGEC_ERR_FORMAT, "header flags/reserved bytes are not zero (newer or corrupted file)");
    }
    if (h->header_size != EDGEC_HEADER_SIZE)
        return fail(&msg, EDGEC_ERR_FORMAT, "header size %u, expected %d", h->header_size,
                    EDGEC_HEADER_SIZE);
    if (h->file_size != size)
        return fail(&msg, EDGEC_ERR_FORMAT, "header says %llu bytes, got %llu (truncated file?)",
                    (unsigned long long)h->file_size, (unsigned long long)size);
    if (!(flags & EDGEC_OPEN_SKIP_CHECKSUM)) {
        uint32_t crc = edgec_crc32(0, (const uint8_t *)data + EDGEC_HEADER_SIZE, size - EDGEC_HEADER_SIZE);
        if (crc != h->crc32)
            return fail(&msg, EDGEC_ERR_CHECKSUM,
                        "checksum mismatch (stored %08x, computed %08x): the file is corrupted",
                        h->crc32, crc);
    }
    m = (edgec_model *)calloc(1, sizeof(*m));
    if (!m) return fail(&msg, EDGEC_ERR_NOMEM, "out of memory");
    m->data = (const uint8_t *)data;
    m->size = size;
    s = read_sections(m, h, &msg);
    if (!s) {
        /* find the CONSTANTS section bounds again for the constant range check */
        const edgec_section_entry *table = (const edgec_section_entry *)(m->data + h->section_table_offset);
        uint64_t cb = 0, ce = 0, sb = 0, se = 0, lb = 0, le = 0;
        uint32_t i;
        for (i = 0; i < h->section_count; ++i)
            if (table[i].id == EDGEC_SECTION_CONSTANTS) {
                cb = table[i].offset;
                ce = table[i].offset + table[i].size;
            } else if (table[i].id == EDGEC_SECTION_SPARSE_WEIGHTS) {
                sb = table[i].offset;
                se = table[i].offset + table[i].size;
            } else if (table[i].id == EDGEC_SECTION_LOWBIT_WEIGHTS) {
                lb = table[i].offset;
                le = table[i].offset + table[i].size;
            }
        s = check_tensors(m, cb, ce, sb, se, lb, le, &msg);
    }
    if (!s) s = check_graph(m, &msg);
    if (!s) s = check_ops(m, &msg);
    if (!s) s = check_arena_plan(m, &msg);
    if (s) {
        free(m);
        return s;
    }
    *out = m;
    return EDGEC_OK;
}

void edgec_model_close(edgec_model *model) { free(model); }

int32_t edgec_model_tensor_count(const edgec_model *m) { return m ? m->tensor_count : 0; }
int32_t edgec_model_op_count(const edgec_model *m) { return m ? m->op_count : 0; }
int32_t edgec_model_input_count(const edgec_model *m) { return m ? (int32_t)m->graph->input_count : 0; }
int32_t edgec_model_output_count(const edgec_model *m) { return m ? (int32_t)m->graph->output_count : 0; }
uint64_t edgec_model_planned_arena_bytes(const edgec_model *m) { return m ? m->graph->arena_bytes : 0; }

int32_t edgec_model_input_tensor(const edgec_model *m, int32_t i) {
    return (m && i >= 0 && i < (int32_t)m->graph->input_count) ? m->graph_inputs[i] : -1;
}

int32_t edgec_model_output_tensor(const edgec_model *m, int32_t i) {
    return (m && i >= 0 && i < (int32_t)m->graph->output_count) ? m->graph_outputs[i] : -1;
}

int32_t edgec_model_op_code(const edgec_model *m, int32_t op) {
    return (m && op >= 0 && op < m->op_count) ? m->ops[op].opcode : -1;
}

edgec_status edgec_model_tensor_info(const edgec_model *m, int32_t tensor, edgec_tensor_info *out) {
    const edgec_tensor_record *t;
    int32_t d;
    if (!m || !out || tensor < 0 || tensor >= m->tensor_count) return EDGEC_ERR_ARGUMENT;
    t = &m->tensors[tensor];
    out->name = m->strings + t->name_offset;
    out->name_length = t->name_length;
    out->dtype = t->dtype;
    out->rank = t->rank;
    for (d = 0; d < EDGEC_MAX_RANK; ++d) out->dims[d] = d < t->rank ? t->dims[d] : 1;
    out->nbytes = t->nbytes;
    out->scale = t->scale;
    out->zero_point = t->zero_point;
    out->storage = t->storage;
    return EDGEC_OK;
}

const char *edgec_version(void) { return EDGEC_VERSION_STRING; }

const char *edgec_status_string(edgec_status s) {
    switch (s) {
    case EDGEC_OK: return "ok";
    case EDGEC_ERR_ARGUMENT: return "invalid argument";
    case EDGEC_ERR_FORMAT: return "malformed model file";
    case EDGEC_ERR_CHECKSUM: return "checksum mismatch";
    case EDGEC_ERR_VERSION: return "unsupported IR version";
    case EDGEC_ERR_UNSUPPORTED: return "unsupported";
    case EDGEC_ERR_INVALID: return "invalid model";
    case EDGEC_ERR_NOMEM: return "out of memory";
    case EDGEC_ERR_IO: return "I/O error";
    default: return "unknown status";
    }
}
