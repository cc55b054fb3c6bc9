/* BINARY_CONV2D internals (semantics in format.h): binarized pixels and the XNOR-popcount
 * dot-product variants.
 *
 * A binarized pixel is 2 * CW uint64 words: CW words of "negative" bits, then CW words of
 * "nonzero" bits (CW = ceil(C / 64), padding bits 0). Packed weights (edgec_bconv_pack):
 * uint64 [KH*KW][CW][OC_PAD], output channels fastest, OC_PAD = OC rounded up to 8, zero
 * words in the padding, so a SIMD register holds the same tap of consecutive channels.
 *
 * A dots variant computes, for channels [0, oc_pad), d[oc] = sum over the given taps and
 * words of popcount(nz & (neg ^ w)) (dense != 0: every nz bit below C is set, so a variant
 * may skip the mask); every variant returns the same integers (the scalar
 * reference uses a portable popcount; others POPCNT, AVX2 pshufb nibble tables,
 * AVX-512 VPOPCNTQ, NEON vcnt). */
#ifndef EDGEC_OPS_BINARY_CONV_H
#define EDGEC_OPS_BINARY_CONV_H

#include <stddef.h>
#include <stdint.h>

#define EDGEC_BCONV_OC_BLOCK 8

enum { EDGEC_BCONV_REF = 0, EDGEC_BCONV_POPCNT = 1, EDGEC_BCONV_AVX2 = 2, EDGEC_BCONV_AVX512 = 3,
       EDGEC_BCONV_NEON = 4 };

typedef void (*edgec_bconv_dots_fn)(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                                    const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense);

void edgec_bconv_dots_ref(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                          const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense);
void edgec_bconv_binarize_ref(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px);
/* y[oc] = clamp(float(nonzero - 2 * d[oc]) * scale[oc] (+ bias[oc]), lo, hi), oc < n: the
 * same float operations in every variant (no FMA), so outputs are identical. */
typedef void (*edgec_bconv_finish_fn)(const int32_t *d, int32_t nonzero, const float *scale, const float *bias,
                                      float lo, float hi, int32_t n, float *y);
void edgec_bconv_finish_ref(const int32_t *d, int32_t nonzero, const float *scale, const float *bias, float lo,
                            float hi, int32_t n, float *y);
edgec_bconv_finish_fn edgec_bconv_finish(int variant);
/* The fastest variant on this CPU (EDGEC_KERNELS=reference: the scalar reference) and its id. */
int edgec_bconv_best(void);
edgec_bconv_dots_fn edgec_bconv_dots(int variant);
/* Binarize n pixels of c floats (x, c apart) into px (2 * cw words per pixel). */
void edgec_bconv_binarize(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px, int variant);

#endif
