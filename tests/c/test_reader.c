/* Reader and interpreter unit test, no Python: builds a small valid .edgec image by hand
 * (x -> CLAMP[0,6] -> y), runs it, then checks that truncations, bit flips and bad
 * header/record fields are refused with an error (never a crash; run it under ASan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgec/edgec.h"

#define N 8
#include "check.h"


/* section layout of the hand-built image */
enum { OFF_STRINGS = 64, OFF_TENSORS = 128, OFF_OPS = 256, OFF_INDICES = 320, OFF_PARAMS = 384,
       OFF_GRAPH = 448, OFF_CONST = 512, OFF_TABLE = 576, SECTIONS = 7,
       FILE_SIZE = OFF_TABLE + SECTIONS * 24 };

static void put_tensor(uint8_t *p, uint32_t name_off, uint32_t name_len, uint8_t storage) {
    edgec_tensor_record t;
    int d;
    memset(&t, 0, sizeof(t));
    t.name_offset = name_off;
    t.name_length = name_len;
    t.dtype = EDGEC_DTYPE_FLOAT32;
    t.rank = 2;
    t.storage = storage;
    t.dims[0] = 1;
    t.dims[1] = N;
    for (d = 2; d < EDGEC_MAX_RANK; ++d) t.dims[d] = 1;
    t.nbytes = N * 4;
    memcpy(p, &t, sizeof(t));
}

static void seal(uint8_t *buf, size_t size) {
    edgec_file_header *h = (edgec_file_header *)buf;
    h->crc32 = edgec_crc32(0, buf + EDGEC_HEADER_SIZE, size - EDGEC_HEADER_SIZE);
}

static void build(uint8_t *buf) {
    edgec_file_header h;
    edgec_op_record op;
    edgec_graph_record g;
    edgec_clamp_params cp = {0.0f, 6.0f};
    int32_t idx[4] = {0, 1, 0, 1};
    edgec_section_entry s[SECTIONS] = {
        {EDGEC_SECTION_STRINGS, 0, OFF_STRINGS, 6},  {EDGEC_SECTION_TENSORS, 0, OFF_TENSORS, 128},
        {EDGEC_SECTION_OPS, 0, OFF_OPS, 32},         {EDGEC_SECTION_INDICES, 0, OFF_INDICES, 16},
        {EDGEC_SECTION_PARAMS, 0, OFF_PARAMS, 8},    {EDGEC_SECTION_GRAPH, 0, OFF_GRAPH, 32},
        {EDGEC_SECTION_CONSTANTS, 0, OFF_CONST, 0},
    };
    memset(buf, 0, FILE_SIZE);
    memcpy(buf + OFF_STRINGS, "xyrelu", 6);
    put_tensor(buf + OFF_TENSORS, 0, 1, EDGEC_STORAGE_IO);
    put_tensor(buf + OFF_TENSORS + 64, 1, 1, EDGEC_STORAGE_IO);
    memset(&op, 0, sizeof(op));
    op.opcode = 13; /* CLAMP */
    op.input_count = 1;
    op.output_count = 1;
    op.inputs_index = 0;
    op.params_offset = 0;
    op.params_size = sizeof(cp);
    op.name_offset = 2;
    op.name_length = 4;
    memcpy(buf + OFF_OPS, &op, sizeof(op));
    memcpy(buf + OFF_INDICES, idx, sizeof(idx));
    memcpy(buf + OFF_PARAMS, &cp, sizeof(cp));
    memset(&g, 0, sizeof(g));
    g.arena_bytes = 0;
    g.input_count = 1;
    g.output_count = 1;
    g.inputs_index = 2;
    memcpy(buf + OFF_GRAPH, &g, sizeof(g));
    memcpy(buf + OFF_TABLE, s, sizeof(s));
    memset(&h, 0, sizeof(h));
    h.magic = EDGEC_MAGIC;
    h.version_major = EDGEC_VERSION_MAJOR;
    h.header_size = EDGEC_HEADER_SIZE;
    h.file_size = FILE_SIZE;
    h.section_table_offset = OFF_TABLE;
    h.section_count = SECTIONS;
    memcpy(buf, &h, sizeof(h));
    seal(buf, FILE_SIZE);
}

/* Opens and, when that succeeds, prepares and runs the image: must never crash. */
static edgec_status try_image(const uint8_t *buf, size_t size, uint32_t flags, char *err,
                              size_t err_size) {
    edgec_model *m = 0;
    edgec_interpreter *it = 0;
    edgec_status s = edgec_model_open(buf, size, flags, &m, err, err_size);
    if (s) return s;
    s = edgec_interpreter_create(m, 0, &it, err, err_size);
    if (!s && edgec_model_input_count(m) == 1 && edgec_model_output_count(m) == 1) {
        edgec_tensor_info in, out;
        void *x, *y;
        edgec_model_tensor_info(m, edgec_model_input_tensor(m, 0), &in);
        edgec_model_tensor_info(m, edgec_model_output_tensor(m, 0), &out);
        x = calloc(1, (size_t)in.nbytes + 1);
        y = calloc(1, (size_t)out.nbytes + 1);
        {
            const void *ins[1];
            void *outs[1];
            ins[0] = x;
            outs[0] = y;
            s = edgec_interpreter_invoke(it, ins, outs);
        }
        free(x);
        free(y);
    }
    edgec_interpreter_destroy(it);
    edgec_model_close(m);
    return s;
}

int main(void) {
    static uint8_t good[FILE_SIZE] __attribute__((aligned(64)));
    static uint8_t work[FILE_SIZE + 64] __attribute__((aligned(64)));
    char err[512];
    edgec_model *m = 0;
    edgec_interpreter *it = 0;
    float x[N] = {-3, -1, 0, 1, 2.5f, 5.9f, 6.1f, 100}, y[N];
    const float want[N] = {0, 0, 0, 1, 2.5f, 5.9f, 6, 6};
    size_t i, cut, accepted = 0;
    int k;

    build(good);
    CHECK(edgec_model_open(good, FILE_SIZE, 0, &m, err, sizeof(err)) == EDGEC_OK, "open: %s", err);
    if (m) {
        const void *ins[1];
        void *outs[1];
        ins[0] = x;
        outs[0] = y;
        CHECK(edgec_interpreter_create(m, 0, &it, err, sizeof(err)) == EDGEC_OK, "create: %s", err);
        CHECK(it && edgec_interpreter_invoke(it, ins, outs) == EDGEC_OK, "invoke");
        for (k = 0; k < N; ++k) CHECK(y[k] == want[k], "y[%d] = %g, want %g", k, y[k], want[k]);
        CHECK(edgec_interpreter_invoke(it, 0, outs) == EDGEC_ERR_ARGUMENT, "NULL inputs refused");
        edgec_interpreter_destroy(it);
        edgec_model_close(m);
    }

    /* every truncation is refused */
    for (cut = 0; cut < FILE_SIZE; ++cut) {
        memcpy(work, good, cut);
        CHECK(try_image(work, cut, 0, err, sizeof(err)) != EDGEC_OK, "truncated to %u accepted", (unsigned)cut);
    }
    /* every single-byte corruption is refused: by the CRC after the header, by field checks
     * in it (except version_minor, bytes 6..7: any minor version is readable by design) */
    for (i = 0; i < FILE_SIZE; ++i) {
        if (i == 6 || i == 7) continue;
        memcpy(work, good, FILE_SIZE);
        work[i] ^= 0x5a;
        CHECK(try_image(work, FILE_SIZE, 0, err, sizeof(err)) != EDGEC_OK, "flip at %u accepted", (unsigned)i);
    }
    /* without the CRC, bit flips reach the parser: must not crash (ASan watches) */
    for (i = 0; i < FILE_SIZE; ++i) {
        for (k = 0; k < 8; ++k) {
            memcpy(work, good, FILE_SIZE);
            work[i] ^= (uint8_t)(1u << k);
            if (try_image(work, FILE_SIZE, EDGEC_OPEN_SKIP_CHECKSUM, err, sizeof(err)) == EDGEC_OK) accepted++;
        }
    }
    printf("bit flips without checksum: %u of %u accepted (harmless fields), none crashed\n",
           (unsigned)accepted, (unsigned)(FILE_SIZE * 8));
    /* targeted bad fields give the intended message */
    memcpy(work, good, FILE_SIZE);
    ((edgec_file_header *)work)->version_major = 9;
    seal(work, FILE_SIZE);
    CHECK(try_image(work, FILE_SIZE, 0, err, sizeof(err)) == EDGEC_ERR_VERSION, "version: %s", err);
    memcpy(work, good, FILE_SIZE);
    ((edgec_op_record *)(work + OFF_OPS))->opcode = 999;
    seal(work, FILE_SIZE);
    CHECK(try_image(work, FILE_SIZE, 0, err, sizeof(err)) == EDGEC_ERR_UNSUPPORTED && strstr(err, "opcode"),
          "unknown opcode: %s", err);
    memcpy(work, good, FILE_SIZE);
    ((int32_t *)(work + OFF_INDICES))[0] = 7;
    seal(work, FILE_SIZE);
    CHECK(try_image(work, FILE_SIZE, 0, err, sizeof(err)) == EDGEC_ERR_FORMAT && strstr(err, "tensor 7"),
          "bad index: %s", err);
    memcpy(work, good, FILE_SIZE);
    ((edgec_tensor_record *)(work + OFF_TENSORS + 64))->dims[1] = N + 1;
    seal(work, FILE_SIZE);
    CHECK(try_image(work, FILE_SIZE, 0, err, sizeof(err)) == EDGEC_ERR_FORMAT, "shape/bytes mismatch: %s", err);
    memcpy(work + 1, good, FILE_SIZE);
    CHECK(try_image(work + 1, FILE_SIZE, 0, err, sizeof(err)) == EDGEC_ERR_ARGUMENT, "misaligned: %s", err);
    {   /* dims whose product wraps around 2^64 to 0 must not pass as a 0-byte tensor
         * (found by the fuzzer built with -fsanitize=integer) */
        edgec_tensor_record *t = (edgec_tensor_record *)(work + OFF_TENSORS + 64);
        memcpy(work, good, FILE_SIZE);
        t->rank = 3;
        t->dims[0] = 1 << 20;
        t->dims[1] = 1 << 20;
        t->dims[2] = 1 << 24;
        t->nbytes = 0;
        seal(work, FILE_SIZE);
        CHECK(try_image(work, FILE_SIZE, 0, err, sizeof(err)) == EDGEC_ERR_FORMAT && strstr(err, "too many elements"),
              "element count overflow: %s", err);
    }

    printf(failures ? "test_reader: %d FAILED\n" : "test_reader: ok\n", failures);
    return failures != 0;
}
