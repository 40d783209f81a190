/* Waiting for a position in shared memory to move, as a ring that only
 * enters the kernel to sleep does: spin while the peer is likely running,
 * then sleep on a futex the peer wakes when it sees a sleeper (Linux; other
 * systems yield instead). */
#ifndef MPROC_BENCH_RAW_FUTEX_WAIT_H
#define MPROC_BENCH_RAW_FUTEX_WAIT_H

#include <stdint.h>

#include "spin.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

typedef struct raw_pos {
    volatile int64_t pos;      /* published by one side */
    volatile int32_t sleeping; /* the other side sleeps on pos */
} raw_pos_t;

/* The futex word: the low half of pos (little-endian x86/arm64 Linux). */
static inline volatile int32_t *raw_pos_word(raw_pos_t *p)
{
    return (volatile int32_t *)&p->pos;
}

/* Publishes `v` and wakes a sleeper. Without a fence between the store and
 * the check, a sleeper can be missed for its timeout (1 ms) in a rare race:
 * the price of keeping the fence off every message. */
static inline void raw_publish(raw_pos_t *p, int64_t v)
{
    __atomic_store_n(&p->pos, v, __ATOMIC_RELEASE);
#if defined(__linux__)
    if (__atomic_load_n(&p->sleeping, __ATOMIC_RELAXED))
        syscall(SYS_futex, raw_pos_word(p), FUTEX_WAKE, 1, NULL, NULL, 0);
#endif
}

/* Waits until the position satisfies ready(pos, arg); returns it. */
static inline int64_t raw_wait(raw_pos_t *p, int (*ready)(int64_t, int64_t), int64_t arg)
{
    unsigned spins = 0;
    for (;;) {
        int64_t v = __atomic_load_n(&p->pos, __ATOMIC_ACQUIRE);
        if (ready(v, arg))
            return v;
#if defined(__linux__)
        if (++spins < RAW_SPINS) {
            raw_pause();
            continue;
        }
        __atomic_store_n(&p->sleeping, 1, __ATOMIC_SEQ_CST);
        v = __atomic_load_n(&p->pos, __ATOMIC_SEQ_CST);
        if (!ready(v, arg)) {
            struct timespec ms = {0, 1000000};
            syscall(SYS_futex, raw_pos_word(p), FUTEX_WAIT, (int32_t)v, &ms, NULL, 0);
        }
        __atomic_store_n(&p->sleeping, 0, __ATOMIC_RELAXED);
        spins = 0;
#else
        raw_spin(&spins);
#endif
    }
}

#endif
