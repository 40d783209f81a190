/*
 * The heavy side of an asymmetric fence: membarrier(2) makes every CPU that
 * runs an enrolled process execute a full barrier, so enrolled processes may
 * publish with plain release stores and leave the store-load ordering of a
 * sleep/wake handshake to the rare side that goes to sleep.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>
#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#include "platform.h"

#if defined(__linux__) && defined(__NR_membarrier)
static long membarrier(int cmd)
{
    return syscall(__NR_membarrier, cmd, 0, 0);
}

int mproc__os_fence_enroll(void)
{
    /* Per address space; a fork child has a new one and enrolls again. */
    return membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
}

mproc_status_t mproc__os_fence_heavy(void)
{
    return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ? MPROC_OK : MPROC_ENOTSUP;
}
#else
int mproc__os_fence_enroll(void)
{
    return 0;
}

mproc_status_t mproc__os_fence_heavy(void)
{
    return MPROC_ENOTSUP;
}
#endif
