/*
 * What the fault-injection tests share: arming a process at a kill point
 * (src/fault.h), and skipping where the build has no kill points.
 */
#ifndef MPROC_TEST_FAULTS_H
#define MPROC_TEST_FAULTS_H

#include <stdio.h>

#include "fault.h"
#include "support/test_support.h"

#ifdef MPROC_FAULT_INJECTION
#define SKIP_WITHOUT_KILL_POINTS() ((void)0)
#else
#define SKIP_WITHOUT_KILL_POINTS()                                                                 \
    do {                                                                                           \
        printf("skipped: built without MPROC_FAULT_INJECTION\n");                                  \
        skip();                                                                                    \
    } while (0)
#endif

/* Arm this process to die at `point` the nth time it passes it. */
static inline void test_arm(const char *point, int64_t nth)
{
#ifdef MPROC_FAULT_INJECTION
    mproc__fault_arm(point, (long)nth);
#else
    (void)point;
    (void)nth;
#endif
}

#endif
