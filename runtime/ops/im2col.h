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

#endif
