#if defined(__linux__)
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#endif
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bench_figure_t *figures;
const char *bench_argv0;
#define BENCH_MAX_PARAMS 4
static long params[BENCH_MAX_PARAMS];
static int nparams;

long bench_param(int i, long fallback)
{
    return i >= 0 && i < nparams ? params[i] : fallback;
}

#ifdef _WIN32
#include <windows.h>
#endif

/* The CPU MPROC_BENCH_PIN gives `role`, or -1: not pinned. */
static int pin_cpu(int role)
{
    const char *how = getenv("MPROC_BENCH_PIN");
    if (!how || (strcmp(how, "split") != 0 && strcmp(how, "same") != 0))
        return -1;
    return strcmp(how, "split") == 0 && role ? 1 : 0;
}

void bench_pin(int role)
{
    int cpu = pin_cpu(role);
    if (cpu < 0)
        return;
#if defined(_WIN32)
    /* The process, not only this thread: Wine maps it to sched_setaffinity
     * of each of the process's threads, and a child started later inherits it. */
    (void)SetProcessAffinityMask(GetCurrentProcess(), (DWORD_PTR)1 << cpu); /* refused: left to the scheduler */
#elif defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set); /* refused: left to the scheduler */
#endif
}

void bench_register(bench_figure_t *figure)
{
    figure->next = figures;
    figures = figure;
}

#ifdef _WIN32
#include <windows.h>

double bench_now(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart / (double)freq.QuadPart;
}
#else
double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The last bench_median_window's median and low window means (bench_main). */
static double last_median, last_low;

double bench_median_window(long iterations, void (*step)(void *ctx), void *ctx)
{
    double means[BENCH_WINDOWS];
    long per = iterations / BENCH_WINDOWS > 0 ? iterations / BENCH_WINDOWS : 1;
    int windows = 0;
    for (long done = 0; done < iterations && windows < BENCH_WINDOWS; windows++) {
        long k = windows == BENCH_WINDOWS - 1 ? iterations - done : per;
        double t0 = bench_now();
        for (long i = 0; i < k; i++)
            step(ctx);
        means[windows] = (bench_now() - t0) / (double)k;
        done += k;
    }
    qsort(means, (size_t)windows, sizeof means[0], cmp_double);
    last_median = windows % 2 ? means[windows / 2] : (means[windows / 2 - 1] + means[windows / 2]) / 2;
    last_low = means[windows / BENCH_LOW_WINDOW];
    return last_median;
}

void bench_fail(const char *what, const char *why)
{
    fprintf(stderr, "%s: %s\n", what, why);
    exit(1);
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s <figure> <iterations> [param...]\nfigures:", prog);
    for (bench_figure_t *f = figures; f; f = f->next)
        fprintf(stderr, " %s", f->name);
    fprintf(stderr, "\n");
    return 2;
}

int bench_main(int argc, char **argv)
{
    bench_argv0 = argv[0];
    if (argc < 3 || argc > 3 + BENCH_MAX_PARAMS)
        return usage(argv[0]);
    for (nparams = 0; nparams < argc - 3; nparams++)
        params[nparams] = strtol(argv[3 + nparams], NULL, 10);
    bench_figure_t *f = figures;
    while (f && strcmp(f->name, argv[1]) != 0)
        f = f->next;
    long n = strtol(argv[2], NULL, 10);
    if (!f || n <= 0)
        return usage(argv[0]);
    /* A short run first, so that page faults, lazy binding and caches are paid
     * before the measured run, as CPython's side does too. */
    long warmup = n / 10 < 1 ? 1 : n / 10 > 20 ? 20 : n / 10;
    (void)f->fn(warmup);
    last_median = last_low = 0;
    double value = f->fn(n);
    printf("{\"figure\": \"%s\", \"unit\": \"%s\", \"value\": %.9g", f->name, f->unit, value);
    if (last_median > 0 && last_low > 0) /* the figure from its low window instead */
        printf(", \"low\": %.9g",
               strcmp(f->unit, "s") == 0 ? value * last_low / last_median
                                         : value * last_median / last_low);
    printf("}\n");
    return 0;
}
