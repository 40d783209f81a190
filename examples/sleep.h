/* Sleeping for the examples, which should not need a platform header each. */
#ifndef MPROC_EXAMPLE_SLEEP_H
#define MPROC_EXAMPLE_SLEEP_H

#if defined(_WIN32)
#include <windows.h>
static void example_sleep(double seconds)
{
    if (seconds > 0)
        Sleep((DWORD)(seconds * 1000));
}
#else
#include <time.h>
static void example_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
#endif

#endif
