/* int8 MAX_POOL2D / AVG_POOL2D (TFLite reference integer pooling): the average rounds
 * half away from zero over the in-image taps; both clamp to [q_min, q_max]. Input and
 * output share scale and zero point (checked in pool.c). */
#include "edgec/fixedpoint.h"
#include "int8.h"

enum { A_H, A_W, A_C, A_OH, A_OW, A_AVG };

void edgec_pool2d_int8_eval(const edgec_node *node, int32_t row_begin, int32_t row_end) {
    const edgec_pool2d_params *p = (const edgec_pool2d_params *)node->params;
    const int32_t H = (int32_t)node->aux[A_H], W = (int32_t)node->aux[A_W], C = (int32_t)node->aux[A_C];
    const int32_t OH = (int32_t)node->aux[A_OH], OW = (int32_t)node->aux[A_OW];
    const int avg = (int)node->aux[A_AVG];
    const int8_t *restrict x = (const int8_t *)node->inputs[0]->data;
    int8_t *restrict y = (int8_t *)node->outputs[0]->data;
    int32_t row;
    for (row = row_begin; row < row_end; ++row) {
        const int32_t n = row / OH, oy = row % OH, iy0 = oy * p->stride_h - p->pad_top;
        const int32_t y0 = iy0 < 0 ? 0 : iy0, y1 = iy0 + p->filter_h > H ? H : iy0 + p->filter_h;
        int32_t ox;
        for (ox = 0; ox < OW; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_left;
            const int32_t x0 = ix0 < 0 ? 0 : ix0, x1 = ix0 + p->filter_w > W ? W : ix0 + p->filter_w;
            const int32_t count = (y1 - y0) * (x1 - x0);
            int8_t *restrict out = y + (((int64_t)n * OH + oy) * OW + ox) * C;
            int32_t c, iy, ix;
            for (c = 0; c < C; ++c) {
                int32_t acc = avg ? 0 : -128;
                for (iy = y0; iy < y1; ++iy)
                    for (ix = x0; ix < x1; ++ix) {
                        const int32_t v = x[(((int64_t)n * H + iy) * W + ix) * C + c];
                        if (avg) acc += v;
                        else acc = v > acc ? v : acc;
                    }
                if (avg) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                out[c] = (int8_t)edgec_clamp_i32(acc, p->q_min, p->q_max);
            }
        }
    }
}
