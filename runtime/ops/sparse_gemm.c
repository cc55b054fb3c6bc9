/* Portable parts of the block-sparse fast paths (sparse_gemm.h): scratch sizes and the
 * int8 weight packing. The tiles live in sparse_gemm_x86.c (AVX2) and
 * sparse_gemm_neon.c (aarch64); other targets run sparse_fc.c's reference loops. */
#include "sparse_gemm.h"

size_t edgec_sparse_scratch_bytes(const edgec_sparse_shape *s) {
    /* transposed input tile (fp32 k-major or int16 pairs: both <= (k + 2) * MT words), the
     * output tile [n][MT] of 32-bit values, and 64 bytes to align each */
    return ((size_t)s->k + 2) * EDGEC_SPARSE_MT * 4 + (size_t)s->n * EDGEC_SPARSE_MT * 4 + 128;
}

static size_t words_per_block(const edgec_sparse_shape *s) { return s->bw == 4 ? 2 : 4; }

/* int32 words of the 4x1 pair region (sparse_gemm.h): row pointers, then 8 per pair */
static size_t pair_words(const edgec_sparse_shape *s) {
    const size_t rows = (size_t)(s->n / s->bh);
    return s->bw == 1 ? rows + 1 + 8 * (((size_t)s->nnzb + rows) / 2 + 1) : 0;
}

size_t edgec_sparse_i8_packed_bytes(const edgec_sparse_shape *s) {
    return ((size_t)s->nnzb * words_per_block(s) + 3 * (size_t)s->n + pair_words(s)) * sizeof(int32_t);
}

static int32_t pair(int32_t lo, int32_t hi) { return (int32_t)(((uint32_t)(uint16_t)(int16_t)hi << 16) | (uint16_t)(int16_t)lo); }

void edgec_sparse_i8_pack(uint8_t *dst, const edgec_sparse_shape *s, const int8_t *values,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift) {
    int32_t *words = (int32_t *)dst;
    int32_t *bias2 = words + (size_t)s->nnzb * words_per_block(s), *m2 = bias2 + s->n, *s2 = m2 + s->n;
    int32_t r, j, i;
    for (i = 0; i < s->n; ++i) bias2[i] = bias ? bias[i] : 0;
    for (r = 0; r < s->n / s->bh; ++r)
        for (j = s->rowptr[r]; j < s->rowptr[r + 1]; ++j) {
            const int8_t *w = values + (ptrdiff_t)j * 4;
            if (s->bw == 4) {
                words[2 * j] = pair(w[0], w[1]);
                words[2 * j + 1] = pair(w[2], w[3]);
                /* modulo 2^32, as every later int32 add (sparse_gemm.h) */
                bias2[r] = (int32_t)((uint32_t)bias2[r] - (uint32_t)s->x_zp * (uint32_t)(w[0] + w[1] + w[2] + w[3]));
            } else {
                const int odd = s->cols[j] & 1;
                for (i = 0; i < 4; ++i) {
                    words[4 * j + i] = odd ? pair(0, w[i]) : pair(w[i], 0);
                    bias2[4 * r + i] = (int32_t)((uint32_t)bias2[4 * r + i] - (uint32_t)s->x_zp * (uint32_t)(int32_t)w[i]);
                }
            }
        }
    for (i = 0; i < s->n; ++i) {
        m2[i] = mult[i];
        s2[i] = shift[i];
    }
    if (s->bw == 1) { /* pairs of consecutive blocks of a row; an odd last block pairs with a zero block */
        int32_t *pairptr = s2 + s->n, *rec = pairptr + s->n / 4 + 1, p = 0;
        for (r = 0; r < s->n / 4; ++r) {
            pairptr[r] = p;
            for (j = s->rowptr[r]; j < s->rowptr[r + 1]; j += 2, ++p, rec += 8) {
                const int32_t b = j + 1 < s->rowptr[r + 1] ? j + 1 : j;
                const int8_t *wa = values + (ptrdiff_t)j * 4, *wb = values + (ptrdiff_t)b * 4;
                rec[0] = s->cols[j] >> 1;
                rec[1] = s->cols[b] >> 1;
                rec[2] = (s->cols[j] & 1) ? 0 : 16;  /* left shift bringing x[col a] to the high half */
                rec[3] = (s->cols[b] & 1) ? 16 : 0;  /* right shift bringing x[col b] to the low half */
                for (i = 0; i < 4; ++i) rec[4 + i] = pair(wa[i], b != j ? wb[i] : 0);
            }
        }
        pairptr[s->n / 4] = p;
    }
}

#if !defined(__aarch64__) && !(defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
int edgec_sparse_simd(void) { return 0; }
void edgec_sparse_f32_tile(const edgec_sparse_shape *s, const float *values, const float *bias, int32_t m,
                           const float *x, float *y, void *scratch) {
    (void)s; (void)values; (void)bias; (void)m; (void)x; (void)y; (void)scratch; /* never called */
}
void edgec_sparse_i8_tile(const edgec_sparse_shape *s, const uint8_t *packed, int32_t m, const int8_t *x,
                          int8_t *y, void *scratch) {
    (void)s; (void)packed; (void)m; (void)x; (void)y; (void)scratch; /* never called */
}
#endif
