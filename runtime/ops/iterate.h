/* Broadcast iteration for the int8 element-wise kernels (tap ranges: common.h). */
#ifndef EDGEC_OPS_ITERATE_H
#define EDGEC_OPS_ITERATE_H

#include "edgec/kernel.h"

/* Walks a broadcast output in flat order, tracking the two inputs' element offsets
 * (strides from edgec_broadcast_strides; 0 on broadcast axes). */
typedef struct {
    int32_t idx[EDGEC_MAX_RANK];
    int64_t a, b;
} edgec_broadcast_iter;

static inline void edgec_broadcast_begin(edgec_broadcast_iter *it, const edgec_tensor *y, const int64_t *sa,
                                         const int64_t *sb, size_t start) {
    int32_t d;
    it->a = it->b = 0;
    for (d = y->rank - 1; d >= 0; --d) {
        it->idx[d] = (int32_t)(start % (size_t)y->dims[d]);
        start /= (size_t)y->dims[d];
        it->a += it->idx[d] * sa[d];
        it->b += it->idx[d] * sb[d];
    }
}

static inline void edgec_broadcast_next(edgec_broadcast_iter *it, const edgec_tensor *y, const int64_t *sa,
                                        const int64_t *sb) {
    int32_t d;
    for (d = y->rank - 1; d >= 0; --d) {
        it->a += sa[d];
        it->b += sb[d];
        if (++it->idx[d] < y->dims[d]) return;
        it->a -= sa[d] * y->dims[d];
        it->b -= sb[d] * y->dims[d];
        it->idx[d] = 0;
    }
}

#endif
