/* The Win32 floor under the queue figures, the same ring as raw/queue.c's: a
 * single-producer single-consumer ring of fixed slots in a pagefile-backed
 * section, the producer a child made by CreateProcessW; one copy in, one copy
 * out per message. Each side rereads the other's position only when the ring
 * looks full or empty, small messages are published a KiB at a time, and each
 * position has 128 bytes of its own, so the shared lines move once per batch
 * (a floor that published and checked for a sleeper every message moved 2x
 * between runs with how close behind the consumer ran). A side that waits
 * spins a while, then says it sleeps and waits on an auto-reset event the
 * other side sets (with a 1 ms timeout instead of a fence on every message,
 * as raw/futex_wait.h). Both sides pin themselves as the mproc side does
 * (bench_pin). */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "../bench.h"

#define SPINS 2000 /* as raw/spin.h's RAW_SPINS */

typedef struct pos {
    volatile LONG64 at;       /* published by one side */
    volatile LONG64 sleeping; /* the other side sleeps on `at` */
} pos_t;

typedef struct ring {
    pos_t head __attribute__((aligned(128))); /* consumed up to */
    pos_t tail __attribute__((aligned(128))); /* published up to */
    unsigned char data[] __attribute__((aligned(128)));
} ring_t;

typedef struct side {
    ring_t *r;
    HANDLE data_ev, room_ev; /* set by the producer, by the consumer */
    size_t size;
    long slots;
} side_t;

/* Publishes `v` and wakes a sleeper. */
static void publish(pos_t *p, LONG64 v, HANDLE ev)
{
    __atomic_store_n(&p->at, v, __ATOMIC_RELEASE);
    if (__atomic_load_n(&p->sleeping, __ATOMIC_RELAXED))
        SetEvent(ev);
}

/* Waits until ready(s, position, i) holds; returns the position. */
static LONG64 await(const side_t *s, pos_t *p, int (*ready)(const side_t *, LONG64, long), long i,
                    HANDLE ev)
{
    for (int spin = 0;; spin++) {
        LONG64 v = __atomic_load_n(&p->at, __ATOMIC_ACQUIRE);
        if (ready(s, v, i))
            return v;
        if (spin < SPINS) {
            YieldProcessor();
            continue;
        }
        __atomic_store_n(&p->sleeping, 1, __ATOMIC_SEQ_CST);
        if (!ready(s, __atomic_load_n(&p->at, __ATOMIC_SEQ_CST), i))
            WaitForSingleObject(ev, 1);
        __atomic_store_n(&p->sleeping, 0, __ATOMIC_RELAXED);
        spin = 0;
    }
}

static int has_room(const side_t *s, LONG64 head, long i)
{
    return i - head < s->slots;
}

static int has_data(const side_t *s, LONG64 tail, long i)
{
    (void)s;
    return tail > i;
}

static long slots_for(size_t size)
{
    /* As raw/queue.c: a 4 MiB ring (at least two slots) for every size. */
    long slots = (long)((4 << 20) / size);
    return slots < 2 ? 2 : slots;
}

/* The child: `--bench-raw-ring <section> <data_ev> <room_ev> <size> <n>`. */
int bench_raw_ring(int argc, char **argv)
{
    side_t s;
    if (argc < 7)
        return 2;
    s.size = (size_t)_strtoi64(argv[5], NULL, 10);
    s.slots = slots_for(s.size);
    s.data_ev = (HANDLE)(intptr_t)_strtoi64(argv[3], NULL, 10);
    s.room_ev = (HANDLE)(intptr_t)_strtoi64(argv[4], NULL, 10);
    s.r = MapViewOfFile((HANDLE)(intptr_t)_strtoi64(argv[2], NULL, 10), FILE_MAP_ALL_ACCESS, 0, 0, 0);
    long n = (long)_strtoi64(argv[6], NULL, 10);
    unsigned char *msg = calloc(1, s.size);
    if (!s.r || !msg)
        return 1;
    bench_pin(1);
    LONG64 head = 0; /* the consumer's position as last seen: reread only when full */
    long slot = 0, batch = s.size >= 1024 ? 1 : (long)(1024 / s.size);
    for (long i = 0; i < n; i++) {
        if (!has_room(&s, head, i)) {
            publish(&s.r->tail, i, s.data_ev);
            head = await(&s, &s.r->head, has_room, i, s.room_ev);
        }
        memcpy(s.r->data + (size_t)slot * s.size, msg, s.size);
        slot = slot + 1 == s.slots ? 0 : slot + 1;
        if ((i + 1) % batch == 0 || i + 1 == n)
            publish(&s.r->tail, i + 1, s.data_ev);
    }
    return 0;
}

static HANDLE inheritable(HANDLE h)
{
    if (!h || !SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT))
        bench_fail("handle", "cannot create");
    return h;
}

/* The consumer's state between two gets. */
typedef struct taker {
    side_t *s;
    unsigned char *buf;
    long i, slot;
    LONG64 tail; /* the producer's position as last seen: reread only when empty */
} taker_t;

static void take_one(void *ctx)
{
    taker_t *t = ctx;
    side_t *s = t->s;
    if (!has_data(s, t->tail, t->i))
        t->tail = await(s, &s->r->tail, has_data, t->i, s->data_ev);
    memcpy(t->buf, s->r->data + (size_t)t->slot * s->size, s->size);
    t->slot = t->slot + 1 == s->slots ? 0 : t->slot + 1;
    publish(&s->r->head, ++t->i, s->room_ev);
}

/* Seconds per message (median of window means) of n messages of size bytes. */
static double spsc(size_t size, long n)
{
    side_t s = {NULL, NULL, NULL, size, slots_for(size)};
    size_t bytes = sizeof(ring_t) + (size_t)s.slots * size;
    HANDLE section = inheritable(CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                                    (DWORD)((unsigned long long)bytes >> 32),
                                                    (DWORD)bytes, NULL));
    s.data_ev = inheritable(CreateEventW(NULL, FALSE, FALSE, NULL));
    s.room_ev = inheritable(CreateEventW(NULL, FALSE, FALSE, NULL));
    s.r = MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    unsigned char *buf = malloc(size);
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 160];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    if (!s.r || !buf || !GetModuleFileNameW(NULL, exe, MAX_PATH))
        bench_fail("ring", "cannot set up");
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %hs %lld %lld %lld %lld %ld", exe,
               BENCH_RAW_RING_ARG, (long long)(intptr_t)section, (long long)(intptr_t)s.data_ev,
               (long long)(intptr_t)s.room_ev, (long long)size, n);
    cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    bench_pin(0);
    if (!CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
        bench_fail("CreateProcessW", "failed");
    taker_t t = {&s, buf, 0, 0, 0};
    double per = bench_median_window(n, take_one, &t);
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    UnmapViewOfFile(s.r);
    CloseHandle(section);
    CloseHandle(s.data_ev);
    CloseHandle(s.room_ev);
    free(buf);
    return per;
}

BENCH_RAW_QUEUE_FIGURES(spsc)
