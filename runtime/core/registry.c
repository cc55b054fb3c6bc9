/* The op table, generated from the one registry list (ops.def). An MCU build that
 * defines EDGEC_SELECTED_OPS compiles in only the ops for which EDGEC_USE_<NAME> is
 * defined, so unused kernels are not linked. */
#include "model.h"

#define EDGEC_MAX_OPCODE 64

#ifdef EDGEC_SELECTED_OPS
#include "edgec_selected_ops.h" /* generated: #define EDGEC_USE_<NAME> 1 per op used */
#define EDGEC_ENABLED(NAME) defined(EDGEC_USE_##NAME)
#endif

static const edgec_op_entry edgec_op_table[EDGEC_MAX_OPCODE] = {
#ifndef EDGEC_SELECTED_OPS
#define EDGEC_OP(NAME, CODE, PARAMS, KERNEL)                                              \
    [CODE] = {#NAME, CODE, (uint32_t)sizeof(edgec_##PARAMS##_params), edgec_##KERNEL##_prepare, \
              edgec_##KERNEL##_eval},
#include "edgec/ops.def"
#undef EDGEC_OP
#else
#include "edgec_selected_table.h" /* generated entries for the selected ops */
#endif
};

const edgec_op_entry *edgec_op_lookup(int32_t code) {
    if (code <= 0 || code >= EDGEC_MAX_OPCODE || !edgec_op_table[code].prepare) return 0;
    return &edgec_op_table[code];
}

/* Names are known even for ops a selective build left out, for error messages. */
const char *edgec_op_name(int32_t code) {
    switch (code) {
#define EDGEC_OP(NAME, CODE, PARAMS, KERNEL) \
    case CODE: return #NAME;
#include "edgec/ops.def"
#undef EDGEC_OP
    default: return 0;
    }
}
