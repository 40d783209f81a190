/* The OS floor under pipe_rtt_64B: a socketpair ping-pong with one message
 * each way, the child made by fork; timed as the mproc side (median of window
 * means). pipe_size: the same with messages of bench_param(0) bytes. Both
 * sides pin themselves (bench_pin), as the mproc side does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench.h"

#define MSG 64

static int full(ssize_t (*io)(int, void *, size_t), int fd, char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = io(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static ssize_t write_fn(int fd, void *buf, size_t len)
{
    return write(fd, buf, len);
}

typedef struct trip {
    int fd;
    char *buf;
    size_t size;
} trip_t;

static void round_trip(void *ctx)
{
    trip_t *t = ctx;
    if (full(write_fn, t->fd, t->buf, t->size) || full(read, t->fd, t->buf, t->size))
        bench_fail("ping-pong", "short transfer");
}

static double rtt_of(size_t size, long iterations)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        bench_fail("socketpair", strerror(errno));
    trip_t t = {sv[0], calloc(1, size), size};
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        bench_pin(1);
        while (full(read, sv[1], t.buf, size) == 0 && full(write_fn, sv[1], t.buf, size) == 0) {
        }
        _exit(0);
    }
    close(sv[1]);
    bench_pin(0);
    double rtt = bench_median_window(iterations, round_trip, &t);
    close(sv[0]);
    free(t.buf);
    int status;
    waitpid(pid, &status, 0);
    return rtt;
}

static double pipe_rtt(long iterations)
{
    return rtt_of(MSG, iterations);
}
BENCH_FIGURE("pipe_rtt_64B", "s", pipe_rtt)

static double pipe_size(long iterations)
{
    return rtt_of((size_t)bench_param(0, MSG), iterations);
}
BENCH_FIGURE("pipe_size", "s", pipe_size)
