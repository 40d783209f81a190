/*
 * Windows has no barrier that reaches other processes (FlushProcessWriteBuffers
 * covers only the caller's own threads): no process enrolls, so every
 * publication uses a full fence and no sleeper needs the heavy side.
 */
#include "platform.h"

int mproc__os_fence_enroll(void)
{
    return 0;
}

mproc_status_t mproc__os_fence_heavy(void)
{
    return MPROC_ENOTSUP;
}
