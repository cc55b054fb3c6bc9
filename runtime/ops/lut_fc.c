/* LUT_FULLY_CONNECTED: fp32 x [..., K] times low-bit weights (T-MAC LUT GEMM, lut_gemm.h)
 * plus bias, fused clamp; fp32 y [..., N]. FULLY_CONNECTED, MatMul with constant weights
 * and 1x1 convs (NHWC rows) convert to it under --quantize int4/int3/int2.
 *
 * aux: [0] M, [1] rows per tile (MT), [2] weight blocks (N/32 rounded up), [3] block kernel
 * (0 reference, 1 AVX2, 2 NEON). A row of work is (tile of MT activation rows, weight block),
 * tile-major: a batch-1 layer splits over weight blocks, a conv over tiles; an eval call
 * prepares a tile's tables once for its consecutive blocks (the batched M > 1 path). */
#include <string.h>

#include "common.h"
#include "lut_gemm.h"

#define LUT_TILE_ROWS 8
#define LUT_TILE_BYTES (256 * 1024) /* table memory per tile: fits L2 with a weight block */

static edgec_lut_block_fn block_fn(int64_t id) {
#if defined(EDGEC_LUT_HAVE_AVX2)
    if (id == 1) return edgec_lut_block_avx2;
#endif
#if defined(EDGEC_LUT_HAVE_NEON)
    if (id == 2) return edgec_lut_block_neon;
#endif
    (void)id;
    return edgec_lut_block_ref;
}

static int64_t block_id(edgec_lut_block_fn f) {
#if defined(EDGEC_LUT_HAVE_AVX2)
    if (f == edgec_lut_block_avx2) return 1;
#endif
#if defined(EDGEC_LUT_HAVE_NEON)
    if (f == edgec_lut_block_neon) return 2;
#endif
    (void)f;
    return 0;
}

edgec_status edgec_lut_fully_connected_prepare(edgec_node *node, edgec_error *err) {
    const edgec_lut_fully_connected_params *p = (const edgec_lut_fully_connected_params *)node->params;
    const edgec_tensor *x, *w, *b, *y;
    edgec_lut_weights lw;
    char msg[200];
    int64_t m, mt, row_bytes;
    edgec_status s;
    if ((s = edgec_ops_check_node(node, 2, 3, 1, err)) || (s = edgec_ops_check_act(p->act_min, p->act_max, err)))
        return s;
    x = node->inputs[0];
    w = node->inputs[1];
    b = node->input_count > 2 ? node->inputs[2] : 0;
    y = node->outputs[0];
    if (x->dtype != EDGEC_DTYPE_FLOAT32 || y->dtype != EDGEC_DTYPE_FLOAT32 || (b && b->dtype != EDGEC_DTYPE_FLOAT32))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "x, bias and output must be float32 (x %s, output %s)",
                          edgec_dtype_name(x->dtype), edgec_dtype_name(y->dtype));
    if (w->dtype != EDGEC_DTYPE_UINT8 || w->storage != EDGEC_STORAGE_CONSTANT || !w->data)
        return edgec_fail(err, EDGEC_ERR_INVALID, "weights must be a constant uint8 low-bit blob (got %s, storage %d)",
                          edgec_dtype_name(w->dtype), (int)w->storage);
    if (edgec_lut_weights_view(w->data, w->nbytes, &lw, msg, sizeof(msg)))
        return edgec_fail(err, EDGEC_ERR_INVALID, "%s", msg);
    if (lw.bits != p->bits || lw.group != p->group_size || lw.n != p->n || lw.k != p->k)
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "params (bits %d, group %d, N %d, K %d) disagree with the weights' header "
                          "(bits %d, group %d, N %d, K %d)", (int)p->bits, (int)p->group_size, (int)p->n,
                          (int)p->k, (int)lw.bits, (int)lw.group, (int)lw.n, (int)lw.k);
    if (p->table_mode != 0 && p->table_mode != 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "table_mode %d: 0 (exact int16 tables) or 1 (int8 tables)",
                          (int)p->table_mode);
    lw.table_mode = p->table_mode;
    if ((int64_t)x->count % lw.k)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input of %llu elements is not a multiple of K=%d",
                          (unsigned long long)x->count, (int)lw.k);
    m = (int64_t)x->count / lw.k;
    if ((int64_t)y->count != m * lw.n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output has %llu elements, expected M=%lld x N=%d",
                          (unsigned long long)y->count, (long long)m, (int)lw.n);
    if (b && (int64_t)b->count != lw.n)
        return edgec_fail(err, EDGEC_ERR_INVALID, "bias has %llu values for N=%d", (unsigned long long)b->count,
                          (int)lw.n);
    row_bytes = (int64_t)edgec_lut_row_bytes(&lw);
    mt = LUT_TILE_BYTES / row_bytes;
    mt = mt < 1 ? 1 : mt > LUT_TILE_ROWS ? LUT_TILE_ROWS : mt;
    mt = mt > m ? m : mt;
    node->aux[0] = m;
    node->aux[1] = mt;
    node->aux[2] = lw.n_pad / EDGEC_LUT_NB;
    node->aux[3] = block_id(edgec_lut_block_select());
    node->scratch_bytes = (size_t)(mt * row_bytes) + (size_t)mt * sizeof(float) + EDGEC_LUT_NB * sizeof(float) + 64;
    return edgec_ops_set_rows(node, (m + mt - 1) / mt * node->aux[2], err);
}

void edgec_lut_fully_connected_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_lut_fully_connected_params *p = (const edgec_lut_fully_connected_params *)node->params;
    const int64_t M = node->aux[0], MT = node->aux[1], blocks = node->aux[2];
    const edgec_lut_block_fn fn = block_fn(node->aux[3]);
    const float *x = (const float *)node->inputs[0]->data;
    const float *bias = node->input_count > 2 && node->inputs[2] ? (const float *)node->inputs[2]->data : 0;
    float *y = (float *)node->outputs[0]->data;
    edgec_lut_weights w;
    uint8_t *tables = (uint8_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    size_t rb;
    float *sx, *acc;
    int64_t tile = -1, m0 = 0, mc = 0, r;
    edgec_lut_weights_bind(node->inputs[1]->data, &w);
    w.table_mode = p->table_mode;
    rb = edgec_lut_row_bytes(&w);
    sx = (float *)(void *)(tables + (size_t)MT * rb);
    acc = sx + MT;
    for (r = row_begin; r < row_end; ++r) {
        const int64_t t = r / blocks, nb = r - t * blocks;
        int64_t i, j;
        if (t != tile) {
            tile = t;
            m0 = t * MT;
            mc = M - m0 < MT ? M - m0 : MT;
            for (i = 0; i < mc; ++i) {
                const float *xr = x + (m0 + i) * (ptrdiff_t)w.k;
#if defined(EDGEC_LUT_HAVE_AVX2)
                if (node->aux[3] == 1) {
                    edgec_lut_prepare_row_avx2(&w, xr, tables + (size_t)i * rb, &sx[i]);
                    continue;
                }
#endif
                edgec_lut_prepare_row(&w, xr, tables + (size_t)i * rb, &sx[i]);
            }
        }
        for (i = 0; i < mc; ++i) {
            float *yr = y + (m0 + i) * (ptrdiff_t)w.n;
            fn(&w, (int32_t)nb, tables + (size_t)i * rb, acc);
            for (j = 0; j < EDGEC_LUT_NB && nb * EDGEC_LUT_NB + j < w.n; ++j) {
                const int64_t n = nb * EDGEC_LUT_NB + j;
                float v = acc[j] * sx[i];
                if (bias) v = v + bias[n];
                yr[n] = edgec_clampf(v, p->act_min, p->act_max);
            }
        }
    }
}
