/* The OS floor under the 1x1 queue figures: a single-producer single-consumer
 * ring of fixed slots in shared memory, the producer a fork child; one copy
 * in, one copy out per message, no system call while both sides keep up;
 * each side rereads the other's position only when the ring looks full or
 * empty, so the shared lines move once per batch, not once per message.
 * Both sides pin themselves as the mproc side does (bench_pin) and spin, but
 * yield the CPU after a while: on a 2-core machine shared with other work a
 * peer is often descheduled, and spinning through its time slice is what made
 * this floor move 3x between runs. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench.h"
#include "spin.h"

typedef struct ring {
    volatile long head __attribute__((aligned(128)));
    volatile long tail __attribute__((aligned(128)));
    unsigned char data[] __attribute__((aligned(128)));
} ring_t;

static void produce(ring_t *r, long slots, size_t size, long n)
{
    unsigned char *msg = calloc(1, size);
    long head = 0; /* the consumer's position as last seen: reread only when full */
    bench_pin(1);
    for (long i = 0; i < n; i++) {
        for (unsigned spins = 0; i - head >= slots; head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
            raw_spin(&spins);
        memcpy(r->data + (size_t)(i % slots) * size, msg, size);
        __atomic_store_n(&r->tail, i + 1, __ATOMIC_RELEASE);
    }
    _exit(0);
}

static double spsc(size_t size, long n)
{
    /* A 4 MiB working set (at least two slots), like mproc's warm part of
     * the ring (src/queue.c, WARM), which stays in the caches. */
    long slots = size <= 4096 ? 1024 : (long)((4 << 20) / size);
    if (slots < 2)
        slots = 2;
    size_t bytes = sizeof(ring_t) + (size_t)slots * size;
    ring_t *r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        bench_fail("mmap", strerror(errno));
    unsigned char *buf = malloc(size);
    bench_pin(0);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid == 0)
        produce(r, slots, size, n);
    long tail = 0; /* the producer's position as last seen: reread only when empty */
    for (long i = 0; i < n; i++) {
        for (unsigned spins = 0; tail <= i; tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
            raw_spin(&spins);
        memcpy(buf, r->data + (size_t)(i % slots) * size, size);
        __atomic_store_n(&r->head, i + 1, __ATOMIC_RELEASE);
    }
    double elapsed = bench_now() - t0;
    raw_reap(pid);
    munmap(r, bytes);
    free(buf);
    return elapsed;
}

BENCH_RAW_QUEUE_FIGURES(spsc)

/* The size sweep: bytes/s for messages of bench_param(0) bytes. */
static double queue_size(long n)
{
    size_t size = (size_t)bench_param(0, 64);
    return (double)n * (double)size / spsc(size, n);
}
BENCH_FIGURE("queue_size", "B/s", queue_size)
