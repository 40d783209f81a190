/* The raw OS side of the figures, no library: `bench_raw <figure> <iterations>`. */
#include <string.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
    /* The spawned child of raw/start_join.c: the cheapest possible child. */
    if (argc > 1 && strcmp(argv[1], BENCH_RAW_CHILD_ARG) == 0)
        _exit(0);
    return bench_main(argc, argv);
}
