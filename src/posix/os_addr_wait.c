/*
 * Wait-on-address for shared memory: the one primitive under the POSIX
 * semaphore (os_sem.c), so that what differs between Linux and macOS is these
 * two calls, and the semaphore's logic is the same code, tested on Linux.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "os_addr_wait.h"
#include "platform.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>

int mproc__os_addr_wait(volatile uint32_t *addr, uint32_t expected, double deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute time on CLOCK_MONOTONIC, the clock of
     * mproc__os_now(). Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    struct timespec at, *timeout = NULL;
    if (deadline >= 0) {
        at.tv_sec = (time_t)deadline;
        at.tv_nsec = (long)((deadline - (double)at.tv_sec) * 1e9);
        timeout = &at;
    }
    if (syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, timeout, NULL,
                FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    return errno == EAGAIN || errno == EINTR ? 0 : errno;
}

void mproc__os_addr_wake_one(volatile uint32_t *addr)
{
    (void)syscall(SYS_futex, addr, FUTEX_WAKE, 1, NULL, NULL, 0);
}

#elif defined(__APPLE__)
/* libSystem's ulock calls (macOS 10.12+), as libc++ uses for atomic waits;
 * the _SHARED operation keys the wait on the memory, not the address space. */
#define MPROC_UL_COMPARE_AND_WAIT_SHARED 3
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

int mproc__os_addr_wait(volatile uint32_t *addr, uint32_t expected, double deadline)
{
    uint32_t us = 0; /* 0: no timeout */
    if (deadline >= 0) {
        double left = deadline - mproc__os_now();
        if (left <= 0)
            return ETIMEDOUT;
        /* Rounded up; a wait longer than the call can take ends early, spuriously. */
        double want = left * 1e6 + 1.0;
        us = want > 4e9 ? 4000000000u : (uint32_t)want;
    }
    if (__ulock_wait(MPROC_UL_COMPARE_AND_WAIT_SHARED, (void *)addr, expected, us) >= 0)
        return 0;
    if (errno == ETIMEDOUT)
        return mproc__os_now() >= deadline ? ETIMEDOUT : 0;
    return errno == EINTR ? 0 : errno;
}

void mproc__os_addr_wake_one(volatile uint32_t *addr)
{
    (void)__ulock_wake(MPROC_UL_COMPARE_AND_WAIT_SHARED, (void *)addr, 0);
}

#else
#error "mproc's POSIX backend waits on shared memory with futex (Linux) or ulock (macOS)"
#endif
