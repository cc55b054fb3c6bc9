/* im2col for CONV2D (groups 1), shared by the fp32 and int8 GEMM paths: pixels
 * [ox_begin, ox_end) of output row `row` as (ky, kx, ic) receptive fields, the weights'
 * order, `elem` bytes per value; taps outside the image hold `fill` in every byte (0 for
 * fp32 zeros, the input zero point for int8: either adds nothing, like the reference
 * kernels' skipped taps). Reads conv.c's aux layout. */
#ifndef EDGEC_OPS_IM2COL_H
#define EDGEC_OPS_IM2COL_H

#include <stddef.h>
#include <stdint.h>

#include "edgec/kernel.h"

void edgec_im2col_row(const edgec_node *node, int32_t row, int32_t ox_begin, int32_t ox_end, size_t elem,
                      uint8_t fill, uint8_t *col);

/* Implicit im2col for the GEMMs' row-pointer form: pixels [ox_begin, ox_end) of output
 * row `row` as KH pointers each (rows[(ox - ox_begin) * KH + ky]) to KW * C values: into
 * the input where that kernel row lies inside it, fill_row (KW * C values of the fill)
 * above / below the image, or an im2col copy in col (KH * KW * C values per pixel, one
 * after another) at the left / right edges and for dilated kernels: room for
 * edgec_im2col_copies(node, ox_end - ox_begin) of them. KH <= EDGEC_IM2COL_MAX_KH. */
#define EDGEC_IM2COL_MAX_KH 64
void edgec_im2col_pointers(const edgec_node *node, int32_t row, int32_t ox_begin, int32_t ox_end, size_t elem,
                           uint8_t fill, const uint8_t *fill_row, uint8_t *col, const uint8_t **rows);
/* How many pixels of a chunk of `chunk` output columns edgec_im2col_pointers may copy, at most. */
int32_t edgec_im2col_copies(const edgec_node *node, int32_t chunk);

#endif
