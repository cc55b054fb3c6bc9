/* Kernel unit test, no model file and no Python: builds edgec_node / edgec_tensor structs by
 * hand for every fp32 op on small shapes, runs prepare + eval and checks
 *   - the output against naive loops written here from runtime/OPS.md (1e-5 of max |want|),
 *   - row regions: eval over [0, rows) and over a partition of the rows write disjoint
 *     bytes that together cover the output, with identical values (each part is run on two
 *     different poison patterns: bytes that differ were not written),
 *   - inputs are never modified,
 *   - prepare refuses bad outputs, dtypes and parameters with a status and a message.
 * Exit status is the number of failures (capped). Run it under ASan/UBSan; -v prints every
 * refusal message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgec/kernel.h"

#define F32 EDGEC_DTYPE_FLOAT32
#define INV EDGEC_ERR_INVALID
#define UNS EDGEC_ERR_UNSUPPORTED

#include "check.h"

static int verbose = 0;

typedef struct {
    const char *name;
    edgec_prepare_fn prepare;
    edgec_eval_fn eval;
} op_fns;

static const op_fns OPS[64] = {
#define EDGEC_OP(NAME, CODE, PARAMS, KERNEL) [CODE] = {#NAME, edgec_##KERNEL##_prepare, edgec_##KERNEL##_eval},
#include "edgec/ops.def"
#undef EDGEC_OP
};

/* ---- allocation (freed after each test, so ASan sees exact sizes and no leaks) ---- */

static void *allocs[1024];
static int nallocs = 0;

static void *talloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p || nallocs == 1024) {
        printf("out of test memory\n");
        exit(2);
    }
    allocs[nallocs++] = p;
    return p;
}

static void tfree_all(void) {
    while (nallocs) free(allocs[--nallocs]);
}

static uint32_t rng = 12345u;
static float frand(float lo, float hi) {
    rng = rng * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng >> 8) / 16777216.0f;
}

static float *randf(size_t n, float lo, float hi) {
    float *p = (float *)talloc(n * sizeof(float));
    size_t i;
    for (i = 0; i < n; ++i) p[i] = frand(lo, hi);
    return p;
}

/* A tensor of `rank` dims; data NULL allocates a zeroed buffer. */
static edgec_tensor tensor(int32_t dtype, void *data, int32_t rank, const int32_t *dims) {
    edgec_tensor t;
    size_t count = 1;
    int32_t i;
    memset(&t, 0, sizeof(t));
    t.dtype = dtype;
    t.rank = rank;
    t.storage = EDGEC_STORAGE_ARENA;
    for (i = 0; i < EDGEC_MAX_RANK; ++i) t.dims[i] = i < rank ? dims[i] : 1;
    for (i = 0; i < rank; ++i) count *= (size_t)dims[i];
    t.count = count;
    t.nbytes = count * edgec_dtype_size(dtype);
    t.data = data ? (uint8_t *)data : (uint8_t *)talloc(t.nbytes);
    return t;
}
#define NDIMS(...) ((int32_t)(sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t)))
#define T(dtype, data, ...) tensor(dtype, data, NDIMS(__VA_ARGS__), (const int32_t[]){__VA_ARGS__})

static edgec_node make_node(int32_t opcode, edgec_tensor **in, int32_t nin, edgec_tensor **out,
                            const void *params, uint32_t params_size) {
    edgec_node n;
    memset(&n, 0, sizeof(n));
    n.opcode = opcode;
    n.input_count = nin;
    n.output_count = 1;
    n.inputs = in;
    n.outputs = out;
    n.params = params;
    n.params_size = params_size;
    return n;
}
#define NODE(op, params, out, ...)                                                              \
    make_node(EDGEC_OP_##op, (edgec_tensor *[]){__VA_ARGS__},                                   \
              (int32_t)(sizeof((edgec_tensor *[]){__VA_ARGS__}) / sizeof(edgec_tensor *)), out, \
              &(params), (uint32_t)sizeof(params))

enum {
#define EDGEC_OP(NAME, CODE, PARAMS, KERNEL) EDGEC_OP_##NAME = CODE,
#include "edgec/ops.def"
#undef EDGEC_OP
    EDGEC_OP_COUNT_
};

/* ---- running and checking ---- */

/* prepare, then what the interpreter does next: place the packed weights a SIMD kernel
 * asked for (64-aligned) and pack them. */
static edgec_status prepare(edgec_node *n, edgec_error *e) {
    edgec_status s;
    memset(e, 0, sizeof(*e));
    n->rows = 0;
    n->scratch_bytes = 0;
    n->packed_bytes = 0;
    n->packed = 0;
    n->pack = 0;
    memset(n->aux, 0, sizeof(n->aux));
    s = OPS[n->opcode].prepare(n, e);
    if (s == EDGEC_OK && n->packed_bytes && n->pack) {
        uint8_t *block = (uint8_t *)talloc(n->packed_bytes + 64);
        n->packed = block + (64 - (uintptr_t)block % 64) % 64;
        n->pack(n);
    }
    return s;
}

/* Bytes of the output written by eval over [b, e): run on two poison patterns. */
static void eval_region(const edgec_node *n, int32_t b, int32_t e, void *scratch, uint8_t *written,
                        uint8_t *values) {
    const edgec_tensor *y = n->outputs[0];
    size_t i;
    memset(y->data, 0xA5, y->nbytes);
    OPS[n->opcode].eval(n, b, e, scratch);
    memcpy(values, y->data, y->nbytes);
    memset(y->data, 0x5A, y->nbytes);
    OPS[n->opcode].eval(n, b, e, scratch);
    for (i = 0; i < y->nbytes; ++i) written[i] = values[i] == y->data[i];
}

/* prepare + eval over all rows, then over a partition of the rows (halves, then first /
 * middle / last row); leaves the full output in the output tensor. Returns 1 if it ran. */
static int run(const char *what, edgec_node *n) {
    edgec_error e;
    edgec_tensor *y = n->outputs[0];
    uint8_t *full, *written, *values, *owner, *scratch_block = 0, *scratch = 0, *inputs_copy[8];
    int32_t cuts[4], ncuts, part, k, i;
    size_t b;
    edgec_status s = prepare(n, &e);
    CHECK(s == EDGEC_OK, "%s: prepare failed (%d): %s", what, (int)s, e.message);
    if (s != EDGEC_OK) return 0;
    CHECK(n->rows >= 1, "%s: rows = %d", what, (int)n->rows);
    if (n->rows < 1) return 0;
    if (n->scratch_bytes) {
        scratch_block = (uint8_t *)talloc(n->scratch_bytes + 64);
        scratch = scratch_block + (64 - (uintptr_t)scratch_block % 64) % 64;
    }
    for (i = 0; i < n->input_count && i < 8; ++i) {
        inputs_copy[i] = 0;
        if (!n->inputs[i]) continue;
        inputs_copy[i] = (uint8_t *)talloc(n->inputs[i]->nbytes);
        memcpy(inputs_copy[i], n->inputs[i]->data, n->inputs[i]->nbytes);
    }
    full = (uint8_t *)talloc(y->nbytes);
    written = (uint8_t *)talloc(y->nbytes);
    values = (uint8_t *)talloc(y->nbytes);
    owner = (uint8_t *)talloc(y->nbytes);
    eval_region(n, 0, n->rows, scratch, written, full);
    for (b = 0; b < y->nbytes; ++b)
        if (!written[b]) {
            CHECK(0, "%s: eval over all %d rows left output byte %lu unwritten", what, (int)n->rows,
                  (unsigned long)b);
            break;
        }
    for (k = 0; k < 2; ++k) {
        if (k == 0) {
            cuts[0] = 0; cuts[1] = n->rows / 2; cuts[2] = n->rows; ncuts = 3;
        } else {
            if (n->rows < 3) break;
            cuts[0] = 0; cuts[1] = 1; cuts[2] = n->rows - 1; cuts[3] = n->rows; ncuts = 4;
        }
        memset(owner, 0, y->nbytes);
        for (part = 0; part + 1 < ncuts; ++part) {
            int bad = 0;
            if (cuts[part] == cuts[part + 1]) continue;
            eval_region(n, cuts[part], cuts[part + 1], scratch, written, values);
            for (b = 0; b < y->nbytes && !bad; ++b) {
                if (!written[b]) continue;
                if (owner[b]) {
                    CHECK(0, "%s: rows [%d,%d) wrote byte %lu that rows of part %d also wrote", what,
                          (int)cuts[part], (int)cuts[part + 1], (unsigned long)b, owner[b] - 1);
                    bad = 1;
                } else if (values[b] != full[b]) {
                    CHECK(0, "%s: rows [%d,%d) wrote byte %lu differently from a full eval", what,
                          (int)cuts[part], (int)cuts[part + 1], (unsigned long)b);
                    bad = 1;
                }
                owner[b] = (uint8_t)(part + 1);
            }
        }
        for (b = 0; b < y->nbytes; ++b)
            if (!owner[b]) {
                CHECK(0, "%s: a split into %d parts of %d rows left byte %lu unwritten", what, (int)ncuts - 1,
                      (int)n->rows, (unsigned long)b);
                break;
            }
    }
    for (i = 0; i < n->input_count && i < 8; ++i)
        if (n->inputs[i])
            CHECK(!memcmp(inputs_copy[i], n->inputs[i]->data, n->inputs[i]->nbytes), "%s: input %d was modified",
                  what, (int)i);
    memcpy(y->data, full, y->nbytes);
    return 1;
}

static void expect_reject(const char *what, edgec_node *n, edgec_status want) {
    edgec_error e;
    const edgec_status s = prepare(n, &e);
    CHECK(s != EDGEC_OK, "%s: prepare accepted it", what);
    CHECK(s == EDGEC_OK || s == want, "%s: status %d, expected %d (%s)", what, (int)s, (int)want, e.message);
    CHECK(s == EDGEC_OK || e.message[0], "%s: refused without a message", what);
    if (verbose && s != EDGEC_OK) printf("  %-16s %-44s -> %s\n", OPS[n->opcode].name, what, e.message);
}

/* |got - want| <= rtol * max|want| (NaN must match NaN), as tests/test_ops_differential.py */
static void check_close(const char *what, const float *got, const float *want, size_t n, float rtol) {
    double scale = 1e-6, worst = 0.0;
    size_t i, at = 0;
    for (i = 0; i < n; ++i)
        if (fabs((double)want[i]) > scale && !isinf(want[i])) scale = fabs((double)want[i]);
    for (i = 0; i < n; ++i) {
        double d;
        if (isnan(want[i]) || isnan(got[i])) {
            d = isnan(want[i]) && isnan(got[i]) ? 0.0 : INFINITY;
        } else if (isinf(want[i]) || isinf(got[i])) {
            d = want[i] == got[i] ? 0.0 : INFINITY;
        } else {
            d = fabs((double)got[i] - (double)want[i]);
        }
        if (d > worst) {
            worst = d;
            at = i;
        }
    }
    CHECK(worst <= rtol * scale, "%s: element %lu is %.9g, expected %.9g (max |d| %.3g > %.3g)", what,
          (unsigned long)at, (double)got[at], (double)want[at], worst, rtol * scale);
}

static float clampf(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* ---- convolution ---- */

typedef struct {
    int32_t n, h, w, c, oc, kh, kw, groups, sh, sw, dh, dw, pt, pl, pb, pr, bias;
    float lo, hi;
} conv_case;

static int32_t out_size(int32_t in, int32_t k, int32_t s, int32_t d, int32_t before, int32_t after) {
    return (in + before + after - d * (k - 1) - 1) / s + 1;
}

/* OPS.md CONV2D, directly: weights [OC,KH,KW,IC/groups] */
static void conv_ref(const conv_case *c, const float *x, const float *w, const float *b, float *y) {
    const int32_t oh = out_size(c->h, c->kh, c->sh, c->dh, c->pt, c->pb);
    const int32_t ow = out_size(c->w, c->kw, c->sw, c->dw, c->pl, c->pr);
    const int32_t icg = c->c / c->groups, ocg = c->oc / c->groups;
    int32_t n, oy, ox, oc, ky, kx, ic;
    for (n = 0; n < c->n; ++n)
        for (oy = 0; oy < oh; ++oy)
            for (ox = 0; ox < ow; ++ox)
                for (oc = 0; oc < c->oc; ++oc) {
                    const int32_t g = oc / ocg;
                    float acc = 0.0f;
                    for (ky = 0; ky < c->kh; ++ky)
                        for (kx = 0; kx < c->kw; ++kx) {
                            const int32_t iy = oy * c->sh - c->pt + ky * c->dh, ix = ox * c->sw - c->pl + kx * c->dw;
                            if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                            for (ic = 0; ic < icg; ++ic)
                                acc += x[((n * c->h + iy) * c->w + ix) * c->c + g * icg + ic] *
                                       w[((oc * c->kh + ky) * c->kw + kx) * icg + ic];
                        }
                    y[((n * oh + oy) * ow + ox) * c->oc + oc] = clampf(b ? acc + b[oc] : acc, c->lo, c->hi);
                }
}

static edgec_conv2d_params conv_params(const conv_case *c) {
    edgec_conv2d_params p;
    memset(&p, 0, sizeof(p));
    p.stride_h = c->sh; p.stride_w = c->sw; p.dilation_h = c->dh; p.dilation_w = c->dw;
    p.pad_top = c->pt; p.pad_left = c->pl; p.pad_bottom = c->pb; p.pad_right = c->pr;
    p.groups = c->groups; p.act_min = c->lo; p.act_max = c->hi;
    return p;
}

static void test_conv2d(void) {
    static const conv_case cases[] = {
        {1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY},
        {2, 7, 6, 4, 6, 3, 2, 2, 2, 1, 2, 1, 0, 2, 1, 0, 0, 0.0f, 6.0f},   /* groups, remainder channels */
        {1, 4, 4, 5, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, -INFINITY, INFINITY}, /* 1x1 GEMM path */
        {1, 4, 5, 6, 9, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, -INFINITY, INFINITY}, /* 1x1 strided */
        {1, 3, 3, 2, 5, 2, 2, 1, 1, 1, 1, 1, 3, 3, 3, 3, 1, -1.0f, 1.0f},  /* windows wholly in padding */
        {2, 9, 8, 8, 8, 3, 3, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0.0f, INFINITY}, /* 4 groups of 2 */
        {1, 6, 6, 16, 12, 3, 3, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, -INFINITY, INFINITY}, /* dilation 2 */
        {1, 10, 3, 4, 4, 5, 1, 1, 3, 1, 1, 1, 2, 0, 2, 0, 0, -INFINITY, INFINITY},  /* tall kernel */
        {1, 1, 1, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY},   /* 1x1 image, SAME */
    };
    size_t i;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const conv_case *c = &cases[i];
        const int32_t oh = out_size(c->h, c->kh, c->sh, c->dh, c->pt, c->pb);
        const int32_t ow = out_size(c->w, c->kw, c->sw, c->dw, c->pl, c->pr);
        const edgec_conv2d_params p = conv_params(c);
        edgec_tensor x = T(F32, randf((size_t)c->n * c->h * c->w * c->c, -1, 1), c->n, c->h, c->w, c->c);
        edgec_tensor w = T(F32, randf((size_t)c->oc * c->kh * c->kw * (c->c / c->groups), -1, 1), c->oc, c->kh,
                           c->kw, c->c / c->groups);
        edgec_tensor b = T(F32, randf((size_t)c->oc, -1, 1), c->oc);
        edgec_tensor y = T(F32, NULL, c->n, oh, ow, c->oc);
        float *want = (float *)talloc(y.nbytes);
        edgec_node n = c->bias ? NODE(CONV2D, p, (edgec_tensor *[]){&y}, &x, &w, &b)
                               : NODE(CONV2D, p, (edgec_tensor *[]){&y}, &x, &w);
        snprintf(what, sizeof(what), "CONV2D case %lu", (unsigned long)i);
        conv_ref(c, (float *)x.data, (float *)w.data, c->bias ? (float *)b.data : 0, want);
        if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
        tfree_all();
    }
    { /* refusals, each a small change of a valid node */
        const conv_case c = {1, 5, 5, 4, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY};
        edgec_conv2d_params p = conv_params(&c), bad;
        edgec_tensor x = T(F32, randf(100, -1, 1), 1, 5, 5, 4);
        edgec_tensor w = T(F32, randf(6 * 9 * 2, -1, 1), 6, 3, 3, 2);
        edgec_tensor b = T(F32, randf(6, -1, 1), 6);
        edgec_tensor y = T(F32, NULL, 1, 5, 5, 6);
        edgec_tensor t;
        edgec_node n = NODE(CONV2D, p, (edgec_tensor *[]){&y}, &x, &w, &b);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "CONV2D base refusal case: %s", e.message);
        n.params = &bad;
#define BAD(field, value, want, what) bad = p; bad.field = value; expect_reject(what, &n, want)
        BAD(stride_h, 0, INV, "stride_h 0");
        BAD(dilation_w, 0, INV, "dilation_w 0");
        BAD(pad_left, -1, INV, "negative padding");
        BAD(pad_top, INT32_MAX, INV, "pad_top INT32_MAX (overflow)");
        BAD(groups, 0, INV, "groups 0");
        BAD(groups, 3, INV, "groups 3 does not divide 4 channels");
        BAD(groups, 1, INV, "groups 1 with [OC,3,3,IC/2] weights");
        BAD(act_min, NAN, INV, "act_min NaN");
        BAD(stride_w, 2, INV, "stride 2 with a stride-1 output shape");
#undef BAD
        n.params = &p;
        t = y; t.dims[1] = 4; t.count = 4 * 5 * 6; t.nbytes = t.count * 4;
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output height 4, expected 5", &n, INV);
        t = y; t.dims[3] = 7; t.count = 5 * 5 * 7; t.nbytes = t.count * 4;
        expect_reject("output channels 7, weights have 6", &n, INV);
        t = y; t.rank = 3; t.dims[3] = 1; t.count = 25; t.nbytes = 100;
        expect_reject("output of rank 3", &n, INV);
        t = y; t.count = 7;
        expect_reject("output count does not match its dims", &n, INV);
        n.outputs = (edgec_tensor *[]){&y};
        t = x; t.dtype = EDGEC_DTYPE_INT16; t.nbytes = t.count * 2;
        n.inputs = (edgec_tensor *[]){&t, &w, &b};
        expect_reject("int16 input", &n, UNS);
        t = w; t.dtype = EDGEC_DTYPE_INT8; t.nbytes = t.count;
        n.inputs = (edgec_tensor *[]){&x, &t, &b};
        expect_reject("float input with int8 weights", &n, UNS);
        t = b; t.dims[0] = 5; t.count = 5; t.nbytes = 20;
        n.inputs = (edgec_tensor *[]){&x, &w, &t};
        expect_reject("bias of 5 for 6 channels", &n, INV);
        t = w; t.rank = 3; t.dims[2] = 6; t.dims[3] = 1;
        n.inputs = (edgec_tensor *[]){&x, &t, &b};
        expect_reject("weights of rank 3", &n, INV);
        n.inputs = (edgec_tensor *[]){&x, NULL, &b};
        expect_reject("weights absent", &n, INV);
        n.inputs = (edgec_tensor *[]){&x, &w, &b, &b};
        n.input_count = 4;
        expect_reject("4 inputs for fp32", &n, INV);
        n.inputs = (edgec_tensor *[]){&y, &w, &b};
        n.input_count = 3;
        expect_reject("output is also input 0", &n, INV);
        tfree_all();
    }
}

static void test_depthwise_conv2d(void) {
    static const conv_case cases[] = { /* c = input channels, oc = c * multiplier */
        {1, 6, 5, 5, 5, 3, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY},
        {2, 7, 7, 2, 6, 3, 3, 0, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0.0f, 6.0f},
        {1, 8, 9, 4, 4, 3, 2, 0, 1, 2, 2, 3, 2, 0, 3, 1, 0, -INFINITY, INFINITY},
        {1, 2, 2, 3, 6, 5, 5, 0, 1, 1, 1, 1, 4, 4, 4, 4, 1, -0.5f, 0.5f},
    };
    size_t i;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        conv_case c = cases[i];
        const int32_t m = c.oc / c.c;
        const int32_t oh = out_size(c.h, c.kh, c.sh, c.dh, c.pt, c.pb);
        const int32_t ow = out_size(c.w, c.kw, c.sw, c.dw, c.pl, c.pr);
        edgec_depthwise_conv2d_params p;
        edgec_tensor x = T(F32, randf((size_t)c.n * c.h * c.w * c.c, -1, 1), c.n, c.h, c.w, c.c);
        edgec_tensor w = T(F32, randf((size_t)c.kh * c.kw * c.oc, -1, 1), 1, c.kh, c.kw, c.oc);
        edgec_tensor b = T(F32, randf((size_t)c.oc, -1, 1), c.oc);
        edgec_tensor y = T(F32, NULL, c.n, oh, ow, c.oc);
        float *want = (float *)talloc(y.nbytes), *wg = (float *)talloc(w.nbytes);
        int32_t oc, k;
        edgec_node n;
        memset(&p, 0, sizeof(p));
        p.stride_h = c.sh; p.stride_w = c.sw; p.dilation_h = c.dh; p.dilation_w = c.dw;
        p.pad_top = c.pt; p.pad_left = c.pl; p.pad_bottom = c.pb; p.pad_right = c.pr;
        p.depth_multiplier = m; p.act_min = c.lo; p.act_max = c.hi;
        n = c.bias ? NODE(DEPTHWISE_CONV2D, p, (edgec_tensor *[]){&y}, &x, &w, &b)
                   : NODE(DEPTHWISE_CONV2D, p, (edgec_tensor *[]){&y}, &x, &w);
        /* OPS.md: CONV2D with groups = C, weights [C*M, KH, KW, 1] */
        for (oc = 0; oc < c.oc; ++oc)
            for (k = 0; k < c.kh * c.kw; ++k) wg[oc * c.kh * c.kw + k] = ((float *)w.data)[k * c.oc + oc];
        c.groups = c.c;
        conv_ref(&c, (float *)x.data, wg, c.bias ? (float *)b.data : 0, want);
        snprintf(what, sizeof(what), "DEPTHWISE_CONV2D case %lu", (unsigned long)i);
        if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
        tfree_all();
    }
    {
        edgec_depthwise_conv2d_params p, bad;
        edgec_tensor x = T(F32, randf(75, -1, 1), 1, 5, 5, 3);
        edgec_tensor w = T(F32, randf(54, -1, 1), 1, 3, 3, 6);
        edgec_tensor y = T(F32, NULL, 1, 3, 3, 6);
        edgec_tensor t;
        edgec_node n = NODE(DEPTHWISE_CONV2D, p, (edgec_tensor *[]){&y}, &x, &w);
        edgec_error e;
        memset(&p, 0, sizeof(p));
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        p.depth_multiplier = 2;
        p.act_min = -INFINITY; p.act_max = INFINITY;
        CHECK(prepare(&n, &e) == EDGEC_OK, "DEPTHWISE base refusal case: %s", e.message);
        bad = p; bad.depth_multiplier = 3; n.params = &bad;
        expect_reject("multiplier 3 for 3 -> 6 channels", &n, INV);
        bad = p; bad.depth_multiplier = 0;
        expect_reject("multiplier 0", &n, INV);
        bad = p; bad.dilation_h = -1;
        expect_reject("negative dilation", &n, INV);
        n.params = &p;
        t = w; t.dims[0] = 2; t.dims[3] = 3;
        n.inputs = (edgec_tensor *[]){&x, &t};
        expect_reject("weights [2,3,3,3]", &n, INV);
        tfree_all();
    }
}

/* ---- matmul ---- */

static void test_fully_connected(void) {
    static const int32_t shapes[][3] = {{3, 10, 70}, {1, 7, 3}, {4, 1, 5}, {2, 33, 64}};
    size_t i;
    char what[64];
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); ++i) {
        const int32_t M = shapes[i][0], K = shapes[i][1], N = shapes[i][2];
        const int with_bias = i != 1;
        edgec_fully_connected_params p;
        edgec_tensor x = T(F32, randf((size_t)M * K, -1, 1), M, 1, K); /* any shape of M*K */
        edgec_tensor w = T(F32, randf((size_t)N * K, -1, 1), N, K);
        edgec_tensor b = T(F32, randf((size_t)N, -1, 1), N);
        edgec_tensor y = T(F32, NULL, M, N);
        float *want = (float *)talloc(y.nbytes);
        int32_t m, j, k;
        edgec_node n;
        memset(&p, 0, sizeof(p));
        p.act_min = i == 2 ? 0.0f : -INFINITY;
        p.act_max = INFINITY;
        n = with_bias ? NODE(FULLY_CONNECTED, p, (edgec_tensor *[]){&y}, &x, &w, &b)
                      : NODE(FULLY_CONNECTED, p, (edgec_tensor *[]){&y}, &x, &w);
        for (m = 0; m < M; ++m)
            for (j = 0; j < N; ++j) {
                float acc = 0.0f;
                for (k = 0; k < K; ++k) acc += ((float *)x.data)[m * K + k] * ((float *)w.data)[j * K + k];
                want[m * N + j] = clampf(with_bias ? acc + ((float *)b.data)[j] : acc, p.act_min, p.act_max);
            }
        snprintf(what, sizeof(what), "FULLY_CONNECTED %dx%d x %d", (int)M, (int)K, (int)N);
        if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
        tfree_all();
    }
    {
        edgec_fully_connected_params p;
        edgec_tensor x = T(F32, randf(30, -1, 1), 3, 10);
        edgec_tensor w = T(F32, randf(50, -1, 1), 5, 10);
        edgec_tensor b = T(F32, randf(5, -1, 1), 5);
        edgec_tensor y = T(F32, NULL, 3, 5);
        edgec_tensor t, t2;
        edgec_node n = NODE(FULLY_CONNECTED, p, (edgec_tensor *[]){&y}, &x, &w, &b);
        edgec_error e;
        memset(&p, 0, sizeof(p));
        p.act_min = -INFINITY; p.act_max = INFINITY;
        CHECK(prepare(&n, &e) == EDGEC_OK, "FC base refusal case: %s", e.message);
        t = T(F32, randf(28, -1, 1), 4, 7);
        n.inputs = (edgec_tensor *[]){&t, &w, &b};
        expect_reject("input of 28 values, K = 10", &n, INV);
        t = T(F32, NULL, 3, 6);
        n.inputs = (edgec_tensor *[]){&x, &w, &b};
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output 3x6 for N = 5", &n, INV);
        n.outputs = (edgec_tensor *[]){&y};
        t = T(F32, NULL, 4);
        n.inputs = (edgec_tensor *[]){&x, &w, &t};
        expect_reject("bias of 4 for N = 5", &n, INV);
        t = T(F32, NULL, 5, 2, 5);
        n.inputs = (edgec_tensor *[]){&x, &t, &b};
        expect_reject("weights of rank 3", &n, INV);
        t2 = T(EDGEC_DTYPE_UINT8, NULL, 3, 10);
        n.inputs = (edgec_tensor *[]){&t2, &w, &b};
        expect_reject("uint8 input", &n, UNS);
        p.act_max = NAN;
        n.inputs = (edgec_tensor *[]){&x, &w, &b};
        expect_reject("act_max NaN", &n, INV);
        tfree_all();
    }
}

/* numpy matmul with broadcast batch axes; shapes given after the transpose flags apply */
static void test_batch_matmul(void) {
    static const struct {
        int32_t ra, a[4], rb, b[4], ry, y[4];
    } cases[] = {
        {4, {2, 1, 3, 4}, 3, {3, 4, 5}, 4, {2, 3, 3, 5}},
        {2, {1, 6}, 2, {6, 7}, 2, {1, 7}},
        {2, {3, 2}, 4, {2, 2, 2, 4}, 4, {2, 2, 3, 4}},
        {3, {5, 9, 8}, 3, {1, 8, 6}, 3, {5, 9, 6}},
    };
    size_t i;
    int ta, tb;
    char what[80];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        for (ta = 0; ta < 2; ++ta)
            for (tb = 0; tb < 2; ++tb) {
                const int32_t ra = cases[i].ra, rb = cases[i].rb, ry = cases[i].ry;
                const int32_t M = cases[i].a[ra - 2], K = cases[i].a[ra - 1], N = cases[i].b[rb - 1];
                int32_t ad[4], bd[4], d, batches = 1, bt, r, q, j;
                edgec_batch_matmul_params p;
                edgec_tensor a, b, y;
                float *want;
                edgec_node n;
                memcpy(ad, cases[i].a, sizeof(ad));
                memcpy(bd, cases[i].b, sizeof(bd));
                if (ta) { ad[ra - 2] = K; ad[ra - 1] = M; }
                if (tb) { bd[rb - 2] = N; bd[rb - 1] = K; }
                a = tensor(F32, NULL, ra, ad);
                b = tensor(F32, NULL, rb, bd);
                memcpy(a.data, randf(a.count, -1, 1), a.nbytes);
                memcpy(b.data, randf(b.count, -1, 1), b.nbytes);
                y = tensor(F32, NULL, ry, cases[i].y);
                want = (float *)talloc(y.nbytes);
                p.transpose_a = ta;
                p.transpose_b = tb;
                n = NODE(BATCH_MATMUL, p, (edgec_tensor *[]){&y}, &a, &b);
                for (d = 0; d < ry - 2; ++d) batches *= cases[i].y[d];
                for (bt = 0; bt < batches; ++bt) {
                    /* batch offsets of a and b: unravel bt over y's batch dims, right-aligned */
                    int32_t oa = 0, ob = 0, rem = bt, sa = M * K, sb = K * N;
                    for (d = ry - 3; d >= 0; --d) {
                        const int32_t idx = rem % cases[i].y[d], da = d - (ry - ra), db = d - (ry - rb);
                        rem /= cases[i].y[d];
                        if (da >= 0) { oa += (ad[da] == 1 ? 0 : idx) * sa; sa *= ad[da]; }
                        if (db >= 0) { ob += (bd[db] == 1 ? 0 : idx) * sb; sb *= bd[db]; }
                    }
                    for (r = 0; r < M; ++r)
                        for (j = 0; j < N; ++j) {
                            float acc = 0.0f;
                            for (q = 0; q < K; ++q)
                                acc += ((float *)a.data)[oa + (ta ? q * M + r : r * K + q)] *
                                       ((float *)b.data)[ob + (tb ? j * K + q : q * N + j)];
                            want[(bt * M + r) * N + j] = acc;
                        }
                }
                snprintf(what, sizeof(what), "BATCH_MATMUL case %lu ta=%d tb=%d", (unsigned long)i, ta, tb);
                if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
                tfree_all();
            }
    {
        edgec_batch_matmul_params p = {0, 0}, bad;
        edgec_tensor a = T(F32, NULL, 2, 3, 4), b = T(F32, NULL, 2, 4, 5), y = T(F32, NULL, 2, 3, 5);
        edgec_tensor t;
        edgec_node n = NODE(BATCH_MATMUL, p, (edgec_tensor *[]){&y}, &a, &b);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "BATCH_MATMUL base refusal case: %s", e.message);
        bad = p; bad.transpose_a = 2; n.params = &bad;
        expect_reject("transpose_a 2", &n, INV);
        bad = p; bad.transpose_b = 1;
        expect_reject("transpose_b makes K 5 vs 4", &n, INV);
        n.params = &p;
        t = T(F32, NULL, 3, 4, 5);
        n.inputs = (edgec_tensor *[]){&a, &t};
        expect_reject("batch 2 vs 3", &n, INV);
        t = T(F32, NULL, 12);
        n.inputs = (edgec_tensor *[]){&t, &b};
        expect_reject("a of rank 1", &n, INV);
        t = T(F32, NULL, 2, 3, 6);
        n.inputs = (edgec_tensor *[]){&a, &b};
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output 3x6 for 3x5", &n, INV);
        t = T(F32, NULL, 4, 3, 5);
        expect_reject("output batch 4 from batch 2", &n, INV);
        tfree_all();
    }
}

/* ---- binary ---- */

static int32_t dim_at(const edgec_tensor *t, int32_t rank, int32_t i) {
    const int32_t j = i - (rank - t->rank);
    return j >= 0 ? t->dims[j] : 1;
}

/* flat index into t of output element o (numpy broadcasting) */
static size_t broadcast_index(const edgec_tensor *t, const edgec_tensor *y, size_t o) {
    size_t idx = 0, stride = 1;
    int32_t d;
    for (d = y->rank - 1; d >= 0; --d) {
        const size_t i = o % (size_t)y->dims[d];
        const int32_t td = dim_at(t, y->rank, d);
        o /= (size_t)y->dims[d];
        if (td != 1) idx += i * stride;
        stride *= (size_t)td;
    }
    return idx;
}

static float binary_ref(int32_t op, float u, float v) {
    switch (op) {
    case EDGEC_OP_ADD: return u + v;
    case EDGEC_OP_SUB: return u - v;
    case EDGEC_OP_MUL: return u * v;
    case EDGEC_OP_DIV: return u / v;
    case EDGEC_OP_MAXIMUM: return u > v ? u : v;
    case EDGEC_OP_MINIMUM: return u < v ? u : v;
    case EDGEC_OP_POW: return powf(u, v);
    default: return u >= 0.0f ? u : u * v; /* PRELU */
    }
}

static void test_binary(void) {
    static const struct {
        int32_t ra, a[6], rb, b[6];
    } cases[] = {
        {3, {2, 3, 4}, 3, {2, 3, 4}},          /* same shape */
        {3, {2, 3, 4}, 1, {1}},                /* scalar b */
        {0, {0}, 3, {2, 3, 4}},                /* rank-0 scalar a */
        {3, {2, 3, 4}, 1, {4}},                /* last-axis vector b */
        {1, {4}, 3, {2, 3, 4}},                /* last-axis vector a */
        {3, {2, 1, 4}, 2, {3, 1}},             /* both broadcast */
        {2, {5, 1}, 2, {1, 6}},                /* outer product */
        {6, {2, 1, 3, 1, 2, 2}, 6, {1, 3, 1, 2, 1, 2}},
        {2, {3, 3000}, 1, {3000}},             /* chunks end mid-axis */
        {2, {3000, 3}, 2, {3000, 1}},          /* b constant along the inner axis */
        {3, {1, 1, 1}, 1, {1}},                /* one element */
        {4, {2, 1, 1, 5}, 4, {2, 3, 4, 1}},
    };
    static const int32_t ops[] = {EDGEC_OP_ADD, EDGEC_OP_SUB, EDGEC_OP_MUL, EDGEC_OP_DIV,
                                  EDGEC_OP_MAXIMUM, EDGEC_OP_MINIMUM, EDGEC_OP_POW, EDGEC_OP_PRELU};
    size_t i, k, o;
    char what[80];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        for (k = 0; k < sizeof(ops) / sizeof(ops[0]); ++k) {
            const int32_t ra = cases[i].ra, rb = cases[i].rb, ry = ra > rb ? ra : rb;
            const int32_t op = ops[k];
            int32_t yd[6], d;
            edgec_binary_params p;
            edgec_tensor a = tensor(F32, NULL, ra, cases[i].a), b = tensor(F32, NULL, rb, cases[i].b), y;
            float *want;
            edgec_node n;
            for (d = 0; d < ry; ++d) {
                const int32_t da = dim_at(&a, ry, d), db = dim_at(&b, ry, d);
                yd[d] = da > db ? da : db;
            }
            y = tensor(F32, NULL, ry, yd);
            want = (float *)talloc(y.nbytes);
            memcpy(a.data, randf(a.count, op == EDGEC_OP_POW ? 0.1f : -2.0f, 2.0f), a.nbytes);
            memcpy(b.data, randf(b.count, op == EDGEC_OP_PRELU ? -0.5f : 0.5f, 2.0f), b.nbytes);
            memset(&p, 0, sizeof(p));
            p.act_min = k % 2 ? -1.5f : -INFINITY;
            p.act_max = k % 2 ? 1.5f : INFINITY;
            n = make_node(op, (edgec_tensor *[]){&a, &b}, 2, (edgec_tensor *[]){&y}, &p, sizeof(p));
            for (o = 0; o < y.count; ++o)
                want[o] = clampf(binary_ref(op, ((float *)a.data)[broadcast_index(&a, &y, o)],
                                            ((float *)b.data)[broadcast_index(&b, &y, o)]),
                                 p.act_min, p.act_max);
            snprintf(what, sizeof(what), "%s case %lu", OPS[op].name, (unsigned long)i);
            if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
            tfree_all();
        }
    {
        edgec_binary_params p;
        edgec_tensor a = T(F32, NULL, 2, 3), b = T(F32, NULL, 3), y = T(F32, NULL, 2, 3), t, t2;
        edgec_node n = NODE(ADD, p, (edgec_tensor *[]){&y}, &a, &b);
        edgec_error e;
        memset(&p, 0, sizeof(p));
        p.act_min = -INFINITY; p.act_max = INFINITY;
        CHECK(prepare(&n, &e) == EDGEC_OK, "ADD base refusal case: %s", e.message);
        t = T(F32, NULL, 4);
        n.inputs = (edgec_tensor *[]){&a, &t};
        expect_reject("[2,3] + [4]", &n, INV);
        t = T(F32, NULL, 4, 2, 3);
        n.inputs = (edgec_tensor *[]){&a, &b};
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output [4,2,3] from [2,3] + [3]", &n, INV);
        t = T(F32, NULL, 3);
        expect_reject("output [3] from [2,3] + [3]", &n, INV);
        n.outputs = (edgec_tensor *[]){&y};
        t = T(EDGEC_DTYPE_INT16, NULL, 2, 3);
        n.inputs = (edgec_tensor *[]){&t, &b};
        expect_reject("int16 input", &n, UNS);
        t = T(EDGEC_DTYPE_INT8, NULL, 2, 3);
        t2 = T(EDGEC_DTYPE_INT8, NULL, 2, 3);
        n = NODE(DIV, p, (edgec_tensor *[]){&t2}, &t, &t);
        expect_reject("int8 DIV", &n, UNS);
        n = NODE(MUL, p, (edgec_tensor *[]){&y}, &a, &b);
        p.act_min = NAN;
        expect_reject("act_min NaN", &n, INV);
        p.act_min = -INFINITY;
        n.inputs = (edgec_tensor *[]){&a, NULL};
        expect_reject("input 1 absent", &n, INV);
        n.inputs = (edgec_tensor *[]){&a, &b};
        n.input_count = 1;
        expect_reject("one input", &n, INV);
        tfree_all();
    }
}

/* ---- element-wise activations ---- */

static double unary_ref(int32_t kind, double x, double alpha, double beta) {
    double r;
    switch (kind) {
    case EDGEC_UNARY_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case EDGEC_UNARY_TANH: return tanh(x);
    case EDGEC_UNARY_HARD_SWISH: r = x + 3.0; r = r < 0 ? 0 : (r > 6 ? 6 : r); return x * r / 6.0;
    case EDGEC_UNARY_EXP: return exp(x);
    case EDGEC_UNARY_LOG: return log(x);
    case EDGEC_UNARY_SQRT: return sqrt(x);
    case EDGEC_UNARY_RSQRT: return 1.0 / sqrt(x);
    case EDGEC_UNARY_ABS: return fabs(x);
    case EDGEC_UNARY_NEG: return -x;
    case EDGEC_UNARY_FLOOR: return floor(x);
    case EDGEC_UNARY_CEIL: return ceil(x);
    default: r = (float)alpha * (float)x + (float)beta; return r < 0 ? 0 : (r > 1 ? 1 : r);
    }
}

static void test_activations(void) {
    const size_t count = 2 * 2500; /* two chunks */
    int32_t kind, i;
    char what[64];
    size_t k;
    for (kind = EDGEC_UNARY_SIGMOID; kind <= EDGEC_UNARY_HARD_SIGMOID; ++kind) {
        const int positive = kind == EDGEC_UNARY_LOG || kind == EDGEC_UNARY_SQRT || kind == EDGEC_UNARY_RSQRT;
        edgec_unary_params p;
        edgec_tensor x = T(F32, randf(count, positive ? 0.1f : -4.0f, 4.0f), 2, 2500), y = T(F32, NULL, 5000);
        float *want = (float *)talloc(y.nbytes);
        edgec_node n;
        p.kind = kind; p.alpha = 0.2f; p.beta = 0.5f;
        n = NODE(UNARY, p, (edgec_tensor *[]){&y}, &x);
        for (k = 0; k < count; ++k) want[k] = (float)unary_ref(kind, ((float *)x.data)[k], p.alpha, p.beta);
        snprintf(what, sizeof(what), "UNARY kind %d", (int)kind);
        if (run(what, &n)) check_close(what, (float *)y.data, want, count, 1e-5f);
        tfree_all();
    }
    for (i = 0; i < 4; ++i) {
        edgec_tensor x = T(F32, randf(count, -4.0f, 4.0f), 2, 2500), y = T(F32, NULL, 2, 2500);
        float *want = (float *)talloc(y.nbytes);
        const float *xv = (const float *)x.data;
        edgec_clamp_params pc = {-0.5f, 0.7f};
        edgec_leaky_relu_params pl = {0.1f};
        edgec_gelu_params pg = {i == 3};
        edgec_tensor *ins[] = {&x}, *outs[] = {&y};
        edgec_node n = i == 0   ? make_node(EDGEC_OP_CLAMP, ins, 1, outs, &pc, sizeof(pc))
                       : i == 1 ? make_node(EDGEC_OP_LEAKY_RELU, ins, 1, outs, &pl, sizeof(pl))
                                : make_node(EDGEC_OP_GELU, ins, 1, outs, &pg, sizeof(pg));
        for (k = 0; k < count; ++k) {
            const double v = xv[k];
            if (i == 0) want[k] = clampf(xv[k], pc.min, pc.max);
            else if (i == 1) want[k] = xv[k] >= 0 ? xv[k] : xv[k] * pl.alpha;
            else if (i == 2) want[k] = (float)(0.5 * v * (1.0 + erf(v / sqrt(2.0))));
            else want[k] = (float)(0.5 * v * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v))));
        }
        snprintf(what, sizeof(what), "%s%s", OPS[n.opcode].name, i == 3 ? " (tanh)" : "");
        if (run(what, &n)) check_close(what, (float *)y.data, want, count, 1e-5f);
        tfree_all();
    }
    {
        edgec_unary_params pu = {12, 0.0f, 0.0f};
        edgec_clamp_params pc = {NAN, 1.0f};
        edgec_gelu_params pg = {2};
        edgec_tensor x = T(F32, NULL, 10), y = T(F32, NULL, 10), y9 = T(F32, NULL, 9);
        edgec_tensor q = T(EDGEC_DTYPE_INT8, NULL, 10);
        edgec_node n = NODE(UNARY, pu, (edgec_tensor *[]){&y}, &x);
        expect_reject("unknown unary kind 12", &n, UNS);
        n = NODE(CLAMP, pc, (edgec_tensor *[]){&y}, &x);
        expect_reject("clamp min NaN", &n, INV);
        n = NODE(GELU, pg, (edgec_tensor *[]){&y}, &x);
        expect_reject("approximate 2", &n, INV);
        pg.approximate = 0;
        n = NODE(GELU, pg, (edgec_tensor *[]){&y9}, &x);
        expect_reject("10 elements in, 9 out", &n, INV);
        n = NODE(GELU, pg, (edgec_tensor *[]){&y}, &q);
        expect_reject("int8 input", &n, UNS);
        tfree_all();
    }
}

/* ---- pooling ---- */

static void test_pool(void) {
    static const struct {
        int32_t n, h, w, c, fh, fw, sh, sw, pt, pl, pb, pr, include_pad;
        float lo, hi;
    } cases[] = {
        {1, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, -INFINITY, INFINITY},
        {2, 7, 6, 4, 3, 2, 2, 2, 2, 1, 1, 0, 1, -INFINITY, INFINITY},
        {1, 4, 4, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0.0f, 0.5f},
        {1, 1, 1, 6, 2, 2, 1, 1, 1, 1, 0, 0, 0, -INFINITY, INFINITY},
        {1, 7, 7, 17, 7, 7, 1, 1, 0, 0, 0, 0, 0, -INFINITY, INFINITY}, /* global */
        {1, 6, 9, 3, 4, 3, 3, 2, 3, 2, 2, 1, 0, -0.2f, 0.2f},
    };
    size_t i;
    int avg;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        for (avg = 0; avg < 2; ++avg) {
            const int32_t H = cases[i].h, W = cases[i].w, C = cases[i].c, N = cases[i].n;
            const int32_t oh = (H + cases[i].pt + cases[i].pb - cases[i].fh) / cases[i].sh + 1;
            const int32_t ow = (W + cases[i].pl + cases[i].pr - cases[i].fw) / cases[i].sw + 1;
            edgec_pool2d_params p;
            edgec_tensor x = T(F32, randf((size_t)N * H * W * C, -1, 1), N, H, W, C), y = T(F32, NULL, N, oh, ow, C);
            float *want = (float *)talloc(y.nbytes);
            int32_t n, oy, ox, c, ky, kx;
            edgec_node node;
            memset(&p, 0, sizeof(p));
            p.filter_h = cases[i].fh; p.filter_w = cases[i].fw; p.stride_h = cases[i].sh; p.stride_w = cases[i].sw;
            p.pad_top = cases[i].pt; p.pad_left = cases[i].pl; p.pad_bottom = cases[i].pb; p.pad_right = cases[i].pr;
            p.count_include_pad = cases[i].include_pad; p.act_min = cases[i].lo; p.act_max = cases[i].hi;
            node = avg ? NODE(AVG_POOL2D, p, (edgec_tensor *[]){&y}, &x) : NODE(MAX_POOL2D, p, (edgec_tensor *[]){&y}, &x);
            for (n = 0; n < N; ++n)
                for (oy = 0; oy < oh; ++oy)
                    for (ox = 0; ox < ow; ++ox)
                        for (c = 0; c < C; ++c) {
                            float acc = avg ? 0.0f : -INFINITY, taps = 0.0f;
                            for (ky = 0; ky < p.filter_h; ++ky)
                                for (kx = 0; kx < p.filter_w; ++kx) {
                                    const int32_t iy = oy * p.stride_h - p.pad_top + ky, ix = ox * p.stride_w - p.pad_left + kx;
                                    float v;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                    v = ((float *)x.data)[((n * H + iy) * W + ix) * C + c];
                                    acc = avg ? acc + v : (v > acc ? v : acc);
                                    taps += 1.0f;
                                }
                            if (avg) acc /= p.count_include_pad ? (float)(p.filter_h * p.filter_w) : taps;
                            want[((n * oh + oy) * ow + ox) * C + c] = clampf(acc, p.act_min, p.act_max);
                        }
            snprintf(what, sizeof(what), "%s case %lu", avg ? "AVG_POOL2D" : "MAX_POOL2D", (unsigned long)i);
            if (run(what, &node)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
            tfree_all();
        }
    {
        edgec_pool2d_params p, bad;
        edgec_tensor x = T(F32, NULL, 1, 5, 5, 2), y = T(F32, NULL, 1, 5, 5, 2), t;
        edgec_node n = NODE(AVG_POOL2D, p, (edgec_tensor *[]){&y}, &x);
        edgec_error e;
        memset(&p, 0, sizeof(p));
        p.filter_h = p.filter_w = 3;
        p.stride_h = p.stride_w = 1;
        p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
        p.act_min = -INFINITY; p.act_max = INFINITY;
        CHECK(prepare(&n, &e) == EDGEC_OK, "POOL base refusal case: %s", e.message);
        n.params = &bad;
        bad = p; bad.pad_top = 3; bad.pad_bottom = 0;
        expect_reject("pad_top 3 = filter_h", &n, INV);
        bad = p; bad.stride_w = 0;
        expect_reject("stride_w 0", &n, INV);
        bad = p; bad.filter_h = 0;
        expect_reject("filter_h 0", &n, INV);
        bad = p; bad.count_include_pad = 2;
        expect_reject("count_include_pad 2", &n, INV);
        bad = p; bad.filter_w = 9; bad.pad_left = bad.pad_right = 1;
        expect_reject("filter 3x9 over a padded 7x7", &n, INV);
        n.params = &p;
        t = T(F32, NULL, 1, 5, 5, 3);
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output channels 3 for 2", &n, INV);
        t = T(F32, NULL, 1, 25, 2);
        expect_reject("output of rank 3", &n, INV);
        tfree_all();
    }
}

/* ---- REDUCE ---- */

static void test_reduce(void) {
    static const struct {
        int32_t rank, dims[4], mask;
    } cases[] = {
        {4, {2, 3, 4, 5}, 0x1}, {4, {2, 3, 4, 5}, 0x2}, {4, {2, 3, 4, 5}, 0x6}, {4, {2, 3, 4, 5}, 0x8},
        {4, {2, 3, 4, 5}, 0xA}, {4, {2, 3, 4, 5}, 0xF}, {4, {2, 3, 4, 5}, 0x5}, {4, {2, 3, 4, 5}, 0x9},
        {3, {1, 4, 600}, 0x2},   /* inner axis kept, 3 rows */
        {2, {700, 3}, 0x2},      /* inner axis reduced, 3 rows */
        {3, {1, 1, 5}, 0x1},     /* only a size-1 axis reduced */
        {1, {1}, 0x1},           /* one element */
        {4, {1, 7, 7, 33}, 0x6}, /* spatial mean */
    };
    size_t i, o, k;
    int32_t kind;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        for (kind = EDGEC_REDUCE_MEAN; kind <= EDGEC_REDUCE_MIN; ++kind) {
            const int32_t rank = cases[i].rank, mask = cases[i].mask;
            int32_t yd[4], d, ny = 0;
            edgec_reduce_params p;
            edgec_tensor x = tensor(F32, NULL, rank, cases[i].dims), y;
            float *want, *xv = (float *)x.data;
            size_t reduced = 1;
            edgec_node n;
            for (d = 0; d < rank; ++d) {
                if (mask >> d & 1) reduced *= (size_t)cases[i].dims[d];
                else yd[ny++] = cases[i].dims[d]; /* reduced axes dropped */
            }
            if (!ny) yd[ny++] = 1;
            y = tensor(F32, NULL, ny, yd);
            want = (float *)talloc(y.nbytes);
            memcpy(xv, randf(x.count, -1, 1), x.nbytes);
            memset(&p, 0, sizeof(p));
            p.axes_mask = mask;
            p.kind = kind;
            n = NODE(REDUCE, p, (edgec_tensor *[]){&y}, &x);
            for (o = 0; o < y.count; ++o) want[o] = kind == EDGEC_REDUCE_MAX ? -INFINITY : kind == EDGEC_REDUCE_MIN ? INFINITY : 0.0f;
            for (k = 0; k < x.count; ++k) { /* each input to its output, in input order */
                size_t rem = k, out = 0, stride = 1;
                for (d = rank - 1; d >= 0; --d) {
                    const size_t idx = rem % (size_t)cases[i].dims[d];
                    rem /= (size_t)cases[i].dims[d];
                    if (!(mask >> d & 1)) {
                        out += idx * stride;
                        stride *= (size_t)cases[i].dims[d];
                    }
                }
                if (kind == EDGEC_REDUCE_MAX) want[out] = xv[k] > want[out] ? xv[k] : want[out];
                else if (kind == EDGEC_REDUCE_MIN) want[out] = xv[k] < want[out] ? xv[k] : want[out];
                else want[out] += xv[k];
            }
            if (kind == EDGEC_REDUCE_MEAN)
                for (o = 0; o < y.count; ++o) want[o] /= (float)reduced;
            snprintf(what, sizeof(what), "REDUCE case %lu kind %d", (unsigned long)i, (int)kind);
            if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
            tfree_all();
        }
    {
        edgec_reduce_params p = {0x2, EDGEC_REDUCE_SUM, 0, 0, 0}, bad;
        edgec_tensor x = T(F32, NULL, 2, 3, 4), y = T(F32, NULL, 2, 1, 4), t;
        edgec_node n = NODE(REDUCE, p, (edgec_tensor *[]){&y}, &x);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "REDUCE base refusal case: %s", e.message);
        n.params = &bad;
        bad = p; bad.axes_mask = 0;
        expect_reject("empty axes mask", &n, INV);
        bad = p; bad.axes_mask = 0x8;
        expect_reject("axis 3 of a rank-3 input", &n, INV);
        bad = p; bad.kind = 4;
        expect_reject("kind 4", &n, UNS);
        n.params = &p;
        t = T(F32, NULL, 2, 3);
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("6 outputs where 8 remain", &n, INV);
        tfree_all();
    }
}

/* ---- data movement ---- */

/* OPS.md PAD source index along one axis; -1 for the constant */
static int32_t pad_source(int32_t o, int32_t before, int32_t n, int32_t mode) {
    const int32_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (mode == 0) return -1;
    if (mode == 2) return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i;
}

static void pad_ref(const edgec_tensor *x, const edgec_tensor *y, const int32_t *pads, int32_t mode,
                    const void *fill, uint8_t *want) {
    const size_t es = edgec_dtype_size(x->dtype);
    size_t o;
    int32_t d;
    for (o = 0; o < y->count; ++o) {
        size_t rem = o, src = 0, stride = 1;
        int inside = 1;
        for (d = y->rank - 1; d >= 0; --d) {
            const int32_t i = pad_source((int32_t)(rem % (size_t)y->dims[d]), pads[2 * d], x->dims[d], mode);
            rem /= (size_t)y->dims[d];
            if (i < 0) inside = 0;
            else src += (size_t)i * stride;
            stride *= (size_t)x->dims[d];
        }
        memcpy(want + o * es, inside ? x->data + src * es : (const uint8_t *)fill, es);
    }
}

static void test_pad(void) {
    static const struct {
        int32_t dtype, rank, dims[3], pads[6], mode;
        float value;
    } cases[] = {
        {F32, 3, {2, 3, 4}, {1, 0, 0, 2, 2, 1}, 0, 0.5f},
        {F32, 3, {2, 3, 4}, {0, 0, 1, 1, 0, 0}, 0, 0.0f}, /* inner axis unpadded: blocks of 4 */
        {F32, 3, {2, 3, 4}, {1, 1, 2, 1, 3, 2}, 1, 0.0f},
        {F32, 3, {2, 3, 4}, {2, 1, 0, 3, 1, 4}, 2, 0.0f},
        {F32, 1, {5}, {4, 4}, 1, 0.0f},
        {F32, 3, {2, 3, 4}, {0, 0, 0, 0, 0, 0}, 1, 0.0f},  /* a copy */
        {EDGEC_DTYPE_INT8, 2, {3, 4}, {1, 1, 2, 0}, 0, -3.0f},
        {EDGEC_DTYPE_INT8, 2, {3, 4}, {2, 1, 3, 2}, 1, 0.0f},
        {EDGEC_DTYPE_INT16, 3, {2, 2, 3}, {1, 2, 0, 1, 2, 2}, 2, 0.0f},
        {EDGEC_DTYPE_INT32, 2, {3, 2}, {0, 1, 1, 0}, 0, 7.0f},
    };
    size_t i;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const int32_t rank = cases[i].rank, dtype = cases[i].dtype;
        int32_t yd[3], d;
        edgec_pad_params p;
        edgec_tensor x = tensor(dtype, NULL, rank, cases[i].dims), y;
        uint8_t *want, fill[8];
        size_t k;
        edgec_node n;
        for (d = 0; d < rank; ++d) yd[d] = cases[i].dims[d] + cases[i].pads[2 * d] + cases[i].pads[2 * d + 1];
        y = tensor(dtype, NULL, rank, yd);
        want = (uint8_t *)talloc(y.nbytes);
        for (k = 0; k < x.nbytes; ++k) x.data[k] = (uint8_t)(k * 37 + 11);
        if (dtype == F32) memcpy(x.data, randf(x.count, -1, 1), x.nbytes);
        memset(&p, 0, sizeof(p));
        for (d = 0; d < 2 * rank; ++d) p.pads[d] = cases[i].pads[d];
        p.mode = cases[i].mode;
        p.value = cases[i].value;
        memset(fill, 0, sizeof(fill));
        if (dtype == F32) memcpy(fill, &p.value, 4);
        else if (dtype == EDGEC_DTYPE_INT8) { int8_t v = (int8_t)p.value; memcpy(fill, &v, 1); }
        else if (dtype == EDGEC_DTYPE_INT32) { int32_t v = (int32_t)p.value; memcpy(fill, &v, 4); }
        n = NODE(PAD, p, (edgec_tensor *[]){&y}, &x);
        pad_ref(&x, &y, p.pads, p.mode, fill, want);
        snprintf(what, sizeof(what), "PAD case %lu (mode %d)", (unsigned long)i, (int)p.mode);
        if (run(what, &n)) CHECK(!memcmp(y.data, want, y.nbytes), "%s: output differs from numpy.pad", what);
        tfree_all();
    }
    {
        edgec_pad_params p, bad;
        edgec_tensor x = T(F32, NULL, 3, 4), y = T(F32, NULL, 5, 6), t;
        edgec_tensor q = T(EDGEC_DTYPE_INT8, NULL, 3, 4), qy = T(EDGEC_DTYPE_INT8, NULL, 5, 6);
        edgec_tensor u = T(EDGEC_DTYPE_UINT8, NULL, 3, 4), uy = T(EDGEC_DTYPE_UINT8, NULL, 5, 6);
        edgec_node n = NODE(PAD, p, (edgec_tensor *[]){&y}, &x);
        edgec_error e;
        memset(&p, 0, sizeof(p));
        p.pads[0] = p.pads[1] = p.pads[2] = p.pads[3] = 1;
        CHECK(prepare(&n, &e) == EDGEC_OK, "PAD base refusal case: %s", e.message);
        n.params = &bad;
        bad = p; bad.mode = 3;
        expect_reject("mode 3", &n, UNS);
        bad = p; bad.pads[0] = 2; bad.pads[1] = 1;
        expect_reject("pads (2, 1) on 3 for an output of 5", &n, INV);
        bad = p; bad.pads[0] = 3; bad.pads[1] = -1;
        expect_reject("negative pad", &n, INV);
        bad = p; bad.pads[4] = 1;
        expect_reject("pads for axis 2 of a rank-2 tensor", &n, INV);
        t = T(F32, NULL, 9, 6);
        bad = p; bad.mode = 1; bad.pads[0] = bad.pads[1] = 3; n.outputs = (edgec_tensor *[]){&t};
        expect_reject("reflect pad 3 on an axis of 3", &n, INV);
        n.outputs = (edgec_tensor *[]){&y};
        n.inputs = (edgec_tensor *[]){&q};
        expect_reject("int8 input, float output", &n, INV);
        n.outputs = (edgec_tensor *[]){&qy};
        bad = p; bad.value = 0.5f;
        expect_reject("int8 fill 0.5", &n, INV);
        qy.zero_point = 3;
        bad = p;
        expect_reject("int8 zero points differ", &n, INV);
        n.inputs = (edgec_tensor *[]){&u};
        n.outputs = (edgec_tensor *[]){&uy};
        bad = p; bad.value = 300.0f;
        expect_reject("uint8 fill 300", &n, INV);
        tfree_all();
    }
}

static void test_concat(void) {
    static const struct {
        int32_t dtype, axis, d0[3], d1[3], d2[3];
    } cases[] = {
        {F32, 0, {2, 3, 4}, {1, 3, 4}, {3, 3, 4}},
        {F32, 1, {2, 3, 4}, {2, 1, 4}, {2, 2, 4}},
        {F32, 2, {2, 3, 4}, {2, 3, 1}, {2, 3, 5}},
        {EDGEC_DTYPE_INT8, 1, {2, 3, 4}, {2, 5, 4}, {2, 1, 4}},
    };
    size_t i, k;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const int32_t axis = cases[i].axis, dtype = cases[i].dtype;
        edgec_concat_params p = {axis};
        edgec_tensor x0 = tensor(dtype, NULL, 3, cases[i].d0), x1 = tensor(dtype, NULL, 3, cases[i].d1);
        edgec_tensor x2 = tensor(dtype, NULL, 3, cases[i].d2), y;
        const edgec_tensor *xs[3] = {&x0, &x1, &x2};
        int32_t yd[3], d, j;
        uint8_t *want;
        edgec_node n;
        size_t es = edgec_dtype_size(dtype), outer = 1, slice = es, off = 0;
        memcpy(yd, cases[i].d0, sizeof(yd));
        yd[axis] = cases[i].d0[axis] + cases[i].d1[axis] + cases[i].d2[axis];
        y = tensor(dtype, NULL, 3, yd);
        want = (uint8_t *)talloc(y.nbytes);
        for (j = 0; j < 3; ++j)
            for (k = 0; k < xs[j]->nbytes; ++k) xs[j]->data[k] = (uint8_t)(k * 13 + j * 101 + 7);
        n = NODE(CONCAT, p, (edgec_tensor *[]){&y}, &x0, &x1, &x2);
        for (d = 0; d < axis; ++d) outer *= (size_t)yd[d];
        for (d = axis + 1; d < 3; ++d) slice *= (size_t)yd[d];
        for (k = 0; k < outer; ++k) /* np.concatenate */
            for (j = 0; j < 3; ++j) {
                const size_t block = (size_t)xs[j]->dims[axis] * slice;
                memcpy(want + off, xs[j]->data + k * block, block);
                off += block;
            }
        snprintf(what, sizeof(what), "CONCAT case %lu (axis %d)", (unsigned long)i, (int)axis);
        if (run(what, &n)) CHECK(!memcmp(y.data, want, y.nbytes), "%s: output differs", what);
        tfree_all();
    }
    {
        edgec_concat_params p = {1}, bad = {3};
        edgec_tensor a = T(F32, NULL, 2, 3, 4), b = T(F32, NULL, 2, 2, 4), y = T(F32, NULL, 2, 5, 4), t;
        edgec_node n = NODE(CONCAT, p, (edgec_tensor *[]){&y}, &a, &b);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "CONCAT base refusal case: %s", e.message);
        n.params = &bad;
        expect_reject("axis 3 of rank 3", &n, INV);
        n.params = &p;
        t = T(F32, NULL, 2, 2, 5);
        n.inputs = (edgec_tensor *[]){&a, &t};
        expect_reject("input 1 off-axis dim 5 vs 4", &n, INV);
        t = T(F32, NULL, 2, 3, 4);
        expect_reject("axis sizes sum to 6 for 5", &n, INV);
        t = T(EDGEC_DTYPE_INT32, NULL, 2, 2, 4);
        expect_reject("int32 input into float32 output", &n, INV);
        n.inputs = (edgec_tensor *[]){&a, NULL};
        expect_reject("input 1 absent", &n, INV);
        tfree_all();
    }
}

static void test_reshape(void) {
    edgec_none_params p = {0};
    edgec_tensor x = T(F32, randf(20000, -1, 1), 100, 200), y = T(F32, NULL, 20000); /* 80 KB: 2 rows */
    edgec_tensor u = T(EDGEC_DTYPE_UINT8, NULL, 3, 5), uy = T(EDGEC_DTYPE_UINT8, NULL, 15), t;
    edgec_node n = NODE(RESHAPE, p, (edgec_tensor *[]){&y}, &x);
    size_t k;
    if (run("RESHAPE float32", &n)) CHECK(!memcmp(x.data, y.data, x.nbytes), "RESHAPE float32: output differs");
    for (k = 0; k < u.nbytes; ++k) u.data[k] = (uint8_t)(k * 7);
    n = NODE(RESHAPE, p, (edgec_tensor *[]){&uy}, &u);
    if (run("RESHAPE uint8", &n)) CHECK(!memcmp(u.data, uy.data, u.nbytes), "RESHAPE uint8: output differs");
    t = T(F32, NULL, 19999);
    n = NODE(RESHAPE, p, (edgec_tensor *[]){&t}, &x);
    expect_reject("20000 elements into 19999", &n, INV);
    n = NODE(RESHAPE, p, (edgec_tensor *[]){&uy}, &x);
    expect_reject("float32 into uint8", &n, INV);
    tfree_all();
}

static void test_transpose(void) {
    static const struct {
        int32_t dtype, rank, dims[6], perm[6];
    } cases[] = {
        {F32, 4, {2, 3, 4, 5}, {0, 3, 1, 2}},
        {F32, 3, {3, 4, 5}, {2, 0, 1}},
        {F32, 3, {3, 4, 5}, {1, 0, 2}}, /* last axis stays: row copies */
        {F32, 6, {2, 1, 3, 2, 2, 3}, {5, 3, 1, 0, 2, 4}},
        {EDGEC_DTYPE_INT16, 2, {3, 4}, {1, 0}},
        {EDGEC_DTYPE_INT8, 3, {2, 3, 4}, {2, 1, 0}},
        {EDGEC_DTYPE_INT64, 2, {2, 3}, {1, 0}},
        {F32, 0, {0}, {0}},
    };
    size_t i, o, k;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const int32_t rank = cases[i].rank, dtype = cases[i].dtype;
        const size_t es = edgec_dtype_size(dtype);
        edgec_transpose_params p;
        int32_t yd[6], d;
        edgec_tensor x = tensor(dtype, NULL, rank, cases[i].dims), y;
        uint8_t *want;
        edgec_node n;
        for (d = 0; d < rank; ++d) yd[d] = cases[i].dims[cases[i].perm[d]];
        y = tensor(dtype, NULL, rank, yd);
        want = (uint8_t *)talloc(y.nbytes);
        for (k = 0; k < x.nbytes; ++k) x.data[k] = (uint8_t)(k * 29 + 3);
        memset(&p, 0, sizeof(p));
        memcpy(p.perm, cases[i].perm, sizeof(p.perm));
        n = NODE(TRANSPOSE, p, (edgec_tensor *[]){&y}, &x);
        for (o = 0; o < y.count; ++o) { /* out[idx] = x[idx permuted back] */
            size_t rem = o, src = 0;
            int32_t xidx[6] = {0};
            for (d = rank - 1; d >= 0; --d) {
                xidx[cases[i].perm[d]] = (int32_t)(rem % (size_t)yd[d]);
                rem /= (size_t)yd[d];
            }
            for (d = 0; d < rank; ++d) src = src * (size_t)cases[i].dims[d] + (size_t)xidx[d];
            memcpy(want + o * es, x.data + src * es, es);
        }
        snprintf(what, sizeof(what), "TRANSPOSE case %lu", (unsigned long)i);
        if (run(what, &n)) CHECK(!memcmp(y.data, want, y.nbytes), "%s: output differs", what);
        tfree_all();
    }
    {
        edgec_transpose_params p = {{1, 0, 2, 0, 0, 0}}, bad;
        edgec_tensor x = T(F32, NULL, 2, 3, 4), y = T(F32, NULL, 3, 2, 4), t;
        edgec_node n = NODE(TRANSPOSE, p, (edgec_tensor *[]){&y}, &x);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "TRANSPOSE base refusal case: %s", e.message);
        n.params = &bad;
        bad = p; bad.perm[1] = 1;
        expect_reject("perm (1, 1, 2)", &n, INV);
        bad = p; bad.perm[2] = 3;
        expect_reject("perm (1, 0, 3)", &n, INV);
        bad = p; bad.perm[2] = -1;
        expect_reject("perm (1, 0, -1)", &n, INV);
        n.params = &p;
        t = T(F32, NULL, 2, 3, 4);
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output [2,3,4] for perm (1, 0, 2)", &n, INV);
        t = T(F32, NULL, 3, 8);
        expect_reject("output of rank 2", &n, INV);
        tfree_all();
    }
}

static void test_depth_to_space(void) {
    static const struct {
        int32_t dtype, dims[4], block;
    } cases[] = {
        {F32, {2, 3, 4, 8}, 2}, {F32, {1, 2, 2, 18}, 3}, {EDGEC_DTYPE_INT8, {1, 2, 3, 4}, 2}, {F32, {1, 2, 3, 5}, 1},
    };
    size_t i, k;
    int32_t mode;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        for (mode = 0; mode < 2; ++mode) {
            const int32_t b = cases[i].block, N = cases[i].dims[0], H = cases[i].dims[1], W = cases[i].dims[2];
            const int32_t C = cases[i].dims[3], OC = C / (b * b);
            const size_t es = edgec_dtype_size(cases[i].dtype);
            edgec_depth_to_space_params p = {b, mode};
            edgec_tensor x = tensor(cases[i].dtype, NULL, 4, cases[i].dims);
            edgec_tensor y = T(cases[i].dtype, NULL, N, H * b, W * b, OC);
            uint8_t *want = (uint8_t *)talloc(y.nbytes);
            int32_t n, h, w, ii, j, c;
            edgec_node node = NODE(DEPTH_TO_SPACE, p, (edgec_tensor *[]){&y}, &x);
            for (k = 0; k < x.nbytes; ++k) x.data[k] = (uint8_t)(k * 31 + 5);
            for (n = 0; n < N; ++n) /* OPS.md: DCR (i*b + j)*C' + c, CRD c*b*b + i*b + j */
                for (h = 0; h < H; ++h)
                    for (w = 0; w < W; ++w)
                        for (ii = 0; ii < b; ++ii)
                            for (j = 0; j < b; ++j)
                                for (c = 0; c < OC; ++c) {
                                    const int32_t src_c = mode == 0 ? (ii * b + j) * OC + c : c * b * b + ii * b + j;
                                    memcpy(want + ((((size_t)n * H * b + h * b + ii) * W * b + w * b + j) * OC + c) * es,
                                           x.data + ((((size_t)n * H + h) * W + w) * C + src_c) * es, es);
                                }
            snprintf(what, sizeof(what), "DEPTH_TO_SPACE case %lu mode %d", (unsigned long)i, (int)mode);
            if (run(what, &node)) CHECK(!memcmp(y.data, want, y.nbytes), "%s: output differs", what);
            tfree_all();
        }
    {
        edgec_depth_to_space_params p = {2, 0}, bad;
        edgec_tensor x = T(F32, NULL, 1, 2, 2, 8), y = T(F32, NULL, 1, 4, 4, 2), t;
        edgec_node n = NODE(DEPTH_TO_SPACE, p, (edgec_tensor *[]){&y}, &x);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "DEPTH_TO_SPACE base refusal case: %s", e.message);
        n.params = &bad;
        bad = p; bad.block_size = 0;
        expect_reject("block_size 0", &n, INV);
        bad = p; bad.block_size = 3;
        expect_reject("block_size 3 for 8 channels", &n, INV);
        bad = p; bad.mode = 2;
        expect_reject("mode 2", &n, INV);
        n.params = &p;
        t = T(F32, NULL, 1, 4, 2, 4);
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("output [1,4,2,4]", &n, INV);
        tfree_all();
    }
}

/* ---- SOFTMAX, RESIZE ---- */

static void test_softmax(void) {
    static const struct {
        int32_t dims[4], axis;
        float beta;
    } cases[] = {{{2, 9, 4, 6}, 3, 1.0f}, {{2, 9, 4, 6}, 1, 0.5f}, {{2, 9, 4, 6}, 0, 2.0f}, {{1, 1, 1, 1000}, 3, 1.0f}};
    size_t i;
    char what[64];
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        const int32_t axis = cases[i].axis, len = cases[i].dims[axis];
        edgec_softmax_params p = {axis, cases[i].beta};
        edgec_tensor x = tensor(F32, NULL, 4, cases[i].dims), y = tensor(F32, NULL, 4, cases[i].dims);
        float *want = (float *)talloc(y.nbytes), *xv = (float *)x.data;
        size_t inner = 1, outer, o, k;
        int32_t d, j;
        edgec_node n = NODE(SOFTMAX, p, (edgec_tensor *[]){&y}, &x);
        memcpy(xv, randf(x.count, -5, 5), x.nbytes);
        for (d = axis + 1; d < 4; ++d) inner *= (size_t)cases[i].dims[d];
        outer = x.count / (inner * (size_t)len);
        for (o = 0; o < outer; ++o)
            for (k = 0; k < inner; ++k) {
                const float *xr = xv + o * len * inner + k;
                double mx = xr[0], sum = 0.0;
                for (j = 1; j < len; ++j) mx = xr[j * inner] > mx ? xr[j * inner] : mx;
                for (j = 0; j < len; ++j) sum += exp(p.beta * (xr[j * inner] - mx));
                for (j = 0; j < len; ++j)
                    want[o * len * inner + k + j * inner] = (float)(exp(p.beta * (xr[j * inner] - mx)) / sum);
            }
        snprintf(what, sizeof(what), "SOFTMAX case %lu (axis %d)", (unsigned long)i, (int)axis);
        if (run(what, &n)) check_close(what, (float *)y.data, want, y.count, 1e-5f);
        tfree_all();
    }
    {
        edgec_softmax_params p = {4, 1.0f};
        edgec_tensor x = T(F32, NULL, 2, 3, 4, 5), y = T(F32, NULL, 2, 3, 4, 5), q = T(EDGEC_DTYPE_INT8, NULL, 2, 3, 4, 5);
        edgec_node n = NODE(SOFTMAX, p, (edgec_tensor *[]){&y}, &x);
        expect_reject("axis 4 of rank 4", &n, INV);
        p.axis = -1;
        expect_reject("axis -1", &n, INV);
        p.axis = 3;
        n.inputs = (edgec_tensor *[]){&q};
        expect_reject("int8 input", &n, UNS);
        tfree_all();
    }
}

/* OPS.md RESIZE, per axis, all in float32 */
static float resize_source(int32_t d, int32_t in, int32_t out, int32_t coord) {
    float scale;
    if (coord == EDGEC_RESIZE_ALIGN_CORNERS) scale = out > 1 ? (float)((double)(in - 1) / (double)(out - 1)) : 0.0f;
    else scale = (float)in / (float)out;
    if (coord == EDGEC_RESIZE_HALF_PIXEL) return ((float)d + 0.5f) * scale - 0.5f;
    if (coord == EDGEC_RESIZE_PYTORCH_HALF_PIXEL) return out > 1 ? ((float)d + 0.5f) * scale - 0.5f : 0.0f;
    return (float)d * scale;
}

static int32_t resize_nearest(float s, int32_t mode, int32_t in) {
    float r = mode == EDGEC_RESIZE_ROUND_PREFER_FLOOR ? ceilf(s - 0.5f)
            : mode == EDGEC_RESIZE_ROUND_PREFER_CEIL ? floorf(s + 0.5f)
            : mode == EDGEC_RESIZE_FLOOR ? floorf(s) : ceilf(s);
    return r < 0 ? 0 : (r > (float)(in - 1) ? in - 1 : (int32_t)r);
}

static void resize_linear(float s, int32_t in, int32_t *i0, int32_t *i1, float *f) {
    s = s > 0.0f ? s : 0.0f;
    *i0 = (int32_t)floorf(s) < in - 1 ? (int32_t)floorf(s) : in - 1;
    *i1 = *i0 + 1 < in - 1 ? *i0 + 1 : in - 1;
    *f = *i0 == in - 1 ? 0.0f : s - floorf(s);
}

static void test_resize(void) {
    static const int32_t sizes[][4] = {{3, 4, 7, 5}, {5, 5, 2, 3}, {4, 3, 1, 1}, {1, 1, 3, 2}, {6, 8, 6, 8}, {2, 9, 5, 20}};
    size_t i;
    int32_t mode, coord, near;
    char what[80];
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i)
        for (mode = 0; mode < 2; ++mode)
            for (coord = EDGEC_RESIZE_ASYMMETRIC; coord <= EDGEC_RESIZE_PYTORCH_HALF_PIXEL; ++coord)
                for (near = EDGEC_RESIZE_ROUND_PREFER_FLOOR; near <= (mode ? 0 : EDGEC_RESIZE_CEIL); ++near) {
                    const int32_t H = sizes[i][0], W = sizes[i][1], OH = sizes[i][2], OW = sizes[i][3], C = 3, N = 2;
                    edgec_resize_params p = {mode, coord, near};
                    edgec_tensor x = T(F32, randf((size_t)N * H * W * C, -1, 1), N, H, W, C), y = T(F32, NULL, N, OH, OW, C);
                    float *want = (float *)talloc(y.nbytes);
                    const float *xv = (const float *)x.data;
                    int32_t n, oy, ox, c;
                    edgec_node node = NODE(RESIZE, p, (edgec_tensor *[]){&y}, &x);
                    for (n = 0; n < N; ++n)
                        for (oy = 0; oy < OH; ++oy)
                            for (ox = 0; ox < OW; ++ox)
                                for (c = 0; c < C; ++c) {
                                    const float sy = resize_source(oy, H, OH, coord), sx = resize_source(ox, W, OW, coord);
                                    float v;
#define X(yy, xx) xv[(((size_t)n * H + (yy)) * W + (xx)) * C + c]
                                    if (mode == 0) {
                                        v = X(resize_nearest(sy, near, H), resize_nearest(sx, near, W));
                                    } else {
                                        int32_t y0, y1, x0, x1;
                                        float fy, fx, top, bottom;
                                        resize_linear(sy, H, &y0, &y1, &fy);
                                        resize_linear(sx, W, &x0, &x1, &fx);
                                        top = X(y0, x0) + (X(y0, x1) - X(y0, x0)) * fx;
                                        bottom = X(y1, x0) + (X(y1, x1) - X(y1, x0)) * fx;
                                        v = top + (bottom - top) * fy;
                                    }
#undef X
                                    want[(((size_t)n * OH + oy) * OW + ox) * C + c] = v;
                                }
                    snprintf(what, sizeof(what), "RESIZE %dx%d->%dx%d mode %d coord %d nearest %d", (int)H, (int)W, (int)OH, (int)OW,
                             (int)mode, (int)coord, (int)near);
                    if (run(what, &node)) check_close(what, (float *)y.data, want, y.count, 1e-6f);
                    tfree_all();
                }
    {
        edgec_resize_params p = {1, 0, 0}, bad;
        edgec_tensor x = T(F32, NULL, 1, 4, 4, 3), y = T(F32, NULL, 1, 8, 8, 3), t;
        edgec_node n = NODE(RESIZE, p, (edgec_tensor *[]){&y}, &x);
        edgec_error e;
        CHECK(prepare(&n, &e) == EDGEC_OK, "RESIZE base refusal case: %s", e.message);
        n.params = &bad;
        bad = p; bad.mode = 2;
        expect_reject("mode 2", &n, UNS);
        bad = p; bad.coord = 4;
        expect_reject("coord 4", &n, UNS);
        bad = p; bad.nearest = -1;
        expect_reject("nearest -1", &n, UNS);
        n.params = &p;
        t = T(F32, NULL, 1, 8, 8, 4);
        n.outputs = (edgec_tensor *[]){&t};
        expect_reject("3 channels in, 4 out", &n, INV);
        t = T(F32, NULL, 8, 8, 3);
        expect_reject("output of rank 3", &n, INV);
        tfree_all();
    }
}

static void test_slice(void) {
    edgec_slice_params p = {{1, 4, 0, 0, 0, 0}, {2, -1, 3, 1, 1, 1}}, bad;
    edgec_tensor x = T(F32, randf(120, -1, 1), 4, 5, 6), y = T(F32, NULL, 2, 5, 2), t;
    float *want = (float *)talloc(y.nbytes);
    edgec_node n = NODE(SLICE, p, (edgec_tensor *[]){&y}, &x);
    int32_t i, j, k;
    for (i = 0; i < 2; ++i) /* out[i,j,k] = x[1 + 2i, 4 - j, 3k] */
        for (j = 0; j < 5; ++j)
            for (k = 0; k < 2; ++k) want[(i * 5 + j) * 2 + k] = ((float *)x.data)[((1 + 2 * i) * 5 + 4 - j) * 6 + 3 * k];
    if (run("SLICE", &n)) check_close("SLICE", (float *)y.data, want, y.count, 0.0f);
    n.params = &bad;
    bad = p; bad.step[0] = 0;
    expect_reject("step 0", &n, INV);
    bad = p; bad.begin[2] = -1;
    expect_reject("begin -1", &n, INV);
    bad = p; bad.begin[0] = 2;
    expect_reject("last index 4 on an axis of 4", &n, INV);
    n.params = &p;
    t = T(F32, NULL, 2, 6, 2);
    n.outputs = (edgec_tensor *[]){&t};
    expect_reject("6 outputs stepping -1 from 4", &n, INV);
    tfree_all();
}

/* ---- checks every op shares (edgec_ops_check_node) ---- */

static void test_common_checks(void) {
    edgec_binary_params p;
    edgec_tensor a = T(F32, NULL, 2, 3), b = T(F32, NULL, 2, 3), y = T(F32, NULL, 2, 3), t;
    edgec_node n = NODE(SUB, p, (edgec_tensor *[]){&y}, &a, &b);
    memset(&p, 0, sizeof(p));
    p.act_min = -INFINITY; p.act_max = INFINITY;
    t = a; t.count = 5;
    n.inputs = (edgec_tensor *[]){&t, &b};
    expect_reject("input count 5 for dims [2,3]", &n, INV);
    t = a; t.nbytes = 23;
    expect_reject("input nbytes 23 for 6 float32", &n, INV);
    t = a; t.dims[1] = 0; t.count = 0; t.nbytes = 0;
    expect_reject("input dim 0", &n, INV);
    t = a; t.rank = 7;
    expect_reject("input rank 7", &n, INV);
    t = a; t.dtype = 99;
    expect_reject("unknown dtype 99", &n, UNS);
    n.inputs = (edgec_tensor *[]){&a, &b};
    n.outputs = (edgec_tensor *[]){&a};
    expect_reject("output is input 0", &n, INV);
    n.outputs = (edgec_tensor *[]){NULL};
    expect_reject("output absent", &n, INV);
    n.outputs = (edgec_tensor *[]){&y};
    n.output_count = 2;
    expect_reject("two outputs", &n, INV);
    tfree_all();
}

int main(int argc, char **argv) {
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    test_conv2d();
    test_depthwise_conv2d();
    test_fully_connected();
    test_batch_matmul();
    test_binary();
    test_activations();
    test_pool();
    test_reduce();
    test_pad();
    test_concat();
    test_reshape();
    test_transpose();
    test_depth_to_space();
    test_softmax();
    test_resize();
    test_slice();
    test_common_checks();
    printf("test_kernels: %d failure%s\n", failures, failures == 1 ? "" : "s");
    return failures > 100 ? 100 : failures;
}
