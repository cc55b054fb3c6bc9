/* aarch64 NEON variant of the XNOR-popcount dots (binary_conv.h): vcntq_u8 byte counts,
 * widened with pairwise adds (vpaddlq) into 64-bit lanes, two channels per register. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <stdlib.h>
#include <string.h>

#include "binary_conv.h"

static void dots_neon(const uint64_t *const *px, const int32_t *tap, int32_t ntaps, int32_t cw,
                      const uint64_t *w, int32_t oc_pad, int32_t *d, int32_t dense) {
    (void)dense;
    int32_t o, t, c, i;
    for (o = 0; o < oc_pad; o += 8) {
        uint64x2_t s[4];
        for (i = 0; i < 4; ++i) s[i] = vdupq_n_u64(0);
        for (t = 0; t < ntaps; ++t)
            for (c = 0; c < cw; ++c) {
                const uint64x2_t neg = vdupq_n_u64(px[t][c]), nz = vdupq_n_u64(px[t][cw + c]);
                const uint64_t *wr = w + ((ptrdiff_t)tap[t] * cw + c) * oc_pad + o;
                for (i = 0; i < 4; ++i) {
                    const uint64x2_t v = vandq_u64(nz, veorq_u64(neg, vld1q_u64(wr + 2 * i)));
                    s[i] = vaddq_u64(s[i], vpaddlq_u32(vpaddlq_u16(vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u64(v))))));
                }
            }
        for (i = 0; i < 4; ++i) {
            d[o + 2 * i] = (int32_t)vgetq_lane_u64(s[i], 0);
            d[o + 2 * i + 1] = (int32_t)vgetq_lane_u64(s[i], 1);
        }
    }
}

int edgec_bconv_best(void) {
    const char *force = getenv("EDGEC_KERNELS");
    return force && strcmp(force, "reference") == 0 ? EDGEC_BCONV_REF : EDGEC_BCONV_NEON;
}

edgec_bconv_dots_fn edgec_bconv_dots(int variant) {
    return variant == EDGEC_BCONV_NEON ? dots_neon : edgec_bconv_dots_ref;
}

void edgec_bconv_binarize(const float *x, int32_t n, int32_t c, int32_t cw, uint64_t *px, int variant) {
    (void)variant;
    edgec_bconv_binarize_ref(x, n, c, cw, px);
}
#endif
