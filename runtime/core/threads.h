/* Internal: a small thread pool that runs one op's eval over disjoint row ranges.
 * Workers sleep on a condition variable between ops (no busy spinning when idle);
 * a pool of 1 thread runs everything on the caller with no synchronisation.
 * Builds without pthreads (MCU, EDGEC_NO_THREADS) always use one thread. */
#ifndef EDGEC_CORE_THREADS_H
#define EDGEC_CORE_THREADS_H

#include "edgec/kernel.h"

typedef struct edgec_pool edgec_pool;

/* Returns NULL when threads == 1 or unavailable (callers then run inline). */
edgec_pool *edgec_pool_create(int32_t threads);
void edgec_pool_destroy(edgec_pool *pool);
/* Runs eval(node, rows split in contiguous chunks), thread t using
 * scratch + t * scratch_stride. Returns when every chunk is done. */
void edgec_pool_run(edgec_pool *pool, edgec_eval_fn eval, const edgec_node *node,
                    uint8_t *scratch, size_t scratch_stride);
int32_t edgec_pool_size(const edgec_pool *pool);

#endif
