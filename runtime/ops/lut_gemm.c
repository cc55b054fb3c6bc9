/* T-MAC LUT GEMM: blob checks, row preparation (int8 quantization + tables) and the
 * portable reference block kernel; contract in lut_gemm.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgec/edgec.h"
#include "lut_gemm.h"

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

uint64_t edgec_lut_blob_bytes(int32_t bits, int32_t group, int32_t n, int32_t k) {
    int64_t n_pad, k8, groups;
    if (bits < 1 || bits > 4 || (group != 32 && group != 64 && group != 128) || n < 1 || k < 1 ||
        n > (1 << 24) || k > (1 << 24))
        return 0;
    n_pad = round_up(n, EDGEC_LUT_NB);
    k8 = round_up(k, 8);
    groups = (k + group - 1) / group;
    return (uint64_t)(sizeof(edgec_lowbit_header) + n_pad * k8 * bits / 8 + 3 * n_pad * groups);
}

int edgec_lut_weights_view(const uint8_t *blob, uint64_t nbytes, edgec_lut_weights *w, char *msg,
                           size_t msg_size) {
    edgec_lowbit_header h;
    uint64_t want, i, nz;
    if (nbytes < sizeof(h)) {
        snprintf(msg, msg_size, "low-bit weights: %llu bytes, shorter than the 32-byte header",
                 (unsigned long long)nbytes);
        return 1;
    }
    memcpy(&h, blob, sizeof(h));
    if (h.magic != EDGEC_LOWBIT_MAGIC || h.reserved[0] || h.reserved[1] || h.reserved[2]) {
        snprintf(msg, msg_size, "low-bit weights: bad header (magic %08x, expected %08x; reserved must be 0)",
                 (unsigned)h.magic, (unsigned)EDGEC_LOWBIT_MAGIC);
        return 1;
    }
    want = edgec_lut_blob_bytes(h.bits, h.group_size, h.n, h.k);
    if (!want) {
        snprintf(msg, msg_size, "low-bit weights: bits %d, group %d, shape [%d, %d] out of range "
                 "(bits 1..4, group 32/64/128, 1 <= N, K <= 2^24)", (int)h.bits, (int)h.group_size,
                 (int)h.n, (int)h.k);
        return 1;
    }
    if (want != nbytes) {
        snprintf(msg, msg_size, "low-bit weights: %llu bytes, but bits %d, group %d, [%d, %d] need %llu "
                 "(truncated or inconsistent)", (unsigned long long)nbytes, (int)h.bits, (int)h.group_size,
                 (int)h.n, (int)h.k, (unsigned long long)want);
        return 1;
    }
    edgec_lut_weights_bind(blob, w);
    nz = (uint64_t)w->n_pad * (uint64_t)w->groups;
    for (i = 0; i < nz; ++i)
        if (w->zeros[i] >> w->bits) {
            snprintf(msg, msg_size, "low-bit weights: zero point %u at %llu does not fit %d bits",
                     (unsigned)w->zeros[i], (unsigned long long)i, (int)w->bits);
            return 1;
        }
    return 0;
}

void edgec_lut_weights_bind(const uint8_t *blob, edgec_lut_weights *w) {
    edgec_lowbit_header h;
    uint64_t planes;
    memcpy(&h, blob, sizeof(h));
    w->bits = h.bits;
    w->group = h.group_size;
    w->n = h.n;
    w->k = h.k;
    w->n_pad = (int32_t)round_up(h.n, EDGEC_LUT_NB);
    w->k8 = (int32_t)round_up(h.k, 8);
    w->kpairs = w->k8 / 8;
    w->groups = (h.k + h.group_size - 1) / h.group_size;
    planes = (uint64_t)w->n_pad * (uint64_t)w->k8 * (uint64_t)w->bits / 8;
    w->planes = blob + sizeof(h);
    w->scales = (const uint16_t *)(const void *)(w->planes + planes);
    w->zeros = w->planes + planes + 2 * (uint64_t)w->n_pad * (uint64_t)w->groups;
    w->table_mode = 0;
}

float edgec_lut_half_to_float(uint16_t h) {
    const int e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

size_t edgec_lut_row_bytes(const edgec_lut_weights *w) {
    return (size_t)round_up((int64_t)w->k8 * 8 + 8 * (int64_t)w->groups, 64);
}

void edgec_lut_prepare_row(const edgec_lut_weights *w, const float *x, uint8_t *row, float *sx) {
    int32_t *gsum = (int32_t *)(void *)(row + (size_t)w->k8 * 8);
    float amax = 0.0f, inv;
    int32_t k, g, i;
    for (k = 0; k < w->k; ++k) {
        const float v = fabsf(x[k]);
        if (v > amax) amax = v;
    }
    *sx = amax / 127.0f;
    inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (g = 0; g < w->groups; ++g) gsum[g] = 0;
    for (k = 0; k < w->k8; k += 4) {
        int16_t t[16];
        int8_t a[4];
        uint8_t *lo = row + (size_t)k * 8, *hi = lo + 16; /* (k/4) * 32 bytes per group of 4 */
        for (i = 0; i < 4; ++i) {
            float v = k + i < w->k ? x[k + i] * inv : 0.0f;
            v = v > -127.0f ? v : -127.0f; /* NaN -> -127 */
            v = v < 127.0f ? v : 127.0f;
            a[i] = (int8_t)lrintf(v);
            gsum[(k + i) / w->group < w->groups ? (k + i) / w->group : w->groups - 1] += a[i];
        }
        t[0] = 0;
        for (i = 1; i < 16; ++i) {
            const int bit = i & 1 ? 0 : i & 2 ? 1 : i & 4 ? 2 : 3; /* lowest set bit */
            t[i] = (int16_t)(t[i & (i - 1)] + a[bit]);
        }
        for (i = 0; i < 16; ++i) {
            lo[i] = (uint8_t)((uint16_t)t[i] & 0xff);
            hi[i] = (uint8_t)((uint16_t)t[i] >> 8);
        }
    }
    if (w->table_mode == 1) edgec_lut_int8_tables(w, row);
}

/* round(v / 2^s), ties to even, with arithmetic (floor) shifts; unbiased, unlike half up */
static int32_t round_shift(int32_t v, int32_t s) {
    if (s == 0) return v;
    return (v + (1 << (s - 1)) - 1 + ((v >> s) & 1)) >> s;
}

static int32_t group_of_kg(const edgec_lut_weights *w, int32_t kg) {
    const int32_t g = kg * 4 / w->group;
    return g < w->groups ? g : w->groups - 1;
}

void edgec_lut_int8_tables(const edgec_lut_weights *w, uint8_t *row) {
    int32_t *shift = (int32_t *)(void *)(row + (size_t)w->k8 * 8) + w->groups;
    const int32_t kgs = w->k8 / 4;
    int32_t kg, g, i;
    for (g = 0; g < w->groups; ++g) shift[g] = 0; /* max |T| first */
    for (kg = 0; kg < kgs; ++kg) {
        const uint8_t *lo = row + (size_t)kg * 32, *hi = lo + 16;
        int32_t m = 0;
        for (i = 0; i < 16; ++i) {
            const int32_t t = (int16_t)(uint16_t)(lo[i] | hi[i] << 8);
            m = t > m ? t : -t > m ? -t : m;
        }
        g = group_of_kg(w, kg);
        if (m > shift[g]) shift[g] = m;
    }
    for (g = 0; g < w->groups; ++g) {
        int32_t s = 0;
        while (round_shift(shift[g], s) > 127) ++s;
        shift[g] = s;
    }
    for (kg = 0; kg < kgs; ++kg) { /* in place, forwards: kg's 16 bytes land below its 32 */
        const uint8_t *lo = row + (size_t)kg * 32, *hi = lo + 16;
        const int32_t s = shift[group_of_kg(w, kg)];
        int8_t q[16];
        for (i = 0; i < 16; ++i) {
            const int32_t t = (int16_t)(uint16_t)(lo[i] | hi[i] << 8);
            q[i] = (int8_t)round_shift(t, s);
        }
        memcpy(row + (size_t)kg * 16, q, 16);
    }
}

void edgec_lut_block_ref(const edgec_lut_weights *w, int32_t nb, const uint8_t *row, float *acc) {
    const int32_t *gsum = (const int32_t *)(const void *)(row + (size_t)w->k8 * 8);
    const uint8_t *pl = w->planes + (size_t)nb * w->kpairs * w->bits * EDGEC_LUT_NB;
    const size_t sz = (size_t)nb * w->groups * EDGEC_LUT_NB;
    const int32_t pairs_per_group = w->group / 8;
    int32_t g, p, b, j;
    for (j = 0; j < EDGEC_LUT_NB; ++j) acc[j] = 0.0f;
    for (g = 0; g < w->groups; ++g) {
        const int32_t p_end = (g + 1) * pairs_per_group < w->kpairs ? (g + 1) * pairs_per_group : w->kpairs;
        int32_t P[EDGEC_LUT_NB] = {0};
        for (p = g * pairs_per_group; p < p_end; ++p) {
            const uint8_t *t = row + (size_t)p * (w->table_mode == 1 ? 32 : 64);
            for (b = 0; b < w->bits; ++b, pl += EDGEC_LUT_NB)
                for (j = 0; j < EDGEC_LUT_NB; ++j) {
                    const int i0 = pl[j] & 15, i1 = pl[j] >> 4;
                    int32_t t0, t1;
                    if (w->table_mode == 1) {
                        t0 = (int8_t)t[i0];
                        t1 = (int8_t)t[16 + i1];
                    } else {
                        t0 = (int16_t)(uint16_t)(t[i0] | t[16 + i0] << 8);
                        t1 = (int16_t)(uint16_t)(t[32 + i1] | t[48 + i1] << 8);
                    }
                    P[j] += (t0 + t1) * (1 << b);
                }
        }
        if (w->table_mode == 1)
            for (j = 0; j < EDGEC_LUT_NB; ++j) P[j] *= 1 << gsum[w->groups + g];
        for (j = 0; j < EDGEC_LUT_NB; ++j) {
            const size_t at = sz + (size_t)g * EDGEC_LUT_NB + (size_t)j;
            const int32_t I = P[j] - (int32_t)w->zeros[at] * gsum[g];
            const float s = edgec_lut_half_to_float(w->scales[at]);
            acc[j] = acc[j] + s * (float)I;
        }
    }
}

static int use_reference(void) {
#if defined(__unix__)
    const char *force = getenv("EDGEC_KERNELS");
    if (force && strcmp(force, "reference") == 0) return 1;
#endif
    return 0;
}

edgec_lut_block_fn edgec_lut_block_select(void) {
    if (use_reference()) return edgec_lut_block_ref;
#if defined(EDGEC_LUT_HAVE_AVX2)
    if (edgec_lut_avx2_supported()) return edgec_lut_block_avx2;
#endif
#if defined(EDGEC_LUT_HAVE_NEON)
    return edgec_lut_block_neon;
#endif
    return edgec_lut_block_ref;
}

const char *edgec_lut_kernel_name(void) {
    const edgec_lut_block_fn f = edgec_lut_block_select();
#if defined(EDGEC_LUT_HAVE_AVX2)
    if (f == edgec_lut_block_avx2) return "avx2";
#endif
#if defined(EDGEC_LUT_HAVE_NEON)
    if (f == edgec_lut_block_neon) return "neon";
#endif
    (void)f;
    return "reference";
}
