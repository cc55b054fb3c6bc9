/* Fuzz target for the .edgec reader, every op's prepare, and invoke.
 *
 * The CRC is recomputed over the mutated bytes before opening, so mutations reach the
 * parser instead of dying at the checksum. Models that load are prepared and, when their
 * inputs/outputs are small, run on zeros: eval must stay in bounds for any model that
 * prepare accepted. Build with libFuzzer (clang -fsanitize=fuzzer,address,undefined) or
 * with fuzz_driver.c (any compiler, ASan/UBSan) for a bounded deterministic run. */
#include <stdlib.h>
#include <string.h>

#include "edgec/edgec.h"

#define EDGEC_FUZZ_MAX_IO_BYTES (1u << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf;
    edgec_model *m = 0;
    edgec_interpreter *it = 0;
    char err[512];
    if (size > (64u << 20)) return 0;
    buf = (uint8_t *)malloc(size ? size : 1); /* malloc is 16-byte aligned, as the reader needs */
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (size >= EDGEC_HEADER_SIZE) {
        edgec_file_header *h = (edgec_file_header *)buf;
        h->crc32 = edgec_crc32(0, buf + EDGEC_HEADER_SIZE, size - EDGEC_HEADER_SIZE);
    }
    if (edgec_model_open(buf, size, 0, &m, err, sizeof(err)) == EDGEC_OK &&
        edgec_interpreter_create(m, 0, &it, err, sizeof(err)) == EDGEC_OK) {
        int32_t n_in = edgec_model_input_count(m), n_out = edgec_model_output_count(m), i;
        void **ptrs = (void **)calloc((size_t)(n_in + n_out) + 1, sizeof(void *));
        /* run only models small enough to keep the fuzzer fast; prepare already ran */
        int ok = ptrs != 0 && edgec_interpreter_arena_bytes(it) <= EDGEC_FUZZ_MAX_IO_BYTES;
        for (i = 0; ok && i < n_in + n_out; ++i) {
            edgec_tensor_info info;
            int32_t t = i < n_in ? edgec_model_input_tensor(m, i) : edgec_model_output_tensor(m, i - n_in);
            edgec_model_tensor_info(m, t, &info);
            if (info.nbytes > EDGEC_FUZZ_MAX_IO_BYTES) ok = 0;
            else ptrs[i] = calloc(1, (size_t)info.nbytes + 1);
            if (!ptrs[i]) ok = 0;
        }
        if (ok) edgec_interpreter_invoke(it, (const void *const *)ptrs, ptrs + n_in);
        for (i = 0; ptrs && i < n_in + n_out; ++i) free(ptrs[i]);
        free(ptrs);
    }
    edgec_interpreter_destroy(it);
    edgec_model_close(m);
    free(buf);
    return 0;
}
