#include "threads.h"

#include <stdlib.h>

#if defined(EDGEC_NO_THREADS) || !(defined(__unix__) || defined(__APPLE__))

edgec_pool *edgec_pool_create(int32_t threads) { (void)threads; return 0; }
void edgec_pool_destroy(edgec_pool *pool) { (void)pool; }
int32_t edgec_pool_size(const edgec_pool *pool) { (void)pool; return 1; }
void edgec_pool_run(edgec_pool *pool, edgec_eval_fn eval, const edgec_node *node,
                    uint8_t *scratch, size_t scratch_stride) {
    (void)pool; (void)scratch_stride;
    eval(node, 0, node->rows, scratch);
}

#else
#include <pthread.h>

/* glibc 2.34 moved pthread_create/join into libc under a new symbol version; a library
 * linked against a newer glibc (Debian 12's cross sysroot: 2.36) would then refuse to
 * load on Raspberry Pi OS Bullseye / JetPack 5 (glibc 2.31). Bind to the architecture's
 * original versions, which every glibc keeps (the wheel's glibc <= 2.31 is tested). */
#if defined(__SANITIZE_ADDRESS__)
#define EDGEC_SANITIZED 1 /* ASan intercepts pthread_create by its default version */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDGEC_SANITIZED 1
#endif
#endif
#if defined(__linux__) && defined(__GLIBC__) && !defined(EDGEC_SANITIZED) && !defined(EDGEC_NO_SYMVER)
#if defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.17");
#elif defined(__arm__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.4");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.4");
#elif defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
#endif
#endif

/* Between ops a worker (and the caller waiting for workers) spins this many rounds
 * before sleeping on a condition variable: consecutive ops are microseconds apart, a
 * futex wake-up costs tens of microseconds, and an idle pool still sleeps (no busy
 * waiting between invokes). Roughly 50-100 us on current x86 and ARM cores. */
#define EDGEC_SPIN_ROUNDS 20000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct edgec_pool {
    int32_t size;              /* threads including the caller */
    pthread_t *workers;        /* size - 1 */
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    uint64_t generation;       /* bumped per job (atomic); workers wait for a new one */
    int32_t pending;           /* workers still busy with this job (atomic) */
    int quit;                  /* atomic */
    edgec_eval_fn eval;        /* the job */
    const edgec_node *node;
    uint8_t *scratch;
    size_t scratch_stride;
};

typedef struct {
    edgec_pool *pool;
    int32_t id;
} worker_arg;

static void run_chunk(edgec_pool *p, int32_t id) {
    int32_t rows = p->node->rows;
    int32_t begin = (int32_t)((int64_t)rows * id / p->size);
    int32_t end = (int32_t)((int64_t)rows * (id + 1) / p->size);
    if (begin < end) p->eval(p->node, begin, end, p->scratch + (size_t)id * p->scratch_stride);
}

static void *worker_main(void *raw) {
    worker_arg arg = *(worker_arg *)raw;
    edgec_pool *p = arg.pool;
    uint64_t seen = 0;
    free(raw);
    for (;;) {
        int spin;
        for (spin = 0; spin < EDGEC_SPIN_ROUNDS; ++spin) {
            if (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) != seen || __atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
                break;
            cpu_relax();
        }
        pthread_mutex_lock(&p->lock);
        while (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen && !__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
            pthread_cond_wait(&p->start, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) return 0;
        seen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
        run_chunk(p, arg.id);
        if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&p->lock); /* the caller may be asleep on done */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

edgec_pool *edgec_pool_create(int32_t threads) {
    edgec_pool *p;
    int32_t i;
    if (threads <= 1) return 0;
    p = (edgec_pool *)calloc(1, sizeof(*p));
    if (!p) return 0;
    p->workers = (pthread_t *)calloc((size_t)threads - 1, sizeof(pthread_t));
    if (!p->workers) {
        free(p);
        return 0;
    }
    pthread_mutex_init(&p->lock, 0);
    pthread_cond_init(&p->start, 0);
    pthread_cond_init(&p->done, 0);
    p->size = 1;
    for (i = 1; i < threads; ++i) {
        worker_arg *arg = (worker_arg *)malloc(sizeof(*arg));
        if (!arg) break;
        arg->pool = p;
        arg->id = i;
        if (pthread_create(&p->workers[i - 1], 0, worker_main, arg)) {
            free(arg);
            break;
        }
        p->size = i + 1;
    }
    if (p->size == 1) {
        edgec_pool_destroy(p);
        return 0;
    }
    return p;
}

void edgec_pool_destroy(edgec_pool *p) {
    int32_t i;
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->size - 1; ++i) pthread_join(p->workers[i], 0);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

int32_t edgec_pool_size(const edgec_pool *p) { return p ? p->size : 1; }

void edgec_pool_run(edgec_pool *p, edgec_eval_fn eval, const edgec_node *node, uint8_t *scratch,
                    size_t scratch_stride) {
    if (!p || node->rows < 2) {
        eval(node, 0, node->rows, scratch);
        return;
    }
    int spin;
    p->eval = eval; /* workers read the job after the release of generation below */
    p->node = node;
    p->scratch = scratch;
    p->scratch_stride = scratch_stride;
    __atomic_store_n(&p->pending, p->size - 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&p->generation, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->lock); /* wakes workers that went to sleep */
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    run_chunk(p, 0);
    for (spin = 0; spin < EDGEC_SPIN_ROUNDS && __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0; ++spin)
        cpu_relax();
    if (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0) {
        pthread_mutex_lock(&p->lock);
        while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0) pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
}

#endif
