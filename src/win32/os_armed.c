/*
 * Zero-byte reads left in flight between waits. A thread that waits on the
 * same pipes again and again (the Pool's handler: every worker's connection,
 * once per task) would otherwise start a read on each pipe at every wait and
 * cancel all but the one that fired afterwards; a cancel is a kernel call
 * and under Wine a wineserver round trip plus a signal to the thread. Left
 * pending, a read costs nothing until data comes, and the next wait finds it
 * still in flight or already ended.
 *
 * A read belongs to the thread that started it (Windows cancels a thread's
 * reads when it ends, and Wine completes them through that thread), so only
 * that thread reuses it; another thread waiting on the same pipe starts a
 * read of its own. The reads end, and their records go, when the pipe is
 * closed (mproc__os_close) or the thread ends.
 */
#include "os_io.h"

#include <stdlib.h>
#include <string.h>

struct mproc__os_armed {
    HANDLE h;
    LONG64 thread; /* mproc__os_thread_serial() of the thread that started the read */
    int busy;      /* a wait of that thread uses it now */
    int pending;   /* the read is in flight (or ended and not yet seen) */
    OVERLAPPED ov; /* its event is this record's own */
    struct mproc__os_armed *next;
};

/* Events of freed records, kept for the next: a wait tries a read on every
 * handle, process handles too, and should not make and close an event for
 * each of those every time. */
#define SPARE_EVENTS 64
/* How long a close waits for a cancelled read to end (it ends at once). */
#define DROP_WAIT_MS 10000

static SRWLOCK lock = SRWLOCK_INIT;
static mproc__os_armed_t *armed;
static HANDLE spare[SPARE_EVENTS];
static size_t nspare;

static mproc__os_armed_t **find(HANDLE h)
{
    mproc__os_armed_t **p = &armed;
    while (*p != NULL && (*p)->h != h)
        p = &(*p)->next;
    return p;
}

/* Ends the record's read if in flight (cancel, then wait until it has
 * ended: the OS writes to the OVERLAPPED until then) and frees it. A read
 * that does not end within DROP_WAIT_MS (its thread gone without ending it)
 * is left with its record, which is never freed: a few bytes, rather than a
 * close that never returns or memory the OS may still write to. */
static void drop(mproc__os_armed_t *a)
{
    if (a->pending) {
        CancelIoEx(a->h, &a->ov);
        if (WaitForSingleObject(a->ov.hEvent, DROP_WAIT_MS) != WAIT_OBJECT_0 &&
            !HasOverlappedIoCompleted(&a->ov))
            return;
    }
    AcquireSRWLockExclusive(&lock);
    if (nspare < SPARE_EVENTS) {
        spare[nspare++] = a->ov.hEvent;
        a->ov.hEvent = NULL;
    }
    ReleaseSRWLockExclusive(&lock);
    if (a->ov.hEvent != NULL)
        CloseHandle(a->ov.hEvent);
    free(a);
}

/* This thread's record for h, made if there is none; NULL when another
 * thread's read or wait holds it (or no memory): a read of one's own then. */
static mproc__os_armed_t *claim(HANDLE h, LONG64 me)
{
    mproc__os_armed_t *a, **p;
    AcquireSRWLockExclusive(&lock);
    p = find(h);
    a = *p;
    if (a == NULL) {
        a = (mproc__os_armed_t *)calloc(1, sizeof *a);
        if (a != NULL)
            a->ov.hEvent = nspare > 0 ? spare[--nspare] : CreateEventW(NULL, TRUE, FALSE, NULL);
        if (a != NULL && a->ov.hEvent == NULL) {
            free(a);
            a = NULL;
        }
        if (a != NULL) {
            a->h = h;
            a->thread = me;
            *p = a;
        }
    } else if (a->busy || a->thread != me) {
        a = NULL;
    }
    if (a != NULL)
        a->busy = 1;
    ReleaseSRWLockExclusive(&lock);
    return a;
}

/* Takes the record out of the list and frees it. */
static void unlink_free(mproc__os_armed_t *a)
{
    mproc__os_armed_t **p;
    AcquireSRWLockExclusive(&lock);
    p = find(a->h);
    if (*p == a)
        *p = a->next;
    ReleaseSRWLockExclusive(&lock);
    drop(a);
}

DWORD mproc__os_armed_take(HANDLE h, LONG64 me, mproc__os_armed_t **out)
{
    static char none;
    HANDLE ev;
    DWORD err;
    mproc__os_armed_t *a = claim(h, me);
    *out = NULL;
    if (a == NULL)
        return ERROR_BUSY;
    *out = a;
    /* Still in flight: nothing has come. Ended unseen (data came, or the
     * pipe was closed under it): what came may have been read since, so a
     * new read asks again. */
    if (a->pending && !HasOverlappedIoCompleted(&a->ov))
        return ERROR_IO_PENDING;
    a->pending = 0;
    ev = a->ov.hEvent;
    memset(&a->ov, 0, sizeof a->ov);
    a->ov.hEvent = ev;
    if (ReadFile(h, &none, 0, NULL, &a->ov))
        return ERROR_SUCCESS;
    err = GetLastError();
    if (err == ERROR_IO_PENDING) {
        a->pending = 1;
        return err;
    }
    /* No pipe (or a broken one): nothing to keep. */
    *out = NULL;
    unlink_free(a);
    return err;
}

HANDLE mproc__os_armed_event(const mproc__os_armed_t *a)
{
    return a->ov.hEvent;
}

int mproc__os_armed_ended(const mproc__os_armed_t *a)
{
    return HasOverlappedIoCompleted(&a->ov);
}

void mproc__os_armed_give(mproc__os_armed_t *a, int ended)
{
    AcquireSRWLockExclusive(&lock);
    if (ended)
        a->pending = 0;
    a->busy = 0;
    ReleaseSRWLockExclusive(&lock);
}

void mproc__os_armed_forget(HANDLE h)
{
    mproc__os_armed_t *a;
    AcquireSRWLockExclusive(&lock);
    a = *find(h);
    /* A wait of another thread on a handle being closed is misuse; its
     * record stays: its read, ended by the close, is asked again if the
     * number comes back, and the record goes when its thread ends. */
    if (a != NULL && !a->busy)
        *find(h) = a->next;
    else
        a = NULL;
    ReleaseSRWLockExclusive(&lock);
    if (a != NULL)
        drop(a);
}

void mproc__os_armed_thread_ends(LONG64 me)
{
    mproc__os_armed_t *mine = NULL, *a, **p;
    AcquireSRWLockExclusive(&lock);
    p = &armed;
    while (*p != NULL) {
        a = *p;
        if (a->thread == me) {
            *p = a->next;
            a->next = mine;
            mine = a;
        } else {
            p = &a->next;
        }
    }
    ReleaseSRWLockExclusive(&lock);
    while (mine != NULL) {
        a = mine;
        mine = a->next;
        drop(a);
    }
}
