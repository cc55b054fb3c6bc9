#define _POSIX_C_SOURCE 200809L
/* edgec-run: run a .edgec model on raw input files, with no Python.
 *
 *   edgec-run MODEL.edgec [-i IN0.bin -i IN1.bin ...] [-o OUTDIR] [-n REPEAT]
 *             [-t THREADS] [--info] [--no-checksum]
 *
 * Inputs are raw little-endian tensors in the model's input order (sizes must match
 * exactly); outputs are written as OUTDIR/output_<i>.bin. With no -i, inputs are zeros.
 * Prints the median wall time per inference when REPEAT > 1. This is how cross builds
 * are tested under qemu and how boards without Python run models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgec/edgec.h"

#define MAX_IO 64

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    void *buf;
    long n;
    if (!f) return 0;
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return 0;
    }
    /* 64-byte aligned so constants can be used in place */
    buf = 0;
    if (posix_memalign(&buf, 64, (size_t)n + 1)) buf = 0;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = 0;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_tensor(const edgec_model *m, const char *kind, int32_t i, int32_t t) {
    edgec_tensor_info info;
    int32_t d;
    edgec_model_tensor_info(m, t, &info);
    printf("%s %d: %.*s dtype=%d shape=[", kind, i, (int)info.name_length, info.name, info.dtype);
    for (d = 0; d < info.rank; ++d) printf(d ? ",%d" : "%d", info.dims[d]);
    printf("] bytes=%llu\n", (unsigned long long)info.nbytes);
}

static int usage(void) {
    fprintf(stderr, "usage: edgec-run MODEL.edgec [-i IN.bin]... [-o OUTDIR] [-n REPEAT] [-t THREADS] "
                    "[--info] [--no-checksum]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *model_path = 0, *out_dir = 0, *in_paths[MAX_IO];
    int n_in = 0, repeat = 1, threads = 1, info = 0, a, rc = 1;
    uint32_t flags = 0;
    size_t size = 0;
    void *data, *inputs[MAX_IO] = {0}, *outputs[MAX_IO] = {0};
    edgec_model *model = 0;
    edgec_interpreter *it = 0;
    edgec_options opt;
    char err[512];
    int32_t i, n_model_in, n_model_out;
    double *times = 0;

    for (a = 1; a < argc; ++a) {
        if (!strcmp(argv[a], "-i") && a + 1 < argc && n_in < MAX_IO) in_paths[n_in++] = argv[++a];
        else if (!strcmp(argv[a], "-o") && a + 1 < argc) out_dir = argv[++a];
        else if (!strcmp(argv[a], "-n") && a + 1 < argc) repeat = atoi(argv[++a]);
        else if (!strcmp(argv[a], "-t") && a + 1 < argc) threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--info")) info = 1;
        else if (!strcmp(argv[a], "--no-checksum")) flags |= EDGEC_OPEN_SKIP_CHECKSUM;
        else if (argv[a][0] != '-' && !model_path) model_path = argv[a];
        else return usage();
    }
    if (!model_path || repeat < 1) return usage();
    data = read_file(model_path, &size);
    if (!data) {
        fprintf(stderr, "edgec-run: cannot read %s\n", model_path);
        return 1;
    }
    if (edgec_model_open(data, size, flags, &model, err, sizeof(err))) {
        fprintf(stderr, "edgec-run: %s: %s\n", model_path, err);
        goto done;
    }
    n_model_in = edgec_model_input_count(model);
    n_model_out = edgec_model_output_count(model);
    if (n_model_in > MAX_IO || n_model_out > MAX_IO) {
        fprintf(stderr, "edgec-run: more than %d inputs or outputs\n", MAX_IO);
        goto done;
    }
    edgec_options_default(&opt);
    opt.num_threads = threads;
    if (edgec_interpreter_create(model, &opt, &it, err, sizeof(err))) {
        fprintf(stderr, "edgec-run: %s: %s\n", model_path, err);
        goto done;
    }
    if (info) {
        printf("edgec %s, cpu: %s, arena: %llu bytes, ops: %d\n", edgec_version(), edgec_cpu_features(),
               (unsigned long long)edgec_interpreter_arena_bytes(it), edgec_model_op_count(model));
        for (i = 0; i < n_model_in; ++i) print_tensor(model, "input", i, edgec_model_input_tensor(model, i));
        for (i = 0; i < n_model_out; ++i) print_tensor(model, "output", i, edgec_model_output_tensor(model, i));
    }
    if (n_in && n_in != n_model_in) {
        fprintf(stderr, "edgec-run: model has %d inputs, %d given\n", n_model_in, n_in);
        goto done;
    }
    for (i = 0; i < n_model_in; ++i) {
        edgec_tensor_info ti;
        edgec_model_tensor_info(model, edgec_model_input_tensor(model, i), &ti);
        if (n_in) {
            size_t got = 0;
            inputs[i] = read_file(in_paths[i], &got);
            if (!inputs[i] || got != ti.nbytes) {
                fprintf(stderr, "edgec-run: input %d (%.*s) needs %llu bytes, %s has %llu\n", i,
                        (int)ti.name_length, ti.name, (unsigned long long)ti.nbytes, in_paths[i],
                        (unsigned long long)got);
                goto done;
            }
        } else {
            inputs[i] = calloc(1, ti.nbytes);
        }
    }
    for (i = 0; i < n_model_out; ++i) {
        edgec_tensor_info ti;
        edgec_model_tensor_info(model, edgec_model_output_tensor(model, i), &ti);
        if (posix_memalign(&outputs[i], 64, ti.nbytes)) outputs[i] = 0;
        if (!outputs[i] || !inputs[0]) {
            fprintf(stderr, "edgec-run: out of memory\n");
            goto done;
        }
    }
    times = (double *)malloc(sizeof(double) * (size_t)repeat);
    for (a = 0; a < repeat; ++a) {
        double t0 = now_ms();
        if (edgec_interpreter_invoke(it, (const void *const *)inputs, outputs)) {
            fprintf(stderr, "edgec-run: invoke failed: %s\n", edgec_interpreter_error(it));
            goto done;
        }
        times[a] = now_ms() - t0;
    }
    qsort(times, (size_t)repeat, sizeof(double), cmp_double);
    if (repeat > 1) printf("median %.3f ms over %d runs (min %.3f)\n", times[repeat / 2], repeat, times[0]);
    if (out_dir) {
        for (i = 0; i < n_model_out; ++i) {
            edgec_tensor_info ti;
            char path[4096];
            FILE *f;
            edgec_model_tensor_info(model, edgec_model_output_tensor(model, i), &ti);
            snprintf(path, sizeof(path), "%s/output_%d.bin", out_dir, i);
            f = fopen(path, "wb");
            if (!f || fwrite(outputs[i], 1, ti.nbytes, f) != ti.nbytes) {
                fprintf(stderr, "edgec-run: cannot write %s\n", path);
                if (f) fclose(f);
                goto done;
            }
            fclose(f);
        }
    }
    rc = 0;
done:
    for (i = 0; i < MAX_IO; ++i) {
        free(inputs[i]);
        free(outputs[i]);
    }
    free(times);
    edgec_interpreter_destroy(it);
    edgec_model_close(model);
    free(data);
    return rc;
}
