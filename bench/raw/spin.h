/* What the raw floors share: waiting for a peer in shared memory, and reaping. */
#ifndef MPROC_BENCH_RAW_SPIN_H
#define MPROC_BENCH_RAW_SPIN_H

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>

#include "../bench.h"

/* One turn of a wait loop: spin (the peer is running on the other core and
 * answers within a few hundred ns), then yield once the wait outlasts that
 * (the peer is descheduled, or shares this core). */
#define RAW_SPINS 2000
static inline void raw_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void raw_spin(unsigned *spins)
{
    if (++*spins < RAW_SPINS)
        raw_pause();
    else
        sched_yield();
}

static inline void raw_reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail("waitpid", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_fail("child", "failed");
}

#endif
