/* CPU feature detection at load time (cpuid on x86, getauxval on ARM Linux), so one
 * binary per architecture can pick its fastest kernels on every CPU of that family. */
#include <string.h>

#include "edgec/edgec.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static void append(char *buf, size_t size, const char *word) {
    size_t n = strlen(buf);
    if (n + strlen(word) + 2 < size) {
        if (n) buf[n++] = ' ';
        strcpy(buf + n, word);
    }
}

const char *edgec_cpu_features(void) {
    static char text[160];
    unsigned a, b, c, d;
    if (text[0]) return text;
    append(text, sizeof(text), "x86_64");
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        if (c & bit_SSE4_1) append(text, sizeof(text), "sse4.1");
        if (c & bit_FMA) append(text, sizeof(text), "fma");
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (b & bit_AVX2) append(text, sizeof(text), "avx2");
        if (b & bit_AVX512F) append(text, sizeof(text), "avx512f");
        if (b & bit_AVX512BW) append(text, sizeof(text), "avx512bw");
        if (c & bit_AVX512VNNI) append(text, sizeof(text), "avx512vnni");
        if (c & bit_AVX512VPOPCNTDQ) append(text, sizeof(text), "avx512vpopcntdq");
    }
    return text;
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#define EDGEC_HWCAP_ASIMDDP (1UL << 20)
#define EDGEC_HWCAP2_I8MM (1UL << 13)
const char *edgec_cpu_features(void) {
    static char text[96];
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    strcpy(text, "aarch64 neon");
    if (hw & EDGEC_HWCAP_ASIMDDP) strcat(text, " dotprod");
    if (hw2 & EDGEC_HWCAP2_I8MM) strcat(text, " i8mm");
    return text;
}

#elif defined(__arm__) && defined(__linux__)
#include <sys/auxv.h>
#define EDGEC_HWCAP_NEON (1UL << 12)
const char *edgec_cpu_features(void) {
    return (getauxval(AT_HWCAP) & EDGEC_HWCAP_NEON) ? "armv7 neon" : "armv7";
}

#elif defined(__ARM_ARCH)
const char *edgec_cpu_features(void) {
#if defined(__ARM_FEATURE_DSP)
    return "cortex-m dsp";
#else
    return "cortex-m";
#endif
}

#else
const char *edgec_cpu_features(void) { return "generic"; }
#endif
