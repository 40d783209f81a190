/* The raw OS side of the figures, no library: `bench_raw <figure> <iterations>`
 * (raw/ on POSIX, win32/ on Windows). */
#include <string.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    /* The spawned child of raw/start_join.c: the cheapest possible child. */
    if (argc > 1 && strcmp(argv[1], BENCH_RAW_CHILD_ARG) == 0)
        _exit(0);
#ifdef _WIN32
    if (argc > 2 && strcmp(argv[1], BENCH_RAW_ECHO_ARG) == 0)
        return bench_raw_echo(argv[2]);
    if (argc > 1 && strcmp(argv[1], BENCH_RAW_RING_ARG) == 0)
        return bench_raw_ring(argc, argv);
#endif
    return bench_main(argc, argv);
}
