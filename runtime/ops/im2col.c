/* im2col rows (contract in im2col.h). */
#include <string.h>

#include "common.h"
#include "im2col.h"

enum { A_N, A_H, A_W, A_C, A_OH, A_OW, A_OC, A_KH, A_KW }; /* conv.c's aux layout */

void edgec_im2col_row(const edgec_node *node, int32_t row, int32_t ox_begin, int32_t ox_end, size_t elem,
                      uint8_t fill, uint8_t *col) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C], OH = (int32_t)a[A_OH];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW];
    const uint8_t *x = node->inputs[0]->data;
    const int32_t n = row / OH, oy = row % OH;
    const size_t pixel = (size_t)C * elem, kernel_row = (size_t)KW * pixel;
    int32_t ox, ky, kx;
    for (ox = ox_begin; ox < ox_end; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        int32_t kx0, kx1;
        edgec_ops_tap_range(ix0, KW, p->dilation_w, W, &kx0, &kx1);
        for (ky = 0; ky < KH; ++ky, col += kernel_row) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            const uint8_t *src_row;
            if (iy < 0 || iy >= H) {
                memset(col, fill, kernel_row);
                continue;
            }
            src_row = x + (((size_t)n * H + (size_t)iy) * W) * pixel;
            if (p->dilation_w == 1) { /* the valid taps of this kernel row are contiguous */
                memset(col, fill, (size_t)kx0 * pixel);
                memcpy(col + (size_t)kx0 * pixel, src_row + (size_t)(ix0 + kx0) * pixel, (size_t)(kx1 - kx0) * pixel);
                memset(col + (size_t)kx1 * pixel, fill, (size_t)(KW - kx1) * pixel);
            } else {
                for (kx = 0; kx < KW; ++kx) {
                    if (kx >= kx0 && kx < kx1)
                        memcpy(col + (size_t)kx * pixel, src_row + (size_t)(ix0 + kx * p->dilation_w) * pixel, pixel);
                    else
                        memset(col + (size_t)kx * pixel, fill, pixel);
                }
            }
        }
    }
}

void edgec_im2col_pointers(const edgec_node *node, int32_t row, int32_t ox_begin, int32_t ox_end, size_t elem,
                           uint8_t fill, const uint8_t *fill_row, uint8_t *col, const uint8_t **rows) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int64_t *a = node->aux;
    const int32_t H = (int32_t)a[A_H], W = (int32_t)a[A_W], C = (int32_t)a[A_C], OH = (int32_t)a[A_OH];
    const int32_t KH = (int32_t)a[A_KH], KW = (int32_t)a[A_KW];
    const int32_t n = row / OH, oy = row % OH;
    const size_t pixel = (size_t)C * elem, field = (size_t)KH * KW * pixel;
    const uint8_t *x = node->inputs[0]->data + (size_t)n * H * W * pixel;
    const uint8_t *base[EDGEC_IM2COL_MAX_KH]; /* input row of kernel row ky, or NULL off the image */
    int32_t ox, ky, copies = 0;
    for (ky = 0; ky < KH; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        base[ky] = iy < 0 || iy >= H ? 0 : x + (size_t)iy * W * pixel;
    }
    for (ox = ox_begin; ox < ox_end; ++ox, rows += KH) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        if (p->dilation_w != 1 || ix0 < 0 || ix0 + KW > W) { /* some taps off the image: copy */
            uint8_t *c = col + (size_t)copies++ * field;
            edgec_im2col_row(node, row, ox, ox + 1, elem, fill, c);
            for (ky = 0; ky < KH; ++ky) rows[ky] = c + (size_t)ky * KW * pixel;
            continue;
        }
        for (ky = 0; ky < KH; ++ky)
            rows[ky] = base[ky] ? base[ky] + (size_t)ix0 * pixel : fill_row; /* ix0 >= 0 here */
    }
}

int32_t edgec_im2col_copies(const edgec_node *node, int32_t chunk) {
    const edgec_conv2d_params *p = (const edgec_conv2d_params *)node->params;
    const int32_t W = (int32_t)node->aux[A_W], OW = (int32_t)node->aux[A_OW], KW = (int32_t)node->aux[A_KW];
    int32_t ox, n = 0;
    if (p->dilation_w != 1) return OW < chunk ? OW : chunk;
    for (ox = 0; ox < OW; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_left;
        n += ix0 < 0 || ix0 + KW > W;
    }
    return n < chunk ? n : chunk;
}
