/*
 * A counting semaphore in a page of shared memory of its own, so that it
 * reaches children by descriptor like any shared memory: a count and the
 * number of sleepers, slept on with wait-on-address (os_addr_wait.h). Not
 * sem_init(pshared): macOS has none.
 *
 * A waiter counts itself a sleeper before the OS checks that the count is
 * still 0, and a post raises the count before it reads the sleepers (both
 * sequentially consistent read-modify-writes), so a post either finds the
 * sleeper or the sleeper finds the post. A process killed while asleep
 * leaves its count among the sleepers: posts then make a needless wake call.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "os_addr_wait.h"
#include "os_error.h"

typedef struct sem_word {
    volatile uint32_t count;
    volatile uint32_t sleepers;
} sem_word_t;

struct mproc__os_sem {
    mproc__os_shm_t shm;
};

static sem_word_t *word_of(const mproc__os_sem_t *s)
{
    return (sem_word_t *)s->shm.addr;
}

static mproc_status_t map(mproc__os_handle_t h, mproc__os_sem_t **out)
{
    mproc__os_sem_t *s = calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    mproc_status_t st = h == MPROC__OS_NO_HANDLE ? mproc__os_shm_create(sizeof(sem_word_t), &s->shm)
                                                 : mproc__os_shm_attach(h, sizeof(sem_word_t), &s->shm);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return MPROC_OK;
}

mproc_status_t mproc__os_sem_create(unsigned value, mproc__os_sem_t **out)
{
    mproc_status_t st = map(MPROC__OS_NO_HANDLE, out);
    if (!st)
        word_of(*out)->count = value; /* new shared memory is zero: sleepers too */
    return st;
}

mproc_status_t mproc__os_sem_open(mproc__os_handle_t h, mproc__os_sem_t **out)
{
    return h == MPROC__OS_NO_HANDLE ? MPROC_EINVAL : map(h, out);
}

static int try_take(sem_word_t *w)
{
    uint32_t c = __atomic_load_n(&w->count, __ATOMIC_RELAXED);
    while (c > 0)
        if (__atomic_compare_exchange_n(&w->count, &c, c - 1, 1, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return 1;
    return 0;
}

mproc_status_t mproc__os_sem_wait(mproc__os_sem_t *s, double deadline)
{
    sem_word_t *w = word_of(s);
    for (;;) {
        if (try_take(w))
            return MPROC_OK;
        __atomic_add_fetch(&w->sleepers, 1, __ATOMIC_SEQ_CST);
        int err = mproc__os_addr_wait(&w->count, 0, deadline);
        __atomic_sub_fetch(&w->sleepers, 1, __ATOMIC_SEQ_CST);
        if (err == ETIMEDOUT) /* a post may have come with the deadline */
            return try_take(w) ? MPROC_OK : MPROC_ETIMEDOUT;
        if (err)
            return mproc__os_status_from_errno(err);
    }
}

/* A futex sleep and its wake-up are a system call each. */
double mproc__os_sem_spin_seconds(void)
{
    return 20e-6;
}

mproc_status_t mproc__os_sem_post(mproc__os_sem_t *s)
{
    sem_word_t *w = word_of(s);
    uint32_t c = __atomic_load_n(&w->count, __ATOMIC_RELAXED);
    do {
        if (c == UINT32_MAX)
            return MPROC_ETOOBIG;
    } while (!__atomic_compare_exchange_n(&w->count, &c, c + 1, 1, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    if (__atomic_load_n(&w->sleepers, __ATOMIC_SEQ_CST))
        mproc__os_addr_wake_one(&w->count);
    return MPROC_OK;
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
