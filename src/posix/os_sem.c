/*
 * A counting semaphore placed in anonymous shared memory (sem_init with
 * pshared), so it reaches children by descriptor like any shared memory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>

#include "os_error.h"

struct mproc__os_sem {
    mproc__os_shm_t shm;
};

static sem_t *sem_of(const mproc__os_sem_t *s)
{
    return (sem_t *)s->shm.addr;
}

mproc_status_t mproc__os_sem_create(unsigned value, mproc__os_sem_t **out)
{
    mproc__os_sem_t *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    mproc_status_t st = mproc__os_shm_create(sizeof(sem_t), &s->shm);
    if (!st && sem_init(sem_of(s), 1, value) != 0) {
        st = errno == ENOSYS ? MPROC_ENOTSUP : mproc__os_status_from_errno(errno);
        mproc__os_shm_release(&s->shm);
    }
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return MPROC_OK;
}

mproc_status_t mproc__os_sem_open(mproc__os_handle_t h, mproc__os_sem_t **out)
{
    mproc__os_sem_t *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    mproc_status_t st = mproc__os_shm_attach(h, sizeof(sem_t), &s->shm);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return MPROC_OK;
}

static int timed_wait(sem_t *sem, double deadline)
{
    struct timespec ts = mproc__os_wait_until(deadline);
#if MPROC__OS_MONOTONIC_WAITS
    return sem_clockwait(sem, CLOCK_MONOTONIC, &ts);
#else
    return sem_timedwait(sem, &ts);
#endif
}

mproc_status_t mproc__os_sem_wait(mproc__os_sem_t *s, double deadline)
{
    for (;;) {
        int r = deadline < 0 ? sem_wait(sem_of(s)) : timed_wait(sem_of(s), deadline);
        if (r == 0)
            return MPROC_OK;
        if (errno != EINTR)
            return errno == ETIMEDOUT ? MPROC_ETIMEDOUT : mproc__os_status_from_errno(errno);
    }
}

mproc_status_t mproc__os_sem_post(mproc__os_sem_t *s)
{
    return sem_post(sem_of(s)) == 0 ? MPROC_OK : mproc__os_status_from_errno(errno);
}

mproc__os_handle_t mproc__os_sem_handle(const mproc__os_sem_t *s)
{
    return s->shm.handle;
}

void mproc__os_sem_close(mproc__os_sem_t *s)
{
    if (!s)
        return;
    mproc__os_shm_release(&s->shm);
    free(s);
}
