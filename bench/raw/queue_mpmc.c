/* The OS floor under queue_4x4_64B and the producers x consumers sweep: a
 * bounded multi-producer multi-consumer ring in shared memory (each slot
 * carries a sequence number; a side claims a position with one
 * compare-and-swap, copies, then publishes the slot's next sequence number),
 * producers and consumers fork children, 64-byte messages. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../bench.h"
#include "spin.h"

#define SLOTS 1024 /* a power of two */
#define MSG 64
#define MAX_SIDE 8

typedef struct slot {
    volatile int64_t seq;
    unsigned char data[MSG];
} __attribute__((aligned(128))) slot_t;

typedef struct mpmc {
    volatile int64_t enq __attribute__((aligned(128)));
    volatile int64_t deq __attribute__((aligned(128)));
    slot_t slots[SLOTS];
} mpmc_t;

/* Claims the next position of `pos` whose slot has sequence `pos + lag`;
 * returns the slot. */
static slot_t *claim(mpmc_t *q, volatile int64_t *pos, int64_t lag)
{
    unsigned spins = 0;
    for (;;) {
        int64_t p = __atomic_load_n(pos, __ATOMIC_RELAXED);
        slot_t *s = &q->slots[p & (SLOTS - 1)];
        int64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (seq == p + lag) {
            if (__atomic_compare_exchange_n(pos, &p, p + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                return s;
        } else {
            raw_spin(&spins);
        }
    }
}

static void put(mpmc_t *q, const unsigned char *msg)
{
    int64_t p;
    slot_t *s = claim(q, &q->enq, 0);
    p = s->seq;
    memcpy(s->data, msg, MSG);
    __atomic_store_n(&s->seq, p + 1, __ATOMIC_RELEASE);
}

static void get(mpmc_t *q, unsigned char *buf)
{
    int64_t p;
    slot_t *s = claim(q, &q->deq, 1);
    p = s->seq - 1;
    memcpy(buf, s->data, MSG);
    __atomic_store_n(&s->seq, p + SLOTS, __ATOMIC_RELEASE);
}

static pid_t start(mpmc_t *q, int producer, long count)
{
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid)
        return pid;
    unsigned char buf[MSG] = {0};
    for (long i = 0; i < count; i++) {
        if (producer)
            put(q, buf);
        else
            get(q, buf);
    }
    _exit(0);
}

/* Seconds to move `total` messages from `np` producers to `nc` consumers,
 * from before the first fork to the last consumer reaped, as the mproc side. */
static double mpmc(long total, int np, int nc)
{
    mpmc_t *q = mmap(NULL, sizeof *q, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
        bench_fail("mmap", strerror(errno));
    for (int64_t i = 0; i < SLOTS; i++)
        q->slots[i].seq = i;
    pid_t prod[MAX_SIDE], cons[MAX_SIDE];
    double t0 = bench_now();
    for (int i = 0; i < np; i++)
        prod[i] = start(q, 1, total / np);
    for (int i = 0; i < nc; i++)
        cons[i] = start(q, 0, total / nc);
    for (int i = 0; i < nc; i++)
        raw_reap(cons[i]);
    double elapsed = bench_now() - t0;
    for (int i = 0; i < np; i++)
        raw_reap(prod[i]);
    munmap(q, sizeof *q);
    return elapsed;
}

static double queue_4x4_64B(long n)
{
    n -= n % 4;
    return (double)n / mpmc(n, 4, 4);
}
BENCH_FIGURE("queue_4x4_64B", "msg/s", queue_4x4_64B)

/* The sweep: bench_param(0) producers, bench_param(1) consumers (1 to 8). */
static double queue_pc(long n)
{
    int np = (int)bench_param(0, 1), nc = (int)bench_param(1, 1);
    if (np < 1 || nc < 1 || np > MAX_SIDE || nc > MAX_SIDE)
        bench_fail("queue_pc", "1 to 8 producers and consumers");
    n -= n % (np * nc);
    return (double)n / mpmc(n, np, nc);
}
BENCH_FIGURE("queue_pc", "msg/s", queue_pc)
