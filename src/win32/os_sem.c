#include "os_error.h"

#include <limits.h>
#include <stdlib.h>

#include "platform.h"

struct mproc__os_sem {
    HANDLE h;
};

static mproc_status_t wrap(HANDLE h, mproc__os_sem_t **out)
{
    mproc__os_sem_t *s = (mproc__os_sem_t *)malloc(sizeof *s);
    if (s == NULL)
        return MPROC_ENOMEM;
    s->h = h;
    *out = s;
    return MPROC_OK;
}

mproc_status_t mproc__os_sem_create(unsigned value, mproc__os_sem_t **out)
{
    HANDLE h;
    mproc_status_t st;
    if (out == NULL || value > (unsigned)LONG_MAX)
        return MPROC_EINVAL;
    /* Unnamed and non-inheritable: children get it only through spawn's pass list. */
    h = CreateSemaphoreW(NULL, (LONG)value, LONG_MAX, NULL);
    if (h == NULL)
        return mproc__os_status_from_win32(GetLastError());
    st = wrap(h, out);
    if (st != MPROC_OK)
        CloseHandle(h);
    return st;
}

/* Takes ownership of h on success only; on failure the caller still owns it. */
mproc_status_t mproc__os_sem_open(mproc__os_handle_t h, mproc__os_sem_t **out)
{
    if (out == NULL || h == MPROC__OS_NO_HANDLE || h == 0)
        return MPROC_EINVAL;
    return wrap((HANDLE)h, out);
}

mproc_status_t mproc__os_sem_wait(mproc__os_sem_t *s, double deadline)
{
    if (s == NULL)
        return MPROC_EINVAL;
    return mproc__os_wait_object(s->h, deadline);
}

/* A wait that sleeps and the post that ends it are kernel calls on each
 * side, under Wine wineserver requests, so a sleep costs more than on Linux.
 * With Linux's 20 us, the two sides of a stream of 1 MiB messages slept
 * 354-457 times in 3,000 messages while the other was still copying a frame
 * (30-45 us); with 60 us 32-156 times, and queue_1MiB went from about 0.76x
 * to 0.9-1x its raw ring, which spins 2000 pauses, about 55 us
 * (docs/performance.md, Windows, Queue). */
double mproc__os_sem_spin_seconds(void)
{
    return 60e-6;
}

mproc_status_t mproc__os_sem_post(mproc__os_sem_t *s)
{
    if (s == NULL)
        return MPROC_EINVAL;
    if (!ReleaseSemaphore(s->h, 1, NULL))
        return mproc__os_status_from_win32(GetLastError());
    return MPROC_OK;
}

mproc__os_handle_t mproc__os_sem_handle(const mproc__os_sem_t *s)
{
    return s == NULL ? MPROC__OS_NO_HANDLE : (mproc__os_handle_t)s->h;
}

void mproc__os_sem_close(mproc__os_sem_t *s)
{
    if (s == NULL)
        return;
    CloseHandle(s->h);
    free(s);
}
