/* Shared helpers for prepare functions and the reader: error messages, checks,
 * broadcasting, dtype facts, CRC-32. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edgec/kernel.h"

edgec_status edgec_fail(edgec_error *err, edgec_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

const char *edgec_dtype_name(int32_t dtype) {
    switch (dtype) {
    case EDGEC_DTYPE_FLOAT32: return "float32";
    case EDGEC_DTYPE_INT8: return "int8";
    case EDGEC_DTYPE_UINT8: return "uint8";
    case EDGEC_DTYPE_INT16: return "int16";
    case EDGEC_DTYPE_INT32: return "int32";
    case EDGEC_DTYPE_INT64: return "int64";
    case EDGEC_DTYPE_BOOL: return "bool";
    case EDGEC_DTYPE_FLOAT16: return "float16";
    default: return "unknown";
    }
}

size_t edgec_dtype_size(int32_t dtype) {
    switch (dtype) {
    case EDGEC_DTYPE_FLOAT32: case EDGEC_DTYPE_INT32: return 4;
    case EDGEC_DTYPE_INT8: case EDGEC_DTYPE_UINT8: case EDGEC_DTYPE_BOOL: return 1;
    case EDGEC_DTYPE_INT16: case EDGEC_DTYPE_FLOAT16: return 2;
    case EDGEC_DTYPE_INT64: return 8;
    default: return 0;
    }
}

edgec_status edgec_check_counts(const edgec_node *node, int32_t min_in, int32_t max_in,
                                int32_t outputs, edgec_error *err) {
    int32_t i;
    if (node->input_count < min_in || node->input_count > max_in)
        return edgec_fail(err, EDGEC_ERR_INVALID, "expects %d..%d inputs, has %d", min_in,
                          max_in, node->input_count);
    if (node->output_count != outputs)
        return edgec_fail(err, EDGEC_ERR_INVALID, "expects %d outputs, has %d", outputs,
                          node->output_count);
    for (i = 0; i < min_in; ++i)
        if (!node->inputs[i])
            return edgec_fail(err, EDGEC_ERR_INVALID, "required input %d is absent", i);
    for (i = 0; i < outputs; ++i)
        if (!node->outputs[i])
            return edgec_fail(err, EDGEC_ERR_INVALID, "output %d is absent", i);
    return EDGEC_OK;
}

edgec_status edgec_check_dtype(const edgec_tensor *t, int32_t dtype, const char *what,
                               edgec_error *err) {
    if (t->dtype != dtype)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "%s is %s, this kernel takes %s", what,
                          edgec_dtype_name(t->dtype), edgec_dtype_name(dtype));
    return EDGEC_OK;
}

edgec_status edgec_broadcast_strides(const edgec_tensor *t, int32_t rank,
                                     const int32_t *out_dims, int64_t *strides,
                                     edgec_error *err) {
    int32_t i, shift = rank - t->rank;
    int64_t s = 1;
    if (shift < 0)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input of rank %d broadcast to rank %d",
                          t->rank, rank);
    for (i = rank - 1; i >= 0; --i) {
        int32_t d = i >= shift ? t->dims[i - shift] : 1;
        if (d == out_dims[i]) {
            strides[i] = d == 1 ? 0 : s;
        } else if (d == 1) {
            strides[i] = 0;
        } else {
            return edgec_fail(err, EDGEC_ERR_INVALID,
                              "input dim %d (%d) does not broadcast to output dim %d", i, d,
                              out_dims[i]);
        }
        s *= d;
    }
    return EDGEC_OK;
}

/* CRC-32 (IEEE, reflected 0xEDB88320), the same as zlib.crc32. Table built lazily so the
 * MCU image carries no 1 KiB const table unless used. */
uint32_t edgec_crc32(uint32_t crc, const void *data, size_t size) {
    static uint32_t table[256];
    static int ready = 0;
    const uint8_t *p = (const uint8_t *)data;
    size_t i;
    if (!ready) {
        uint32_t n, k, c;
        for (n = 0; n < 256; ++n) {
            c = n;
            for (k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        ready = 1;
    }
    crc = ~crc;
    for (i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
