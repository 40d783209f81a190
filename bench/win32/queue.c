/* The Win32 floor under the queue figures: a single-producer single-consumer
 * ring of fixed slots in a pagefile-backed section, the producer a child made
 * by CreateProcessW; a side that finds the ring empty (full) spins a while,
 * then says it sleeps and waits on an auto-reset event the other side sets.
 * One copy in, one copy out per message. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "../bench.h"

#define SPINS 4000

typedef struct ring {
    volatile LONG64 head __attribute__((aligned(64)));
    volatile LONG64 cons_sleeping;
    volatile LONG64 tail __attribute__((aligned(64)));
    volatile LONG64 prod_sleeping;
    unsigned char data[] __attribute__((aligned(64)));
} ring_t;

typedef struct side {
    ring_t *r;
    HANDLE data_ev, room_ev; /* set by the producer, by the consumer */
    size_t size;
    long slots;
} side_t;

/* Wait until ready(r, i) holds, sleeping on ev behind the flag `sleeping`. */
static void await(const side_t *s, int (*ready)(const side_t *, long), long i,
                  volatile LONG64 *sleeping, HANDLE ev)
{
    for (int spin = 0; !ready(s, i); spin++) {
        if (spin < SPINS) {
            YieldProcessor();
            continue;
        }
        InterlockedExchange64(sleeping, 1);
        if (!ready(s, i))
            WaitForSingleObject(ev, INFINITE);
        InterlockedExchange64(sleeping, 0);
        spin = 0;
    }
}

static void wake(volatile LONG64 *sleeping, HANDLE ev)
{
    if (InterlockedCompareExchange64(sleeping, 0, 0))
        SetEvent(ev);
}

static int has_room(const side_t *s, long i)
{
    return i - InterlockedCompareExchange64(&s->r->head, 0, 0) < s->slots;
}

static int has_data(const side_t *s, long i)
{
    return InterlockedCompareExchange64(&s->r->tail, 0, 0) > i;
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
    for (long i = 0; i < n; i++) {
        await(&s, has_room, i, &s.r->prod_sleeping, s.room_ev);
        memcpy(s.r->data + (size_t)(i % s.slots) * s.size, msg, s.size);
        InterlockedExchange64(&s.r->tail, i + 1);
        wake(&s.r->cons_sleeping, s.data_ev);
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
    long i;
} taker_t;

static void take_one(void *ctx)
{
    taker_t *t = ctx;
    side_t *s = t->s;
    await(s, has_data, t->i, &s->r->cons_sleeping, s->data_ev);
    memcpy(t->buf, s->r->data + (size_t)(t->i % s->slots) * s->size, s->size);
    InterlockedExchange64(&s->r->head, ++t->i);
    wake(&s->r->prod_sleeping, s->room_ev);
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
    if (!CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
        bench_fail("CreateProcessW", "failed");
    taker_t t = {&s, buf, 0};
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
