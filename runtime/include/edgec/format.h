/*
 * edgec/format.h -- the byte layout of a .edgec file (IR version 1).
 *
 * Everything is little-endian. A file is:
 *
 *   offset 0   edgec_file_header      (64 bytes)
 *   ...        section bodies, each starting at an offset aligned to 64
 *   table      edgec_section_entry[section_count] at header.section_table_offset
 *
 * header.crc32 is the CRC-32 (IEEE 802.3, the zlib polynomial) of bytes
 * [64, file_size): everything after the header. Readers check it unless told
 * not to (verify_checksum=False, trusted flash images, fuzzing).
 *
 * Sections (id -> body). Unknown ids are skipped, so newer writers can add
 * sections; ids 16..31 are reserved below for features that land later.
 *
 *   STRINGS     bytes; names are (offset, length) pairs into it, not NUL-terminated
 *   TENSORS     edgec_tensor_record[n]
 *   OPS         edgec_op_record[n], in execution (topological) order
 *   INDICES     int32[n]; op inputs/outputs and graph inputs/outputs index into
 *               TENSORS through it (-1 = optional input absent)
 *   PARAMS      bytes; each op's parameter struct (edgec_<op>_params below),
 *               4-byte aligned
 *   CONSTANTS   bytes; constant tensor data, each tensor 64-byte aligned relative to
 *               the file start, so weights are used in place from mmap or flash
 *   GRAPH       edgec_graph_record
 *   METADATA    UTF-8 JSON: producer, source model hash, input/output names,
 *               preprocessing (mean, std, channel order, layout), labels. The C core
 *               never parses it.
 *   LOWBIT_WEIGHTS  (optional) bytes; low-bit weight blobs (edgec_lowbit_header below),
 *               each 64-byte aligned; their uint8 tensors have storage CONSTANT and point
 *               here instead of into CONSTANTS
 *
 * Tensor storage (edgec_tensor_record.storage):
 *   CONSTANT  data at file offset `offset`, `nbytes` long
 *   ARENA     data at arena offset `offset`; the converter's memory planner chose it
 *   IO        a graph input or output: bound to caller memory at each invoke (zero copy)
 *
 * Shapes: rank <= EDGEC_MAX_RANK, dims > 0 (0-sized tensors are rejected).
 * Activations are NHWC. Conv weights are [OC, KH, KW, IC/groups]; depthwise weights
 * are [1, KH, KW, C*multiplier]; fully-connected weights are [N, K] (TFLite layout).
 *
 * Quantized tensors (int8, issue "int8 end to end") carry scale and zero point per
 * tensor; per-channel scales live in constant tensors that ops take as inputs, and
 * requantization multipliers/shifts are computed by the converter (never at runtime).
 */
#ifndef EDGEC_FORMAT_H
#define EDGEC_FORMAT_H

#include <stdint.h>

#define EDGEC_MAGIC 0x43474445u /* "EDGC" read as a little-endian u32 */
#define EDGEC_VERSION_MAJOR 1
#define EDGEC_VERSION_MINOR 0
#define EDGEC_HEADER_SIZE 64
#define EDGEC_ALIGN 64
#define EDGEC_MAX_RANK 6
#define EDGEC_MAX_OP_INPUTS 64

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define EDGEC_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#define EDGEC_STATIC_ASSERT(c, m) typedef char edgec_static_assert_##m[(c) ? 1 : -1]
#endif

typedef struct {
    uint32_t magic;                /* EDGEC_MAGIC */
    uint16_t version_major;        /* readers refuse a different major */
    uint16_t version_minor;        /* readers accept any minor (new sections are skippable) */
    uint32_t flags;                /* reserved, 0 */
    uint32_t header_size;          /* EDGEC_HEADER_SIZE */
    uint64_t file_size;            /* total bytes, header included */
    uint64_t section_table_offset; /* edgec_section_entry[section_count] */
    uint32_t section_count;
    uint32_t crc32;                /* of bytes [header_size, file_size) */
    uint8_t reserved[24];
} edgec_file_header;
EDGEC_STATIC_ASSERT(sizeof(edgec_file_header) == 64, header_size);

typedef struct {
    uint32_t id;     /* edgec_section_id */
    uint32_t flags;  /* reserved, 0 */
    uint64_t offset; /* from the start of the file */
    uint64_t size;   /* bytes */
} edgec_section_entry;
EDGEC_STATIC_ASSERT(sizeof(edgec_section_entry) == 24, section_entry_size);

typedef enum {
    EDGEC_SECTION_STRINGS = 1,
    EDGEC_SECTION_TENSORS = 2,
    EDGEC_SECTION_OPS = 3,
    EDGEC_SECTION_INDICES = 4,
    EDGEC_SECTION_PARAMS = 5,
    EDGEC_SECTION_CONSTANTS = 6,
    EDGEC_SECTION_GRAPH = 7,
    EDGEC_SECTION_METADATA = 8,
    /* reserved for later features; readers that do not know them skip them */
    EDGEC_SECTION_LOWBIT_WEIGHTS = 16,   /* int4/int3/int2 bit planes, binary, LUT GEMM */
    EDGEC_SECTION_REPACKED_WEIGHTS = 17, /* arch-specific weight layouts */
    EDGEC_SECTION_PATCH_PLAN = 18,       /* MCUNetV2 patch-based schedule */
    EDGEC_SECTION_CUDA_DATA = 19,        /* CUDA fatbin and launch data */
    EDGEC_SECTION_SPARSE_WEIGHTS = 20,   /* block-sparse CSR weights */
    EDGEC_SECTION_SPLIT = 21             /* split-computing cut and codec */
} edgec_section_id;

typedef enum {
    EDGEC_DTYPE_FLOAT32 = 1,
    EDGEC_DTYPE_INT8 = 2,
    EDGEC_DTYPE_UINT8 = 3,
    EDGEC_DTYPE_INT16 = 4,
    EDGEC_DTYPE_INT32 = 5,
    EDGEC_DTYPE_INT64 = 6,
    EDGEC_DTYPE_BOOL = 7,
    EDGEC_DTYPE_FLOAT16 = 8
} edgec_dtype;

typedef enum {
    EDGEC_STORAGE_CONSTANT = 0,
    EDGEC_STORAGE_ARENA = 1,
    EDGEC_STORAGE_IO = 2
} edgec_storage;

typedef struct {
    uint32_t name_offset; /* into STRINGS */
    uint32_t name_length;
    uint8_t dtype;        /* edgec_dtype */
    uint8_t rank;         /* 0..EDGEC_MAX_RANK */
    uint8_t storage;      /* edgec_storage */
    uint8_t flags;        /* reserved, 0 */
    int32_t dims[EDGEC_MAX_RANK]; /* unused trailing dims are 1 */
    uint32_t reserved;    /* 0; keeps offset 8-byte aligned */
    uint64_t offset;      /* file offset (CONSTANT) or arena offset (ARENA); 0 for IO */
    uint64_t nbytes;      /* must equal product(dims) * dtype size */
    float scale;          /* quantization (per tensor); 0 = not quantized */
    int32_t zero_point;
} edgec_tensor_record;
EDGEC_STATIC_ASSERT(sizeof(edgec_tensor_record) == 64, tensor_record_size);

typedef struct {
    uint16_t opcode;         /* EDGEC_OP_* from ops.def */
    uint16_t flags;          /* reserved, 0 */
    uint16_t input_count;
    uint16_t output_count;
    uint32_t inputs_index;   /* first entry in INDICES; inputs then outputs follow */
    uint32_t params_offset;  /* into PARAMS, 4-byte aligned */
    uint32_t params_size;    /* must equal sizeof(edgec_<op>_params) */
    uint32_t name_offset;    /* node name in the source model, into STRINGS */
    uint32_t name_length;
    uint32_t reserved;
} edgec_op_record;
EDGEC_STATIC_ASSERT(sizeof(edgec_op_record) == 32, op_record_size);

typedef struct {
    uint64_t arena_bytes;    /* planned activation arena (excludes per-op scratch) */
    uint32_t input_count;
    uint32_t output_count;
    uint32_t inputs_index;   /* into INDICES: input tensor ids, then output tensor ids */
    uint32_t reserved[3];
} edgec_graph_record;
EDGEC_STATIC_ASSERT(sizeof(edgec_graph_record) == 32, graph_record_size);

/*
 * Op parameter structs. Contract: every field is int32_t or float (4 bytes), so the
 * Python side (runtime/format.py) reads these definitions from this header and packs
 * the same bytes. Float activation clamps act_min/act_max apply to float outputs;
 * q_min/q_max clamp quantized outputs (fused activation in the output's integer domain).
 */
typedef struct {
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t groups;              /* 1 for dense conv; weights are [OC,KH,KW,IC/groups] */
    float act_min, act_max;
    int32_t q_min, q_max;
} edgec_conv2d_params;

typedef struct {
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t depth_multiplier;
    float act_min, act_max;
    int32_t q_min, q_max;
} edgec_depthwise_conv2d_params;

typedef struct {
    float act_min, act_max;
    int32_t q_min, q_max;
    /* int8 requantization: 0 integer (multiplier, shift inputs 3, 4); 1 TFLite's
     * per-channel float path: round(acc * double(x_scale) * double(w_scale[n]) /
     * double(y_scale)) in double, input 3 = w_scale float32[N] */
    int32_t requant;
} edgec_fully_connected_params;

typedef struct {
    int32_t transpose_a, transpose_b;
} edgec_batch_matmul_params;

typedef struct {
    float act_min, act_max;      /* fused activation clamp */
    int32_t q_min, q_max;
    /* int8 requantization (TFLite's ADD/SUB/MUL parameters, computed by the converter):
     * ADD/SUB scale each input by (multiplier, shift) after << left_shift, the output by
     * out_multiplier/out_shift; MUL uses only out_multiplier/out_shift. */
    int32_t left_shift;
    int32_t in1_multiplier, in1_shift;
    int32_t in2_multiplier, in2_shift;
    int32_t out_multiplier, out_shift;
} edgec_binary_params;           /* ADD SUB MUL DIV MAXIMUM MINIMUM POW PRELU */

typedef struct {
    float min, max;
} edgec_clamp_params;            /* RELU, RELU6, RELU_N1_TO_1, Clip */

typedef struct {
    float alpha;
} edgec_leaky_relu_params;

typedef struct {
    int32_t approximate;         /* 0: erf form, 1: tanh form */
} edgec_gelu_params;

typedef struct {
    int32_t kind;                /* edgec_unary_kind */
    float alpha, beta;           /* HARD_SIGMOID: clamp(alpha * x + beta, 0, 1) */
} edgec_unary_params;            /* SIGMOID TANH HARD_SWISH EXP LOG SQRT ... via kind */

typedef struct {
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t count_include_pad;   /* AVG only: divide by the full window (ONNX option) */
    float act_min, act_max;
    int32_t q_min, q_max;
} edgec_pool2d_params;

typedef struct {
    int32_t axes_mask;           /* bit i set = reduce over axis i of the input */
    int32_t kind;                /* edgec_reduce_kind */
    /* int8 MEAN, TFLite's reference paths (chosen by the converter, OPS.md):
     * 0 integer mean: (sum - x_zp * count) requantized by (q_multiplier, q_shift), which
     *   already include the 1/count; 1 same quantization in and out: sum / count */
    int32_t q_mode;
    int32_t q_multiplier, q_shift;
} edgec_reduce_params;

typedef struct {
    int32_t pads[2 * EDGEC_MAX_RANK]; /* (before, after) per input axis */
    int32_t mode;                /* 0 constant, 1 reflect, 2 edge */
    float value;                 /* constant mode fill (quantized models: zero point) */
} edgec_pad_params;

typedef struct {
    int32_t axis;
} edgec_concat_params;

typedef struct {
    int32_t perm[EDGEC_MAX_RANK];
} edgec_transpose_params;

typedef struct {
    int32_t axis;
    float beta;
} edgec_softmax_params;

typedef struct {
    int32_t mode;                /* 0 nearest, 1 bilinear */
    int32_t coord;               /* edgec_resize_coord */
    int32_t nearest;             /* edgec_resize_nearest */
} edgec_resize_params;

typedef struct {
    int32_t block_size;
    int32_t mode;                /* 0 DCR (TFLite, ONNX default), 1 CRD */
} edgec_depth_to_space_params;

typedef struct {
    int32_t begin[EDGEC_MAX_RANK];   /* first input index per axis */
    int32_t step[EDGEC_MAX_RANK];    /* stride per axis (nonzero; negative walks backwards) */
} edgec_slice_params;                /* output dims come from the output tensor */

typedef struct {
    int32_t round_half_even;     /* 0: half away from zero (TFLite), 1: half to even (ONNX) */
} edgec_quantize_params;         /* same size as edgec_none_params: older files read as 0 */

/* SPARSE_FULLY_CONNECTED: FULLY_CONNECTED (and 1x1, stride-1, unpadded CONV2D: x [..., K]
 * -> y [..., N] with M = x.count / K rows) whose [N, K] weights are block-sparse.
 * Block-sparse weight format (issue #7; runtime/sparse.py has the _ref pack/unpack):
 *   blocks are block_h x block_w = 1x4 (one output, 4 consecutive inputs) or 4x1 (4
 *   consecutive outputs, one input); N % block_h == 0 and K % block_w == 0. The block grid
 *   [N / block_h, K / block_w] is stored as CSR of its nonzero blocks:
 *     input 1 values  [nnzb, block_h * block_w], x's dtype (fp32 or int8), row-major in a block
 *     input 2 cols    int32[nnzb]: block column, strictly increasing within a block row
 *     input 3 rowptr  int32[N / block_h + 1]: rowptr[0] = 0, non-decreasing, last = nnzb
 *   then input 4 bias (float32[N] / int32[N], optional) and for int8 inputs 5, 6
 *   multiplier, shift int32[N] (as CONV2D int8). The three CSR tensors live in the
 *   SPARSE_WEIGHTS section (constants by another name: same 64-byte alignment, same
 *   tensor records); prepare validates them, so a malformed CSR fails at load.
 * Semantics: exactly FULLY_CONNECTED with the unpacked dense weights; int8 is bit-exact
 * with the dense int8 kernels (zero weights add nothing to the int32 sum). */
typedef struct {
    int32_t block_h, block_w;
    float act_min, act_max;
    int32_t q_min, q_max;
    int32_t requant;             /* int8, as FULLY_CONNECTED: 0 integer (inputs 5, 6 multiplier,
                                  * shift); 1 TFLite's per-channel double path, input 5 =
                                  * w_scale float32[N], input 6 absent */
} edgec_sparse_fully_connected_params;

/* BINARY_CONV2D (issue #7): XNOR-popcount convolution of binarized activations and weights.
 *   input 0  x float32 NHWC [N,H,W,C], binarized as sign(x): +1 (x > 0), -1 (x < 0),
 *            0 (x == 0 or NaN) -- ONNX Sign; taps outside the image are 0 (zero padding of
 *            the binarized input: what ONNX Conv(Sign(x)) with pads computes)
 *   input 1  weight sign bits uint8 [OC, KH, KW, CB], CB = 8 * ceil(C / 64): per tap, C bits
 *            (bit b of byte i: channel 8i + b is -1; 0 bits: +1), zero bits after C; read as
 *            little-endian 64-bit words (runtime/bnn.py has the _ref pack/unpack)
 *   input 2  scale float32[OC] (per-channel |alpha|), input 3 bias float32[OC] (optional)
 *   y[n,oy,ox,oc] = clamp(float(acc) * scale[oc] + bias[oc]), acc = sum over in-image taps
 *   and channels of sign(x) * w: an exact integer, = nonzero - 2 * popcount(nz & (neg ^ w)).
 * Binary fully-connected layers run as a 1x1 BINARY_CONV2D on x reshaped to [M, 1, 1, K]. */
typedef struct {
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    float act_min, act_max;
} edgec_binary_conv2d_params;
/* LUT_FULLY_CONNECTED (T-MAC table-lookup GEMM over low-bit weights): inputs x float32
 * [..., K], w = one low-bit blob (uint8 CONSTANT, edgec_lowbit_header below), optional bias
 * float32 [N]; output float32 [..., N]. x is quantized per row to int8 inside the op; exact
 * semantics in runtime/lowbit.py (lut_fully_connected_ref) and OPS.md. bits, group_size, n
 * and k repeat the blob's header and must equal it. */
typedef struct {
    int32_t bits, group_size, n, k;
    float act_min, act_max;
    /* 0: exact int16 tables (default); 1: int8 tables, T-MAC's fast mode: per weight group
     * each table entry is rounded to T / 2^s (ties to even) with the smallest s that fits
     * int8, and the group's sum is shifted back by s (runtime/lowbit.py) */
    int32_t table_mode;
} edgec_lut_fully_connected_params;

/*
 * Low-bit weights (one blob per weight tensor in EDGEC_SECTION_LOWBIT_WEIGHTS: a uint8
 * CONSTANT tensor, 64-aligned and used in place; the reader bounds-checks it against that
 * section, the op's prepare checks the blob itself). w[n, k] = scale[n, g] * (q[n, k] - zero[n, g]),
 * g = k / group_size, q in [0, 2^bits). With n_pad = N rounded up to 32, k8 = K rounded
 * up to 8, kp = k8 / 8 and groups = ceil(K / group_size), a blob is, in order:
 *   edgec_lowbit_header                           32 bytes
 *   planes  uint8 [n_pad/32][kp][bits][32]        byte j of (block nb, k pair p, plane b) =
 *           idx(nb*32 + j, 8p) | idx(nb*32 + j, 8p + 4) << 4, where
 *           idx(n, k0) = sum_{t<4} ((q[n, k0 + t] >> b) & 1) << t   (q = 0 past N and K)
 *   scales  uint16 [n_pad/32][groups][32]         IEEE half floats (0 past N)
 *   zeros   uint8  [n_pad/32][groups][32]         zero points, < 2^bits
 * nbytes = 32 + n_pad*k8*bits/8 + 3*n_pad*groups. Each 4-bit idx selects one of 16 partial
 * sums of 4 activations (the T-MAC table), the two nibbles of a byte index the tables of
 * two consecutive groups of 4, and 32 bytes fill one 256-bit shuffle (two 128-bit ones).
 */
#define EDGEC_LOWBIT_MAGIC 0x3157424Cu /* "LBW1" read as a little-endian u32 */
typedef struct {
    uint32_t magic;       /* EDGEC_LOWBIT_MAGIC */
    int32_t bits;         /* 1..4 (the converter writes 2, 3, 4) */
    int32_t group_size;   /* 32, 64 or 128 */
    int32_t n, k;         /* logical weight shape [N, K] */
    int32_t reserved[3];  /* 0 */
} edgec_lowbit_header;
EDGEC_STATIC_ASSERT(sizeof(edgec_lowbit_header) == 32, lowbit_header_size);

typedef struct {
    int32_t unused;
} edgec_none_params;             /* RESHAPE, QUANTIZE, DEQUANTIZE, ... */

typedef enum {
    EDGEC_UNARY_SIGMOID = 0,
    EDGEC_UNARY_TANH = 1,
    EDGEC_UNARY_HARD_SWISH = 2,
    EDGEC_UNARY_EXP = 3,
    EDGEC_UNARY_LOG = 4,
    EDGEC_UNARY_SQRT = 5,
    EDGEC_UNARY_RSQRT = 6,
    EDGEC_UNARY_ABS = 7,
    EDGEC_UNARY_NEG = 8,
    EDGEC_UNARY_FLOOR = 9,
    EDGEC_UNARY_CEIL = 10,
    EDGEC_UNARY_HARD_SIGMOID = 11 /* uses alpha, beta */
} edgec_unary_kind;

typedef enum {
    EDGEC_REDUCE_MEAN = 0,
    EDGEC_REDUCE_SUM = 1,
    EDGEC_REDUCE_MAX = 2,
    EDGEC_REDUCE_MIN = 3
} edgec_reduce_kind;

typedef enum {
    EDGEC_RESIZE_ASYMMETRIC = 0,      /* src = dst * scale (TFLite default) */
    EDGEC_RESIZE_ALIGN_CORNERS = 1,
    EDGEC_RESIZE_HALF_PIXEL = 2,      /* src = (dst + 0.5) * scale - 0.5 */
    EDGEC_RESIZE_PYTORCH_HALF_PIXEL = 3
} edgec_resize_coord;

typedef enum {
    EDGEC_RESIZE_ROUND_PREFER_FLOOR = 0,
    EDGEC_RESIZE_ROUND_PREFER_CEIL = 1,
    EDGEC_RESIZE_FLOOR = 2,
    EDGEC_RESIZE_CEIL = 3
} edgec_resize_nearest;

#endif /* EDGEC_FORMAT_H */
