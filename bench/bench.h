/*
 * The shared frame of bench_mproc and bench_raw: a figure is a function
 * registered under its name, and both binaries are run as
 * `<binary> <figure> <iterations>`, printing one JSON line that run.py reads.
 *
 * A new figure is one file under mproc/ (or raw/) with BENCH_FIGURE(); CMake
 * picks the file up and the constructor registers it, so no table here grows.
 */
#ifndef MPROC_BENCH_H
#define MPROC_BENCH_H

/* Runs `iterations` units of work; returns the figure's value in its unit. */
typedef double (*bench_fn)(long iterations);

typedef struct bench_figure {
    const char *name;
    const char *unit; /* "s" for times, ".../s" for rates */
    bench_fn fn;
    struct bench_figure *next;
} bench_figure_t;

void bench_register(bench_figure_t *figure);

#define BENCH_FIGURE(name, unit, fn)                                                \
    static bench_figure_t bench__figure_##fn = {name, unit, fn, 0};                 \
    __attribute__((constructor)) static void bench__register_##fn(void)             \
    {                                                                               \
        bench_register(&bench__figure_##fn);                                        \
    }

/* The queue figures of a raw side, from its `double spsc(size_t size, long n)`:
 * seconds per message while n messages of size bytes move through its ring,
 * as the consumer sees them (bench_median_window over its gets, like the
 * mproc side's). */
#define BENCH_RAW_QUEUE_FIGURES(spsc)                                               \
    static double queue_64B(long n) { return 1.0 / spsc(64, n); }                   \
    BENCH_FIGURE("queue_64B", "msg/s", queue_64B)                                   \
    static double queue_64KiB(long n) { return 1.0 / spsc(64 * 1024, n); }          \
    BENCH_FIGURE("queue_64KiB", "msg/s", queue_64KiB)                               \
    static double queue_1MiB(long n) { return 1024.0 * 1024 / spsc(1024 * 1024, n); } \
    BENCH_FIGURE("queue_1MiB", "B/s", queue_1MiB)

/* Parse the command line, warm up, run the figure, print its JSON line.
 * `<binary> <figure> <iterations> [param...]`: the sweeps pass integer
 * parameters (a message size, a number of producers...) after the count. */
int bench_main(int argc, char **argv);

/* The i-th integer parameter of this run, or `fallback` when not given. */
long bench_param(int i, long fallback);

/* Pins the calling process for the 1x1 queue figures: role 0 (the consumer)
 * and role 1 (the producer). MPROC_BENCH_PIN=split puts them on CPUs 0 and 1,
 * =same both on CPU 0, unset or =none leaves placement to the scheduler.
 * Linux (sched_setaffinity) and Windows (SetProcessAffinityMask, which Wine
 * maps to sched_setaffinity); elsewhere, and when refused, nothing. */
void bench_pin(int role);

/* Monotonic clock in seconds. */
double bench_now(void);

/* Mean seconds per call of step(ctx) over `iterations` calls, taken as the
 * median of the means of BENCH_WINDOWS equal windows: the host of this VM
 * stalls a run now and then for up to a millisecond, and a whole-run mean
 * turns those few stalls into most of the spread between runs. */
#define BENCH_WINDOWS 20
double bench_median_window(long iterations, void (*step)(void *ctx), void *ctx);

/* bench_main also prints the figure as the low window gives it ("low": from
 * the (BENCH_WINDOWS / BENCH_LOW_WINDOW + 1)-th fastest window mean instead
 * of the median, scaled alike): host load only slows a window, so the low
 * windows are the least disturbed ones. run.py compares the sides by it. */
#define BENCH_LOW_WINDOW 10

/* Report a failed call on stderr and exit: a benchmark that fails has no figure. */
void bench_fail(const char *what, const char *why);

/* argv[0] of this run (bench_main sets it), for re-executing this program. */
extern const char *bench_argv0;

/* The argument a raw spawned child is started with: it exits at once. */
#define BENCH_RAW_CHILD_ARG "--bench-raw-child"

#ifdef _WIN32
/* A raw Win32 child started with this and a handle value echoes 64-byte
 * messages on that pipe until EOF (win32/pipe_rtt.c). */
#define BENCH_RAW_ECHO_ARG "--bench-raw-echo"
int bench_raw_echo(const char *handle);
/* A raw Win32 child started with this fills a shared ring (win32/queue.c). */
#define BENCH_RAW_RING_ARG "--bench-raw-ring"
int bench_raw_ring(int argc, char **argv);
#endif

#endif
