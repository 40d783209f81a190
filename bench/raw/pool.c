/* The OS floors under the Pool figures, workers made by fork before the clock
 * starts (as a Pool's are):
 *  pool_map      chunks of the input sent over one socketpair per worker, each
 *                worker squaring its chunk and sending it back, a new chunk
 *                to whichever worker answered (the work a Pool does, minus
 *                the library); parameters: workers, chunksize (default as
 *                Python's: len / (4 * workers), rounded up)
 *  pool_map_shm  the array in shared memory, each worker squaring its share
 *                in place: no copy at all, a bound no message passing reaches
 *  pool_apply_rtt  one request and its answer over a socketpair, the answer
 *                read by a second thread that hands it to the caller (the
 *                result-handler hop of a Pool). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../bench.h"
#include "spin.h"

#define MAX_WORKERS 16

static void io_full(int write_side, int fd, void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write_side ? write(fd, (char *)buf + done, len - done)
                               : read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_fail("socketpair", n ? strerror(errno) : "peer closed");
        done += (size_t)n;
    }
}

/* A worker: `int64 count` then count int64s in, their squares out; 0 ends. */
static void chunk_worker(int fd)
{
    int64_t *buf = NULL, count;
    size_t cap = 0;
    for (;;) {
        io_full(0, fd, &count, sizeof count);
        if (count <= 0)
            _exit(0);
        if ((size_t)count > cap) {
            cap = (size_t)count;
            buf = realloc(buf, cap * sizeof *buf);
        }
        io_full(0, fd, buf, (size_t)count * sizeof *buf);
        for (int64_t i = 0; i < count; i++)
            buf[i] *= buf[i];
        io_full(1, fd, buf, (size_t)count * sizeof *buf);
    }
}

/* A worker process running body() on its end of a new socketpair; *fd: ours. */
static pid_t fork_worker(int *fd, void (*body)(int fd))
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        bench_fail("socketpair", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        body(sv[1]);
    }
    close(sv[1]);
    *fd = sv[0];
    return pid;
}

typedef struct chunks {
    int64_t *in, *out;
    long n, chunk, next; /* next: first element not yet sent */
    long at[MAX_WORKERS]; /* the chunk each worker holds, -1: idle */
} chunks_t;

static void send_chunk(chunks_t *c, int w, int fd)
{
    int64_t count = c->n - c->next < c->chunk ? c->n - c->next : c->chunk;
    io_full(1, fd, &count, sizeof count);
    io_full(1, fd, c->in + c->next, (size_t)count * sizeof *c->in);
    c->at[w] = c->next;
    c->next += count;
}

static void distribute(chunks_t *c, const int *fds, int workers)
{
    struct pollfd pfd[MAX_WORKERS];
    long busy = 0;
    for (int w = 0; w < workers && c->next < c->n; w++, busy++)
        send_chunk(c, w, fds[w]);
    while (busy) {
        for (int w = 0; w < workers; w++)
            pfd[w] = (struct pollfd){.fd = fds[w], .events = c->at[w] >= 0 ? POLLIN : 0};
        if (poll(pfd, (nfds_t)workers, -1) < 0 && errno != EINTR)
            bench_fail("poll", strerror(errno));
        for (int w = 0; w < workers; w++) {
            if (!(pfd[w].revents & (POLLIN | POLLHUP)))
                continue;
            long at = c->at[w], count = c->n - at < c->chunk ? c->n - at : c->chunk;
            io_full(0, fds[w], c->out + at, (size_t)count * sizeof *c->out);
            c->at[w] = -1;
            busy--;
            if (c->next < c->n) {
                send_chunk(c, w, fds[w]);
                busy++;
            }
        }
    }
}

static double pool_map(long n)
{
    int workers = (int)bench_param(0, 2), fds[MAX_WORKERS];
    pid_t pids[MAX_WORKERS];
    if (workers < 1 || workers > MAX_WORKERS)
        bench_fail("pool_map", "1 to 16 workers");
    long chunk = bench_param(1, (n + 4L * workers - 1) / (4L * workers));
    chunks_t c = {.n = n, .chunk = chunk < 1 ? 1 : chunk};
    c.in = malloc((size_t)n * sizeof *c.in);
    c.out = malloc((size_t)n * sizeof *c.out);
    for (long i = 0; i < n; i++)
        c.in[i] = i;
    for (int w = 0; w < workers; w++)
        pids[w] = fork_worker(&fds[w], chunk_worker);
    double t0 = bench_now();
    distribute(&c, fds, workers);
    double elapsed = bench_now() - t0;
    if (c.out[n - 1] != (int64_t)(n - 1) * (n - 1))
        bench_fail("pool_map", "wrong result");
    for (int w = 0; w < workers; w++) {
        int64_t end = 0;
        io_full(1, fds[w], &end, sizeof end);
        close(fds[w]);
        raw_reap(pids[w]);
    }
    free(c.in);
    free(c.out);
    return (double)n / elapsed;
}
BENCH_FIGURE("pool_map", "items/s", pool_map)

/* The share of the next worker forked: a[from, to). */
static struct {
    int64_t *a;
    long from, to;
} share;

/* Squares its share when it reads a byte on fd, then answers one. */
static void share_worker(int fd)
{
    char b;
    io_full(0, fd, &b, 1);
    for (long i = share.from; i < share.to; i++)
        share.a[i] *= share.a[i];
    io_full(1, fd, &b, 1);
    _exit(0);
}

static double pool_map_shm(long n)
{
    int workers = (int)bench_param(0, 2), fds[MAX_WORKERS];
    pid_t pids[MAX_WORKERS];
    if (workers < 1 || workers > MAX_WORKERS)
        bench_fail("pool_map_shm", "1 to 16 workers");
    size_t bytes = (size_t)n * sizeof(int64_t);
    int64_t *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        bench_fail("mmap", strerror(errno));
    for (long i = 0; i < n; i++)
        a[i] = i;
    share.a = a;
    for (int w = 0; w < workers; w++) {
        share.from = n * w / workers;
        share.to = n * (w + 1) / workers;
        pids[w] = fork_worker(&fds[w], share_worker);
    }
    char b = 1;
    double t0 = bench_now();
    for (int w = 0; w < workers; w++)
        io_full(1, fds[w], &b, 1);
    for (int w = 0; w < workers; w++)
        io_full(0, fds[w], &b, 1);
    double elapsed = bench_now() - t0;
    if (a[n - 1] != (int64_t)(n - 1) * (n - 1))
        bench_fail("pool_map_shm", "wrong result");
    for (int w = 0; w < workers; w++) {
        close(fds[w]);
        raw_reap(pids[w]);
    }
    munmap(a, bytes);
    return (double)n / elapsed;
}
BENCH_FIGURE("pool_map_shm", "items/s", pool_map_shm)

/* The caller and the result thread meet here: one answer at a time. */
typedef struct handoff {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    int64_t answer;
    int full, fd;
} handoff_t;

static void *result_thread(void *arg)
{
    handoff_t *h = arg;
    int64_t v;
    for (;;) {
        ssize_t got = read(h->fd, &v, sizeof v);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != (ssize_t)sizeof v)
            return NULL; /* the worker closed: done */
        pthread_mutex_lock(&h->lock);
        h->answer = v;
        h->full = 1;
        pthread_cond_signal(&h->ready);
        pthread_mutex_unlock(&h->lock);
    }
}

static void apply_once(void *ctx)
{
    handoff_t *h = ctx;
    int64_t v = 1;
    io_full(1, h->fd, &v, sizeof v);
    pthread_mutex_lock(&h->lock);
    while (!h->full)
        pthread_cond_wait(&h->ready, &h->lock);
    h->full = 0;
    pthread_mutex_unlock(&h->lock);
}

/* An echo worker: int64s back as they come, until EOF. */
static void echo_worker(int fd)
{
    int64_t v;
    while (read(fd, &v, sizeof v) == (ssize_t)sizeof v)
        io_full(1, fd, &v, sizeof v);
    _exit(0);
}

static double pool_apply_rtt(long n)
{
    int fd;
    pid_t pid = fork_worker(&fd, echo_worker);
    handoff_t h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, fd};
    pthread_t t;
    if (pthread_create(&t, NULL, result_thread, &h) != 0)
        bench_fail("pthread_create", "failed");
    double rtt = bench_median_window(n, apply_once, &h);
    shutdown(fd, SHUT_WR);
    pthread_join(t, NULL);
    close(fd);
    raw_reap(pid);
    return rtt;
}
BENCH_FIGURE("pool_apply_rtt", "s", pool_apply_rtt)
