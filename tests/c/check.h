/* Shared by the C unit tests: CHECK(cond, printf-args) counts and reports a failure
 * without stopping the test, so one run lists every broken case. */
#ifndef EDGEC_TEST_CHECK_H
#define EDGEC_TEST_CHECK_H

#include <stdio.h>

static int failures = 0;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
            failures++;                                    \
        }                                                  \
    } while (0)

#endif
