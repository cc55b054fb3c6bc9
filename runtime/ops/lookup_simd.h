/* SIMD LOOKUP (256-entry byte tables, quantize.c): y[i] = table[x[i] ^ flip] on 32 (AVX2)
 * or 16 (NEON) bytes at a time, the same bytes as the scalar loop.
 * x86: each half of the table (x below / above 128) is 8 slices of 16 bytes; slice k is
 * looked up with index (x mod 128) - 16k, whose bit 7 is set (pshufb gives 0) exactly for
 * the slices above x's, so slices are packed XOR-differenced with the one below
 * (edgec_lookup_pack) and the XOR of the 8 lookups is table[x]; bit 7 of x picks the half.
 * aarch64: four vqtbl4q over 64-byte quarters
 * (out-of-range indices give 0), OR-ed. */
#ifndef EDGEC_OPS_LOOKUP_SIMD_H
#define EDGEC_OPS_LOOKUP_SIMD_H

#include <stddef.h>
#include <stdint.h>

#define EDGEC_LOOKUP_PACKED_BYTES 256

/* Whether this CPU has the SIMD kernel (and EDGEC_KERNELS is not "reference"). */
int edgec_lookup_simd(void);
void edgec_lookup_pack(uint8_t *dst, const uint8_t *table);
/* flip: 0x80 for int8 inputs (index = x + 128), 0 for uint8 */
void edgec_lookup_run(const uint8_t *packed, const uint8_t *x, uint8_t *y, size_t n, uint8_t flip);

#endif
