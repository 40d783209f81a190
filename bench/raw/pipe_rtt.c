/* The OS floor under pipe_rtt_64B: a socketpair ping-pong with one write and
 * one read of 64 bytes each way, the child made by fork; timed as the mproc
 * side (median of window means). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench.h"

#define MSG 64

static int full(ssize_t (*io)(int, void *, size_t), int fd, char *buf)
{
    size_t done = 0;
    while (done < MSG) {
        ssize_t n = io(fd, buf + done, MSG - done);
        if (n <= 0)
            return n < 0 && errno == EINTR ? full(io, fd, buf) : -1;
        done += (size_t)n;
    }
    return 0;
}

static ssize_t write_fn(int fd, void *buf, size_t len)
{
    return write(fd, buf, len);
}

static void round_trip(void *ctx)
{
    int fd = *(int *)ctx;
    char buf[MSG] = {0};
    if (full(write_fn, fd, buf) || full(read, fd, buf))
        bench_fail("ping-pong", "short transfer");
}

static double pipe_rtt(long iterations)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        bench_fail("socketpair", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork", strerror(errno));
    char buf[MSG] = {0};
    if (pid == 0) {
        close(sv[0]);
        while (full(read, sv[1], buf) == 0 && full(write_fn, sv[1], buf) == 0) {
        }
        _exit(0);
    }
    close(sv[1]);
    double rtt = bench_median_window(iterations, round_trip, &sv[0]);
    close(sv[0]);
    int status;
    waitpid(pid, &status, 0);
    return rtt;
}
BENCH_FIGURE("pipe_rtt_64B", "s", pipe_rtt)
