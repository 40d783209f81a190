/* The kill points of fault.h: an armed point name, a countdown, and death. */
#include "fault.h"

#ifdef MPROC_FAULT_INJECTION
#include <stdlib.h>
#include <string.h>

#include "platform.h"

volatile int mproc__fault_armed;
static char armed_point[128];
static long armed_nth, passes;

void mproc__fault_arm(const char *point, long nth)
{
    mproc__fault_armed = 0;
    passes = 0;
    size_t len = point ? strlen(point) : sizeof armed_point;
    if (len >= sizeof armed_point)
        return;
    memcpy(armed_point, point, len + 1);
    armed_nth = nth;
    mproc__fault_armed = 1;
}

long mproc__fault_passes(void)
{
    return passes;
}

void mproc__fault_arm_from_env(void)
{
    const char *v = getenv("MPROC_FAULT");
    const char *colon = v ? strrchr(v, ':') : NULL;
    if (!colon || (size_t)(colon - v) >= sizeof armed_point)
        return;
    char point[sizeof armed_point];
    memcpy(point, v, (size_t)(colon - v));
    point[colon - v] = '\0';
    mproc__fault_arm(point, strtol(colon + 1, NULL, 10));
}

void mproc__fault_pass(const char *point)
{
    if (strcmp(point, armed_point) != 0)
        return;
    passes++;
    if (armed_nth > 0 && passes == armed_nth)
        mproc__os_die();
}
#else
typedef int mproc__fault_unused_t; /* ISO C wants a translation unit to declare something */
#endif
