/* pipe_rtt_64B: the parent sends 64 bytes over a duplex Pipe, a child echoes
 * them back; mean seconds per round trip (median of window means). */
#include <mproc/mproc.h>

#include "../bench.h"

#define MSG 64

static void check(const char *what, mproc_status_t st)
{
    if (st)
        bench_fail(what, mproc_strerror(st));
}

static int echo(const mproc_args_t *args)
{
    mproc_connection_t *c;
    char buf[MSG];
    size_t n;
    if (mproc_args_get_connection(args, 0, &c))
        return 1;
    while (mproc_connection_recv_bytes_into(c, MPROC_FOREVER, buf, sizeof buf, &n) == MPROC_OK)
        if (mproc_connection_send_bytes(c, buf, n))
            return 1;
    mproc_connection_free(c);
    return 0;
}
MPROC_TARGET(echo)

static void round_trip(void *ctx)
{
    char msg[MSG] = {0}, back[MSG];
    size_t n;
    check("send_bytes", mproc_connection_send_bytes(ctx, msg, sizeof msg));
    check("recv_bytes_into", mproc_connection_recv_bytes_into(ctx, MPROC_FOREVER, back, sizeof back, &n));
}

static double pipe_rtt(long iterations)
{
    mproc_connection_t *mine, *theirs;
    mproc_args_t *args;
    mproc_process_t *p;
    check("mproc_pipe", mproc_pipe(1, &mine, &theirs));
    check("mproc_args_create", mproc_args_create(&args));
    check("mproc_args_add_connection", mproc_args_add_connection(args, theirs));
    check("mproc_process_create", mproc_process_create(&p, echo, args, NULL));
    check("mproc_process_start", mproc_process_start(p));
    mproc_connection_free(theirs);
    mproc_args_free(args);

    double rtt = bench_median_window(iterations, round_trip, mine);
    mproc_connection_free(mine);
    check("mproc_process_join", mproc_process_join(p, MPROC_FOREVER));
    mproc_process_free(p);
    return rtt;
}
BENCH_FIGURE("pipe_rtt_64B", "s", pipe_rtt)
