/* BINARY_CONV2D: XNOR-popcount convolution (semantics in format.h, internals in
 * binary_conv.h). Rows are output rows (n, oy). Each eval call binarizes the input rows its
 * output rows read (once each, into scratch), then per output pixel gathers the in-image
 * taps, takes the popcount dots of all output channels from the chosen variant and scales:
 *   acc = nonzero - 2 * d[oc];  y = clamp(float(acc) * scale[oc] + bias[oc]). */
#include <string.h>

#include "binary_conv.h"
#include "common.h"

enum { B_N, B_H, B_W, B_C, B_OH, B_OW, B_OC, B_KH, B_KW, B_CW, B_OCP, B_VAR };

static int32_t popcount64(uint64_t v) {
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (int32_t)((v * 0x0101010101010101ull) >> 56);
}

void edgec_bconv_dots_ref(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                          const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense) {
    (void)dense;
    int32_t o, t, c;
    for (o = 0; o < oc_pad; ++o) {
        int32_t sum = 0;
        for (t = 0; t < ntaps; ++t)
            for (c = 0; c < cw; ++c)
                sum += popcount64(px[t][cw + c] & (px[t][c] ^ w[((ptrdiff_t)tap[t] * cw + c) * oc_pad + o]));
        d[o] = sum;
    }
}

void edgec_bconv_binarize_ref(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px) {
    int32_t p, i;
    for (p = 0; p < n; ++p, x += c, px += 2 * cw) {
        memset(px, 0, sizeof(uint64_t) * 2 * (size_t)cw);
        for (i = 0; i < c; ++i) {
            const uint64_t bit = (uint64_t)1 << (i & 63);
            if (x[i] < 0.0f) px[i >> 6] |= bit;
            if (x[i] < 0.0f || x[i] > 0.0f) px[cw + (i >> 6)] |= bit; /* NaN and 0: 0 */
        }
    }
}

void edgec_bconv_finish_ref(const int32_t *d, int32_t nonzero, const float *scale, const float *bias, float lo,
                            float hi, int32_t n, float *y) {
    int32_t oc;
    for (oc = 0; oc < n; ++oc) {
        const float v = (float)(nonzero - 2 * d[oc]) * scale[oc];
        y[oc] = edgec_clampf(bias ? v + bias[oc] : v, lo, hi);
    }
}

#if !defined(__x86_64__) || !(defined(__GNUC__) || defined(__clang__))
edgec_bconv_finish_fn edgec_bconv_finish(int variant) { (void)variant; return edgec_bconv_finish_ref; }
#endif

#if !defined(__aarch64__) && !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
int edgec_bconv_best(void) { return EDGEC_BCONV_REF; }
edgec_bconv_dots_fn edgec_bconv_dots(int variant) { (void)variant; return edgec_bconv_dots_ref; }
void edgec_bconv_binarize(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px, int variant) {
    (void)variant;
    edgec_bconv_binarize_ref(x, n, c, cw, px);
}
#endif

static void pack_weights(edgec_node *node) {
    const int64_t *a = node->aux;
    const int32_t taps = (int32_t)(a[B_KH] * a[B_KW]), cw = (int32_t)a[B_CW], oc = (int32_t)a[B_OC];
    const int32_t ocp = (int32_t)a[B_OCP];
    const uint8_t *w = node->inputs[1]->data;
    uint64_t *dst = (uint64_t *)node->packed;
    int32_t t, c, o, b;
    for (t = 0; t < taps; ++t)
        for (c = 0; c < cw; ++c)
            for (o = 0; o < ocp; ++o) {
                uint64_t v = 0;
                if (o < oc)
                    for (b = 0; b < 8; ++b) /* little-endian bytes, on any host */
                        v |= (uint64_t)w[(((ptrdiff_t)o * taps + t) * cw + c) * 8 + b] << (8 * b);
                dst[((ptrdiff_t)t * cw + c) * ocp + o] = v;
            }
}

edgec_status edgec_binary_conv2d_prepare(edgec_node *node, edgec_error *err) {
    const edgec_binary_conv2d_params *p = (const edgec_binary_conv2d_params *)node->params;
    const edgec_tensor *x, *w, *sc, *b, *y;
    int64_t oh, ow, cw, ocp;
    edgec_status st;
    if ((st = edgec_ops_check_node(node, 3, 4, 1, err)) || (st = edgec_ops_check_act(p->act_min, p->act_max, err)))
        return st;
    x = node->inputs[0];
    w = node->inputs[1];
    sc = node->inputs[2];
    b = node->input_count > 3 ? node->inputs[3] : 0;
    y = node->outputs[0];
    if (x->dtype != EDGEC_DTYPE_FLOAT32 || y->dtype != EDGEC_DTYPE_FLOAT32 || sc->dtype != EDGEC_DTYPE_FLOAT32 ||
        (b && b->dtype != EDGEC_DTYPE_FLOAT32) || w->dtype != EDGEC_DTYPE_UINT8)
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "BINARY_CONV2D needs float32 input, scale, bias and output "
                          "and uint8 sign-bit weights");
    if (x->rank != 4 || y->rank != 4 || w->rank != 4)
        return edgec_fail(err, EDGEC_ERR_INVALID, "input, weights and output must be rank 4 (NHWC, [OC,KH,KW,CB])");
    cw = (x->dims[3] + 63) / 64;
    if (w->dims[3] != 8 * cw || w->dims[0] != y->dims[3] || (int64_t)sc->count != w->dims[0] ||
        (b && (int64_t)b->count != w->dims[0]))
        return edgec_fail(err, EDGEC_ERR_INVALID,
                          "weights [%d,%d,%d,%d], scale[%llu] and output channels %d do not fit %d input channels "
                          "(expected [OC,KH,KW,%lld])", (int)w->dims[0], (int)w->dims[1], (int)w->dims[2],
                          (int)w->dims[3], (unsigned long long)sc->count, (int)y->dims[3], (int)x->dims[3],
                          (long long)(8 * cw));
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 || p->pad_top < 0 ||
        p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 || p->pad_top > (1 << 20) ||
        p->pad_bottom > (1 << 20) || p->pad_left > (1 << 20) || p->pad_right > (1 << 20) ||
        p->dilation_h > (1 << 20) || p->dilation_w > (1 << 20))
        return edgec_fail(err, EDGEC_ERR_INVALID, "strides and dilations must be >= 1 and pads >= 0 (and < 2^20)");
    oh = ((int64_t)x->dims[1] + p->pad_top + p->pad_bottom - (int64_t)p->dilation_h * (w->dims[1] - 1) - 1);
    ow = ((int64_t)x->dims[2] + p->pad_left + p->pad_right - (int64_t)p->dilation_w * (w->dims[2] - 1) - 1);
    if (oh < 0 || ow < 0 || y->dims[0] != x->dims[0] || y->dims[1] != oh / p->stride_h + 1 ||
        y->dims[2] != ow / p->stride_w + 1)
        return edgec_fail(err, EDGEC_ERR_INVALID, "output [%d,%d,%d,%d] does not fit input [%d,%d,%d,%d], kernel %dx%d, "
                          "strides, dilations and pads", (int)y->dims[0], (int)y->dims[1], (int)y->dims[2],
                          (int)y->dims[3], (int)x->dims[0], (int)x->dims[1], (int)x->dims[2], (int)x->dims[3],
                          (int)w->dims[1], (int)w->dims[2]);
    if ((int64_t)w->dims[1] * w->dims[2] * x->dims[3] > (1 << 24))
        return edgec_fail(err, EDGEC_ERR_UNSUPPORTED, "%lld taps per output exceed 2^24 (float32 exactness)",
                          (long long)w->dims[1] * w->dims[2] * x->dims[3]);
    ocp = (w->dims[0] + EDGEC_BCONV_OC_BLOCK - 1) / EDGEC_BCONV_OC_BLOCK * EDGEC_BCONV_OC_BLOCK;
    node->aux[B_N] = x->dims[0];
    node->aux[B_H] = x->dims[1];
    node->aux[B_W] = x->dims[2];
    node->aux[B_C] = x->dims[3];
    node->aux[B_OH] = y->dims[1];
    node->aux[B_OW] = y->dims[2];
    node->aux[B_OC] = w->dims[0];
    node->aux[B_KH] = w->dims[1];
    node->aux[B_KW] = w->dims[2];
    node->aux[B_CW] = cw;
    node->aux[B_OCP] = ocp;
    node->aux[B_VAR] = edgec_bconv_best();
    node->packed_bytes = (size_t)(w->dims[1] * w->dims[2] * cw * ocp) * sizeof(uint64_t);
    node->pack = pack_weights;
    /* binarized input, one "done" byte per input row, taps and dots of one pixel */
    node->scratch_bytes = (size_t)x->dims[0] * x->dims[1] * x->dims[2] * 2 * (size_t)cw * sizeof(uint64_t) +
                          (size_t)x->dims[0] * x->dims[1] + 64 +
                          (size_t)w->dims[1] * w->dims[2] * (sizeof(void *) + sizeof(int32_t)) +
                          (size_t)ocp * sizeof(int32_t) + 64;
    return edgec_ops_set_rows(node, (int64_t)y->dims[0] * y->dims[1], err);
}

void edgec_binary_conv2d_eval(const edgec_node *node, int32_t row_begin, int32_t row_end, void *scratch) {
    const edgec_binary_conv2d_params *p = (const edgec_binary_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[B_H], W = (int32_t)a[B_W], C = (int32_t)a[B_C], OH = (int32_t)a[B_OH];
    const int32_t OW = (int32_t)a[B_OW], OC = (int32_t)a[B_OC], KH = (int32_t)a[B_KH], KW = (int32_t)a[B_KW];
    const int32_t CW = (int32_t)a[B_CW], OCP = (int32_t)a[B_OCP], var = (int32_t)a[B_VAR];
    const edgec_bconv_dots_fn dots = edgec_bconv_dots(var);
    const edgec_bconv_finish_fn finish = edgec_bconv_finish(var);
    const float *x = (const float *)node->inputs[0]->data;
    const float *scale = (const float *)node->inputs[2]->data;
    const float *bias = node->input_count > 3 && node->inputs[3] ? (const float *)node->inputs[3]->data : 0;
    float *y = (float *)node->outputs[0]->data;
    uint64_t *bx = (uint64_t *)scratch; /* scratch is 64-aligned */
    uint8_t *done = (uint8_t *)(bx + (size_t)a[B_N] * H * W * 2 * CW);
    const uint64_t **px = (const uint64_t **)(((uintptr_t)(done + (size_t)a[B_N] * H) + 63) & ~(uintptr_t)63);
    int32_t *tap = (int32_t *)(px + KH * KW), *d = tap + KH * KW;
    int32_t row;
    memset(done, 0, (size_t)a[B_N] * H);
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH, iy0 = oy * p->stride_h - p->pad_top;
        int32_t ky0, ky1, ky, ox;
        edgec_ops_tap_range(iy0, KH, p->dilation_h, H, &ky0, &ky1);
        for (ky = ky0; ky < ky1; ++ky) {
            const ptrdiff_t r = (ptrdiff_t)n * H + iy0 + ky * p->dilation_h;
            if (!done[r]) {
                edgec_bconv_binarize(x + r * W * C, W, C, CW, bx + r * W * 2 * CW, var);
                done[r] = 1;
            }
        }
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            int32_t kx0, kx1, kx, ntaps = 0, nonzero = 0, c;
            float *out = y + ((ptrdiff_t)row * OW + ox) * OC;
            edgec_ops_tap_range(ix0, KW, p->dilation_w, W, &kx0, &kx1);
            for (ky = ky0; ky < ky1; ++ky)
                for (kx = kx0; kx < kx1; ++kx) {
                    const ptrdiff_t pix = ((ptrdiff_t)n * H + iy0 + ky * p->dilation_h) * W + ix0 + kx * p->dilation_w;
                    px[ntaps] = bx + pix * 2 * CW;
                    tap[ntaps] = ky * KW + kx;
                    for (c = 0; c < CW; ++c) nonzero += popcount64(px[ntaps][CW + c]);
                    ++ntaps;
                }
            dots(px, tap, ntaps, CW, (const uint64_t *)node->packed, OCP, d, nonzero == ntaps * C);
            finish(d, nonzero, scale, bias, p->act_min, p->act_max, OC, out);
        }
    }
}
