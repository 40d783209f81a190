/* pipe_rtt_64B: the parent sends 64 bytes over a duplex Pipe, a child echoes
 * them back; mean seconds per round trip (median of window means).
 * pipe_size: the same with messages of bench_param(0) bytes (the sweep). The
 * two sides pin themselves as the raw floor's do (bench_pin): where the
 * scheduler put them moved the round trip 2-3x between runs. */
#include <mproc/mproc.h>
#include <stdlib.h>

#include "../bench.h"

#define MSG 64

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

/* args: the connection, the message size */
static int echo(const mproc_args_t *args)
{
    mproc_connection_t *c;
    int64_t size;
    size_t n;
    if (mproc_args_get_connection(args, 0, &c) || mproc_args_get_int(args, 1, &size))
        return 1;
    bench_pin(1);
    char *buf = malloc((size_t)size);
    while (mproc_connection_recv_bytes_into(c, MPROC_FOREVER, buf, (size_t)size, &n) == MPROC_OK)
        if (mproc_connection_send_bytes(c, buf, n))
            return 1;
    free(buf);
    mproc_connection_free(c);
    return 0;
}
MPROC_TARGET(echo)

typedef struct trip {
    mproc_connection_t *c;
    char *msg, *back;
    size_t size;
} trip_t;

static void round_trip(void *ctx)
{
    trip_t *t = ctx;
    size_t n;
    check("send_bytes", mproc_connection_send_bytes(t->c, t->msg, t->size));
    check("recv_bytes_into",
          mproc_connection_recv_bytes_into(t->c, MPROC_FOREVER, t->back, t->size, &n));
}

static double rtt_of(size_t size, long iterations)
{
    mproc_connection_t *theirs;
    mproc_args_t *args;
    mproc_process_t *p;
    trip_t t = {NULL, calloc(1, size), malloc(size), size};
    check("mproc_pipe", mproc_pipe(1, &t.c, &theirs));
    check("mproc_args_create", mproc_args_create(&args));
    check("mproc_args_add_connection", mproc_args_add_connection(args, theirs));
    check("mproc_args_add_int", mproc_args_add_int(args, (int64_t)size));
    check("mproc_process_create", mproc_process_create(&p, echo, args, NULL));
    check("mproc_process_start", mproc_process_start(p));
    mproc_connection_free(theirs);
    mproc_args_free(args);
    bench_pin(0);
    double rtt = bench_median_window(iterations, round_trip, &t);
    mproc_connection_free(t.c);
    free(t.msg);
    free(t.back);
    check("mproc_process_join", mproc_process_join(p, MPROC_FOREVER));
    mproc_process_free(p);
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
