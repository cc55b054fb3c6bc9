/* Fuzz target for the .edgec reader, every op's prepare, and invoke.
 *
 * The CRC is recomputed over the mutated bytes before opening, so mutations reach the
 * parser instead of dying at the checksum. Models that load are prepared and, when their
 * inputs/outputs are small, run on zeros: eval must stay in bounds for any model that
 * prepare accepted. Build with libFuzzer (clang -fsanitize=fuzzer,address,undefined) or
 * with fuzz_driver.c (any compiler, ASan/UBSan) for a bounded deterministic run.
 *
 * A hash of the input picks rarer paths so they are fuzzed too (1 in 32 inputs each):
 * the checksum left as it is, a misaligned buffer, the caller's own arena, profiling,
 * NULL buffers at invoke; every model accessor runs on what loaded. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "edgec/edgec.h"

#define EDGEC_FUZZ_MAX_IO_BYTES (1u << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* every read-only accessor on a model that loaded: none may read out of bounds */
static void touch_model(const edgec_model *m) {
    int32_t i, n = edgec_model_tensor_count(m);
    edgec_tensor_info info;
    for (i = -1; i <= n; ++i) edgec_model_tensor_info(m, i, &info);
    for (i = -1; i <= edgec_model_op_count(m); ++i) (void)edgec_op_name(edgec_model_op_code(m, i));
    for (i = -1; i <= edgec_model_input_count(m); ++i) (void)edgec_model_input_tensor(m, i);
    for (i = -1; i <= edgec_model_output_count(m); ++i) (void)edgec_model_output_tensor(m, i);
    (void)edgec_model_planned_arena_bytes(m);
}

static void run(edgec_interpreter *it, const edgec_model *m, int null_buffers) {
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
    if (ok && null_buffers && n_in + n_out > 0) { /* refused with a message, never dereferenced */
        void *keep = ptrs[0];
        ptrs[0] = 0;
        (void)edgec_interpreter_invoke(it, (const void *const *)ptrs, ptrs + n_in);
        (void)edgec_interpreter_invoke(it, 0, ptrs + n_in);
        ptrs[0] = keep;
    }
    if (ok && edgec_interpreter_invoke(it, (const void *const *)ptrs, ptrs + n_in) != EDGEC_OK)
        (void)edgec_interpreter_error(it);
    for (i = 0; ptrs && i < n_in + n_out; ++i) free(ptrs[i]);
    free(ptrs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *block, *buf;
    edgec_model *m = 0;
    edgec_interpreter *it = 0;
    edgec_options opt;
    void *arena = 0;
    char err[512];
    edgec_status s;
    /* a hash of the bytes picks the mode: every mutant, loadable or not, gets one at random */
    unsigned mode = (unsigned)(edgec_crc32(0, data, size) % 32);
    if (size > (64u << 20)) return 0;
    block = (uint8_t *)malloc(size + 16); /* malloc is 16-byte aligned, as the reader needs */
    if (!block) return 0;
    buf = mode == 9 ? block + 1 : block;  /* misaligned: refused */
    memcpy(buf, data, size);
    if (size >= EDGEC_HEADER_SIZE && mode != 7) { /* mode 7 keeps the stored checksum */
        uint32_t crc = edgec_crc32(0, buf + EDGEC_HEADER_SIZE, size - EDGEC_HEADER_SIZE);
        memcpy(buf + offsetof(edgec_file_header, crc32), &crc, sizeof(crc)); /* buf may be misaligned */
    }
    s = edgec_model_open(buf, size, 0, &m, err, sizeof(err));
    (void)edgec_status_string(s);
    if (s == EDGEC_OK) {
        touch_model(m);
        edgec_options_default(&opt);
        opt.profile = mode == 3;
        if (mode == 5) { /* the caller's arena, exactly the planned size */
            size_t bytes = (size_t)edgec_model_planned_arena_bytes(m);
            if (bytes <= EDGEC_FUZZ_MAX_IO_BYTES && posix_memalign(&arena, 64, bytes + 64) == 0) {
                opt.arena = arena;
                opt.arena_size = bytes;
            }
        }
        if (edgec_interpreter_create(m, &opt, &it, err, sizeof(err)) == EDGEC_OK) {
            run(it, m, mode == 11);
            if (opt.profile) {
                uint64_t ns[8];
                (void)edgec_interpreter_profile(it, ns, 8);
            }
        }
    }
    edgec_interpreter_destroy(it);
    edgec_model_close(m);
    free(arena);
    free(block);
    return 0;
}
