/* edgec on a Cortex-M board: the model is a const array in flash (model.S), the arena a
 * static buffer sized from the converter's plan; inputs arrive over the UART and outputs
 * and the cycle count go back (protocol in edgec/targets/mcu/link.py):
 *   device: "EDGEC READY <in_bytes> <out_bytes> <arena_bytes>\n"
 *   host:   <in_bytes> raw bytes (all inputs, in order)
 *   device: "EDGEC OK <cycles>\n" then <out_bytes> as hex lines "OUT <hex>\n", "END\n"
 *           (or "EDGEC ERROR <message>\n"), and waits for the next input. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edgec/edgec.h"
#include "board.h"
#include "edgec_app_config.h" /* generated: EDGEC_ARENA_BYTES, sizes */

extern const uint8_t edgec_model_data[];
extern const uint8_t edgec_model_end[];

static uint8_t arena[EDGEC_ARENA_BYTES] __attribute__((aligned(64)));
static uint8_t inputs[EDGEC_INPUT_BYTES > 0 ? EDGEC_INPUT_BYTES : 1] __attribute__((aligned(16)));
static uint8_t outputs[EDGEC_OUTPUT_BYTES > 0 ? EDGEC_OUTPUT_BYTES : 1] __attribute__((aligned(16)));

static void say(const char *s) { board_uart_write(s, strlen(s)); }

static void send_hex(const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char line[4 + 2 * 32 + 2];
    size_t i, k;
    for (i = 0; i < n; i += 32) {
        size_t len = 0;
        memcpy(line, "OUT ", 4);
        len = 4;
        for (k = i; k < n && k < i + 32; ++k) {
            line[len++] = digits[p[k] >> 4];
            line[len++] = digits[p[k] & 15];
        }
        line[len++] = '\n';
        board_uart_write(line, len);
    }
}

int main(void) {
    edgec_model *model;
    edgec_interpreter *interp;
    edgec_options opt;
    char err[200], line[96];
    const void *in_ptrs[8];
    void *out_ptrs[8];
    edgec_tensor_info info;
    size_t off;
    int32_t i;
    board_init();
    if (edgec_model_open(edgec_model_data, (size_t)(edgec_model_end - edgec_model_data), 0, &model, err,
                         sizeof(err)) != EDGEC_OK) {
        say("EDGEC ERROR ");
        say(err);
        say("\n");
        for (;;) {}
    }
    edgec_options_default(&opt);
    opt.arena = arena;
    opt.arena_size = sizeof(arena);
    if (edgec_interpreter_create(model, &opt, &interp, err, sizeof(err)) != EDGEC_OK) {
        say("EDGEC ERROR ");
        say(err);
        say("\n");
        for (;;) {}
    }
    for (i = 0, off = 0; i < edgec_model_input_count(model) && i < 8; ++i) {
        edgec_model_tensor_info(model, edgec_model_input_tensor(model, i), &info);
        in_ptrs[i] = inputs + off;
        off += (info.nbytes + 15) & ~(size_t)15;
    }
    for (i = 0, off = 0; i < edgec_model_output_count(model) && i < 8; ++i) {
        edgec_model_tensor_info(model, edgec_model_output_tensor(model, i), &info);
        out_ptrs[i] = outputs + off;
        off += (info.nbytes + 15) & ~(size_t)15;
    }
    snprintf(line, sizeof(line), "EDGEC READY %u %u %u\n", (unsigned)EDGEC_INPUT_BYTES, (unsigned)EDGEC_OUTPUT_BYTES,
             (unsigned)edgec_interpreter_arena_bytes(interp));
    for (;;) {
        uint64_t t0, t1;
        say(line);
        board_uart_read(inputs, EDGEC_INPUT_BYTES);
        t0 = board_cycles();
        if (edgec_interpreter_invoke(interp, in_ptrs, out_ptrs) != EDGEC_OK) {
            say("EDGEC ERROR ");
            say(edgec_interpreter_error(interp));
            say("\n");
            continue;
        }
        t1 = board_cycles();
        {
            char ok[48];
            snprintf(ok, sizeof(ok), "EDGEC OK %lu\n", (unsigned long)(t1 - t0));
            say(ok);
        }
        send_hex(outputs, EDGEC_OUTPUT_BYTES);
        say("END\n");
    }
}
