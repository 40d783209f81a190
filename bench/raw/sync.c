/* The OS floor under the synchronization figures:
 *   lock_pair: an uncontended pthread mutex lock + unlock;
 *   event_pingpong: two processes take turns through two futex words in
 *     shared memory (Linux; elsewhere no figure), seconds per round trip;
 *   value_incr: two processes add 1 to a shared word under a process-shared
 *     pthread mutex, increments per second in all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_ANONYMOUS, syscall() */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "../bench.h"

static void lock_step(void *ctx)
{
    pthread_mutex_lock(ctx);
    pthread_mutex_unlock(ctx);
}

static double lock_pair(long iterations)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    return bench_median_window(iterations, lock_step, &m);
}
BENCH_FIGURE("lock_pair", "s", lock_pair)

static void *shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        bench_fail("mmap", strerror(errno));
    return p;
}

#if defined(__linux__)
/* Wait until *w == want, then reset it to 0. */
static void futex_take(volatile uint32_t *w)
{
    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, w, FUTEX_WAIT, 0, NULL, NULL, 0);
    __atomic_store_n(w, 0, __ATOMIC_RELAXED);
}

static void futex_give(volatile uint32_t *w)
{
    __atomic_store_n(w, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void ping_step(void *ctx)
{
    volatile uint32_t *w = ctx;
    futex_give(&w[0]);
    futex_take(&w[1]);
}

static double event_pingpong(long iterations)
{
    volatile uint32_t *w = shared(4096);
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid == 0) {
        for (long i = 0; i < iterations; i++) {
            futex_take(&w[0]);
            futex_give(&w[1]);
        }
        _exit(0);
    }
    double rtt = bench_median_window(iterations, ping_step, (void *)w);
    int status;
    waitpid(pid, &status, 0);
    munmap((void *)w, 4096);
    return rtt;
}
BENCH_FIGURE("event_pingpong", "s", event_pingpong)
#endif

typedef struct counter {
    pthread_mutex_t m;
    long long n;
} counter_t;

static double value_incr(long iterations)
{
    counter_t *c = shared(sizeof *c);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&c->m, &a);
    double t0 = bench_now();
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] < 0)
            bench_fail("fork", strerror(errno));
        if (pid[i] == 0) {
            for (long k = 0; k < iterations / 2; k++) {
                pthread_mutex_lock(&c->m);
                c->n++;
                pthread_mutex_unlock(&c->m);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status;
        waitpid(pid[i], &status, 0);
    }
    double t = bench_now() - t0;
    if (c->n != iterations / 2 * 2)
        bench_fail("value_incr", "lost increments");
    munmap(c, sizeof *c);
    return (double)(iterations / 2 * 2) / t;
}
BENCH_FIGURE("value_incr", "incr/s", value_incr)
