/*
 * A robust, process-shared pthread mutex in anonymous shared memory: when its
 * owner dies, the next locker gets EOWNERDEAD instead of waiting forever.
 * (APR's process mutex repairs such a lock silently, so it cannot be used.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "os_error.h"

struct mproc__os_mutex {
    mproc__os_shm_t shm;
};

static pthread_mutex_t *mutex_of(const mproc__os_mutex_t *m)
{
    return (pthread_mutex_t *)m->shm.addr;
}

static mproc_status_t init_in(pthread_mutex_t *mx)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (!err)
        err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
#if defined(PTHREAD_MUTEX_ROBUST) || defined(__linux__)
    if (!err)
        err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
#endif
    if (!err)
        err = pthread_mutex_init(mx, &attr);
    pthread_mutexattr_destroy(&attr);
    return err ? (err == ENOTSUP ? MPROC_ENOTSUP : mproc__os_status_from_errno(err)) : MPROC_OK;
}

static mproc_status_t make(mproc__os_handle_t h, int create, mproc__os_mutex_t **out)
{
    mproc__os_mutex_t *m = calloc(1, sizeof *m);
    if (!m)
        return MPROC_ENOMEM;
    mproc_status_t st = create ? mproc__os_shm_create(sizeof(pthread_mutex_t), &m->shm)
                               : mproc__os_shm_attach(h, sizeof(pthread_mutex_t), &m->shm);
    if (!st && create && (st = init_in(mutex_of(m))) != MPROC_OK)
        mproc__os_shm_release(&m->shm);
    if (st) {
        free(m);
        return st;
    }
    *out = m;
    return MPROC_OK;
}

mproc_status_t mproc__os_mutex_create(mproc__os_mutex_t **out)
{
    return make(MPROC__OS_NO_HANDLE, 1, out);
}

mproc_status_t mproc__os_mutex_open(mproc__os_handle_t h, mproc__os_mutex_t **out)
{
    return make(h, 0, out);
}

mproc_status_t mproc__os_mutex_lock(mproc__os_mutex_t *m, double deadline)
{
    int err;
    if (deadline < 0) {
        err = pthread_mutex_lock(mutex_of(m));
    } else {
        struct timespec ts = mproc__os_wait_until(deadline);
#if MPROC__OS_MONOTONIC_WAITS
        err = pthread_mutex_clocklock(mutex_of(m), CLOCK_MONOTONIC, &ts);
#else
        err = pthread_mutex_timedlock(mutex_of(m), &ts);
#endif
    }
    if (err == 0)
        return MPROC_OK;
#if defined(PTHREAD_MUTEX_ROBUST) || defined(__linux__)
    if (err == EOWNERDEAD) {
        pthread_mutex_consistent(mutex_of(m));
        return MPROC_EOWNERDEAD;
    }
#endif
    return err == ETIMEDOUT ? MPROC_ETIMEDOUT : mproc__os_status_from_errno(err);
}

void mproc__os_mutex_unlock(mproc__os_mutex_t *m)
{
    pthread_mutex_unlock(mutex_of(m));
}

mproc__os_handle_t mproc__os_mutex_handle(const mproc__os_mutex_t *m)
{
    return m->shm.handle;
}

void mproc__os_mutex_close(mproc__os_mutex_t *m)
{
    if (!m)
        return;
    mproc__os_shm_release(&m->shm);
    free(m);
}
