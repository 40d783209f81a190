/*
 * Barrier. Its state is guarded by a shared lock of its own (lock.h) and
 * lists the processes waiting (their tokens), so that a waiter that dies is
 * noticed by the others, which then break the barrier instead of waiting
 * for ever. A generation count tells waiters that the last party arrived:
 * the last one runs the action, starts the next generation and wakes all.
 * Breaking (abort, a timeout, a death, a failed action) concerns only the
 * current generation; reset while parties wait breaks it for them and makes
 * the barrier usable again once they have left (Python's "resetting").
 */
#include <string.h>

#include "atomic.h"
#include "core.h"
#include "fault.h"
#include "lock.h"
#include "mproc/sync.h"
#include "sync_obj.h"

#define DEATH_CHECK 0.1 /* how often a waiter looks for dead waiters */
#define NAME_MAX_LEN 128

typedef struct barrier_block {
    mproc__sync_head_t head;
    mproc__lock_t mutex;          /* sleeps on semaphore 0 */
    volatile int64_t sleepers;    /* on semaphore 1 */
    int64_t parties;
    volatile int64_t count;       /* waiting in this generation */
    volatile int64_t generation;
    volatile int64_t broken;
    volatile int64_t resetting;   /* reset while some waited: clean once they left */
    double timeout;               /* the default for wait */
    char action[NAME_MAX_LEN];    /* a registered target's name, or "" */
    volatile int64_t tokens[];    /* the first `count`: who waits */
} barrier_block_t;

struct mproc_barrier {
    mproc__sync_t obj;
    mproc__lock_view_t mutex;
};

#define BLOCK(b) ((barrier_block_t *)(b)->obj.shm.addr)

static mproc_barrier_t *bind(mproc_barrier_t *b)
{
    if (b)
        mproc__lock_bind(&b->mutex, &BLOCK(b)->mutex, b->obj.sems[0],
                         &BLOCK(b)->head.light_users, 0);
    return b;
}

mproc_status_t mproc_barrier_create(mproc_barrier_t **out, int64_t parties,
                                    mproc_target_fn action, double timeout)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    if (parties < 1 || parties > MPROC_BARRIER_MAX_PARTIES || timeout != timeout)
        return MPROC_EINVAL;
    const char *name = action ? mproc__target_name(action) : "";
    if (!name)
        return MPROC_ENOTREGISTERED;
    if (strlen(name) >= NAME_MAX_LEN)
        return MPROC_ETOOBIG;
    mproc__sync_t obj;
    size_t size = sizeof(barrier_block_t) + (size_t)parties * sizeof(int64_t);
    mproc_status_t st = mproc__sync_create(&obj, MPROC__OBJ_BARRIER, size);
    if (st)
        return st;
    barrier_block_t *s = (barrier_block_t *)obj.shm.addr;
    s->parties = parties;
    s->timeout = timeout;
    strcpy(s->action, name);
    *out = bind(mproc__sync_view_new(&obj, sizeof **out));
    return *out ? MPROC_OK : MPROC_ENOMEM;
}

/* Drop the waiters that died; how many there were. Under the mutex. */
static int64_t drop_dead(barrier_block_t *s)
{
    int64_t dropped = 0;
    for (int64_t i = 0; i < s->count; i++)
        if (!mproc__os_token_alive(s->tokens[i])) {
            s->tokens[i--] = s->tokens[--s->count];
            dropped++;
        }
    return dropped;
}

static void lock_state(mproc_barrier_t *b)
{
    /* A process died inside: what it was changing cannot be trusted. */
    if (mproc__lock_acquire(&b->mutex, -1.0) == MPROC_EOWNERDEAD) {
        drop_dead(BLOCK(b));
        BLOCK(b)->broken = 1;
    }
}

static void unlock_state(mproc_barrier_t *b, int wake)
{
    mproc__lock_release(&b->mutex);
    if (wake)
        mproc__sync_wake(&b->obj, 1, &BLOCK(b)->sleepers, INT64_MAX);
}

/* This waiter leaves the current generation. Under the mutex. */
static void leave(barrier_block_t *s)
{
    int64_t me = mproc__os_self_token();
    for (int64_t i = 0; i < s->count; i++)
        if (s->tokens[i] == me) {
            s->tokens[i] = s->tokens[--s->count];
            break;
        }
    if (s->count == 0 && s->resetting)
        s->resetting = s->broken = 0;
}

static int not_resetting(void *ctx)
{
    return !mproc__load(&((barrier_block_t *)ctx)->resetting);
}

/* The last party: run the action; non-zero when it failed. Under the mutex. */
static int run_action(barrier_block_t *s)
{
    if (!s->action[0])
        return 0;
    mproc_target_fn fn = mproc__target_by_name(s->action);
    return !fn || fn(NULL) != 0;
}

/* Arrive: MPROC_OK for the last party (all released), 1 for a party that
 * must wait for generation *gen, or a failure. Takes and leaves the mutex. */
static mproc_status_t arrive(mproc_barrier_t *b, double deadline, int64_t *idx, int64_t *gen)
{
    barrier_block_t *s = BLOCK(b);
    for (;;) {
        lock_state(b);
        if (!s->resetting)
            break;
        unlock_state(b, 0);
        mproc_status_t st = mproc__sync_sleep(&b->obj, 1, &s->sleepers, not_resetting, s, deadline);
        if (st)
            return st;
    }
    /* The last arrival checks that the others still run: one that died
     * after arriving breaks the generation, as one that dies waiting does
     * (the waiters look only every DEATH_CHECK, and may not have yet). */
    if (!s->broken && s->count + 1 == s->parties && drop_dead(s))
        s->broken = 1;
    if (s->broken) {
        unlock_state(b, 1);
        return MPROC_EBROKEN;
    }
    *idx = s->count;
    *gen = s->generation;
    s->tokens[s->count++] = mproc__os_self_token();
    if (s->count < s->parties) {
        unlock_state(b, 0);
        MPROC_KILL_POINT("barrier.wait.after_arrival");
        return 1;
    }
    MPROC_KILL_POINT("barrier.wait.before_action");
    int failed = run_action(s);
    MPROC_KILL_POINT("barrier.wait.after_action");
    if (failed) {
        s->broken = 1;
        leave(s);
        unlock_state(b, 1);
        return MPROC_EBROKEN;
    }
    s->count = 0;
    mproc__add(&s->generation, 1);
    MPROC_KILL_POINT("barrier.wait.after_release");
    unlock_state(b, 1);
    return MPROC_OK;
}

typedef struct waiter {
    mproc_barrier_t *b;
    int64_t gen;
    double next_check;
} waiter_t;

/* A waiter that died, by a look without the mutex (the common case: none). */
static int any_dead(const barrier_block_t *s)
{
    int64_t n = mproc__load(&s->count);
    for (int64_t i = 0; i < n && i < s->parties; i++)
        if (!mproc__os_token_alive(mproc__load(&s->tokens[i])))
            return 1;
    return 0;
}

static int released(void *ctx)
{
    waiter_t *w = ctx;
    barrier_block_t *s = BLOCK(w->b);
    if (mproc__load(&s->generation) != w->gen)
        return 1;
    if (mproc__load(&s->broken))
        return MPROC_EBROKEN;
    double now = mproc__os_now();
    if (now < w->next_check)
        return 0;
    w->next_check = now + DEATH_CHECK;
    if (!any_dead(s))
        return 0;
    lock_state(w->b);
    if (s->generation == w->gen && drop_dead(s))
        s->broken = 1;
    unlock_state(w->b, s->broken != 0);
    return 0; /* looked at again at once */
}

mproc_status_t mproc_barrier_wait(mproc_barrier_t *b, double timeout, int64_t *index)
{
    double deadline;
    int64_t idx = -1, gen = 0;
    if (index)
        *index = -1;
    if (!b)
        return MPROC_EINVAL;
    barrier_block_t *s = BLOCK(b);
    if (timeout == MPROC_BARRIER_DEFAULT_TIMEOUT)
        timeout = s->timeout;
    mproc_status_t st = mproc__sync_deadline(1, timeout, &deadline);
    if (!st)
        st = arrive(b, deadline, &idx, &gen);
    if (st == 1) {
        waiter_t w = {b, gen, mproc__os_now() + DEATH_CHECK};
        st = mproc__sync_sleep(&b->obj, 1, &s->sleepers, released, &w, deadline);
        if (st) {
            lock_state(b);
            if (s->generation != gen) {
                st = MPROC_OK;
            } else {
                s->broken = 1;
                leave(s);
            }
            unlock_state(b, st != MPROC_OK);
            if (st && st != MPROC_ETIMEDOUT)
                st = MPROC_EBROKEN;
        }
    }
    if (!st && index)
        *index = idx;
    return st;
}

mproc_status_t mproc_barrier_abort(mproc_barrier_t *b)
{
    if (!b)
        return MPROC_EINVAL;
    lock_state(b);
    BLOCK(b)->broken = 1;
    unlock_state(b, 1);
    return MPROC_OK;
}

mproc_status_t mproc_barrier_reset(mproc_barrier_t *b)
{
    if (!b)
        return MPROC_EINVAL;
    barrier_block_t *s = BLOCK(b);
    lock_state(b);
    drop_dead(s);
    s->broken = s->resetting = s->count > 0;
    unlock_state(b, 1);
    return MPROC_OK;
}

int64_t mproc_barrier_parties(const mproc_barrier_t *b)
{
    return b ? BLOCK(b)->parties : 0;
}

int64_t mproc_barrier_n_waiting(const mproc_barrier_t *b)
{
    if (!b)
        return 0;
    barrier_block_t *s = BLOCK(b);
    return mproc__load(&s->broken) || mproc__load(&s->resetting) ? 0 : mproc__load(&s->count);
}

int mproc_barrier_broken(const mproc_barrier_t *b)
{
    return b && mproc__load(&BLOCK(b)->broken) && !mproc__load(&BLOCK(b)->resetting);
}

void mproc_barrier_free(mproc_barrier_t *b)
{
    mproc__sync_view_free(b);
}

mproc_status_t mproc_args_add_barrier(mproc_args_t *args, const mproc_barrier_t *b)
{
    return mproc__sync_view_add_arg(args, MPROC__OBJ_BARRIER, b);
}

mproc_status_t mproc_args_get_barrier(const mproc_args_t *args, size_t index,
                                      mproc_barrier_t **out)
{
    void *view = NULL;
    if (!out)
        return MPROC_EINVAL;
    mproc_status_t st =
        mproc__sync_view_get_arg(args, index, MPROC__OBJ_BARRIER, sizeof **out, &view);
    *out = bind(view);
    return st;
}
