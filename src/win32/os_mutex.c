/*
 * A kernel mutex: when its owner dies, the next wait returns WAIT_ABANDONED,
 * which is reported as MPROC_EOWNERDEAD (the caller now owns it).
 */
#include "os_error.h"

#include <stdlib.h>

#include "platform.h"

struct mproc__os_mutex {
    HANDLE h;
};

static mproc_status_t wrap(HANDLE h, mproc__os_mutex_t **out)
{
    mproc__os_mutex_t *m = (mproc__os_mutex_t *)calloc(1, sizeof *m);
    if (m == NULL)
        return MPROC_ENOMEM;
    m->h = h;
    *out = m;
    return MPROC_OK;
}

mproc_status_t mproc__os_mutex_create(mproc__os_mutex_t **out)
{
    HANDLE h = CreateMutexW(NULL, FALSE, NULL);
    mproc_status_t st;
    if (h == NULL)
        return mproc__os_status_from_win32(GetLastError());
    st = wrap(h, out);
    if (st != MPROC_OK)
        CloseHandle(h);
    return st;
}

/* Takes ownership of h on success only. */
mproc_status_t mproc__os_mutex_open(mproc__os_handle_t h, mproc__os_mutex_t **out)
{
    if (h == MPROC__OS_NO_HANDLE)
        return MPROC_EINVAL;
    return wrap((HANDLE)h, out);
}

mproc_status_t mproc__os_mutex_lock(mproc__os_mutex_t *m, double deadline)
{
    return mproc__os_wait_object(m->h, deadline);
}

void mproc__os_mutex_unlock(mproc__os_mutex_t *m)
{
    ReleaseMutex(m->h);
}

mproc__os_handle_t mproc__os_mutex_handle(const mproc__os_mutex_t *m)
{
    return (mproc__os_handle_t)m->h;
}

void mproc__os_mutex_close(mproc__os_mutex_t *m)
{
    if (m == NULL)
        return;
    CloseHandle(m->h);
    free(m);
}
