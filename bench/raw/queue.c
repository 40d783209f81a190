/* The OS floor under the 1x1 queue figures: a single-producer single-consumer
 * ring of fixed slots in shared memory, the producer a fork child; one copy
 * in, one copy out per message, no system call while both sides keep up;
 * each side rereads the other's position only when the ring looks full or
 * empty, and small messages are published a KiB at a time, so the shared
 * lines move once per batch, not once per message.
 * Both sides pin themselves as the mproc side does (bench_pin) and spin, then
 * sleep on a futex (futex_wait.h): on a 2-core machine shared with other work
 * a peer is often descheduled, and spinning (or yielding) through its time
 * slice is what made this floor move 3x between runs. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench.h"
#include "futex_wait.h"

typedef struct ring {
    raw_pos_t head __attribute__((aligned(128))); /* consumed up to */
    raw_pos_t tail __attribute__((aligned(128))); /* published up to */
    unsigned char data[] __attribute__((aligned(128)));
} ring_t;

static long ring_slots;

static int has_room(int64_t head, int64_t i)
{
    return i - head < ring_slots;
}

static int has_message(int64_t tail, int64_t i)
{
    return tail > i;
}

/* A copy the compiler inlines for the 64-byte figure. */
static inline void copy(void *dst, const void *src, size_t size)
{
    if (size == 64)
        memcpy(dst, src, 64);
    else
        memcpy(dst, src, size);
}

static void produce(ring_t *r, long slots, size_t size, long n)
{
    unsigned char *msg = calloc(1, size);
    int64_t head = 0; /* the consumer's position as last seen: reread only when full */
    long slot = 0;
    /* Small messages are published by the KiB: a consumer that keeps up
     * otherwise rereads the producer's line for every message, and the rate
     * then swung 6x between runs with how close behind the consumer ran. */
    long batch = size >= 1024 ? 1 : (long)(1024 / size);
    bench_pin(1);
    for (long i = 0; i < n; i++) {
        if (!has_room(head, i)) {
            raw_publish(&r->tail, i);
            head = raw_wait(&r->head, has_room, i);
        }
        copy(r->data + (size_t)slot * size, msg, size);
        slot = slot + 1 == slots ? 0 : slot + 1;
        if ((i + 1) % batch == 0 || i + 1 == n)
            raw_publish(&r->tail, i + 1);
    }
    _exit(0);
}

/* The consumer's state between two gets. */
typedef struct taker {
    ring_t *r;
    unsigned char *buf;
    size_t size;
    long slots, slot;
    int64_t i, tail; /* tail: the producer's position as last seen, reread only when empty */
} taker_t;

static void take_one(void *ctx)
{
    taker_t *t = ctx;
    if (!has_message(t->tail, t->i))
        t->tail = raw_wait(&t->r->tail, has_message, t->i);
    copy(t->buf, t->r->data + (size_t)t->slot * t->size, t->size);
    t->slot = t->slot + 1 == t->slots ? 0 : t->slot + 1;
    raw_publish(&t->r->head, ++t->i);
}

/* Seconds per message (median of window means) of n messages of size bytes. */
static double spsc(size_t size, long n)
{
    /* A 4 MiB working set (at least two slots) for every size, like mproc's
     * warm part of the ring (src/queue.c, WARM), which stays in the caches:
     * with 64-byte messages a ring of 1024 slots ran full and empty far more
     * often than mproc's, and its floor fell to 0.3-0.8x mproc's rate. */
    long slots = (long)((4 << 20) / size);
    if (slots < 2)
        slots = 2;
    ring_slots = slots;
    size_t bytes = sizeof(ring_t) + (size_t)slots * size;
    ring_t *r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        bench_fail("mmap", strerror(errno));
    taker_t t = {r, malloc(size), size, slots, 0, 0, 0};
    bench_pin(0);
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid == 0)
        produce(r, slots, size, n);
    double per = bench_median_window(n, take_one, &t);
    raw_reap(pid);
    munmap(r, bytes);
    free(t.buf);
    return per;
}

BENCH_RAW_QUEUE_FIGURES(spsc)

/* The size sweep: bytes/s for messages of bench_param(0) bytes. */
static double queue_size(long n)
{
    size_t size = (size_t)bench_param(0, 64);
    return (double)size / spsc(size, n);
}
BENCH_FIGURE("queue_size", "B/s", queue_size)
