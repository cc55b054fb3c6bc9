/* Internal: the validated view of a .edgec image, shared by the reader and the
 * interpreter. Every pointer points into the caller's bytes; nothing is copied. */
#ifndef EDGEC_CORE_MODEL_H
#define EDGEC_CORE_MODEL_H

#include "edgec/kernel.h"

struct edgec_model {
    const uint8_t *data;
    uint64_t size;
    const char *strings;
    uint64_t strings_size;
    const edgec_tensor_record *tensors;
    int32_t tensor_count;
    const edgec_op_record *ops;
    int32_t op_count;
    const int32_t *indices;
    uint64_t index_count;
    const uint8_t *params;
    uint64_t params_size;
    const edgec_graph_record *graph;
    const int32_t *graph_inputs;  /* graph->input_count tensor ids */
    const int32_t *graph_outputs; /* graph->output_count tensor ids */
};

typedef struct {
    const char *name;
    int32_t code;
    uint32_t params_size;
    edgec_prepare_fn prepare;
    edgec_eval_fn eval;
} edgec_op_entry;

/* The registry entry for an opcode, or NULL when this build does not have the op. */
const edgec_op_entry *edgec_op_lookup(int32_t code);

#endif
