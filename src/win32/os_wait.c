/*
 * Waiting on several handles at once: process and thread handles,
 * semaphores, events, and the read ends of the backend's pipes, in one
 * WaitForMultipleObjects with no polling. A pipe takes part through a
 * zero-byte overlapped read, as in CPython's multiprocessing.connection.wait:
 * it completes when data arrives or the writer has gone, and consumes
 * nothing.
 *
 * Every call here is a kernel call on Windows and a wineserver round trip
 * under Wine, which is what a wait costs; so each handle is asked once. The
 * zero-byte read tells the kinds apart (a handle that is no file refuses it,
 * and is waited on itself) and finds data already there (it completes at
 * once); the wait's result names what woke it, and the other reads'
 * OVERLAPPEDs which else ended; and a thread's read stays in flight for its
 * next wait instead of being cancelled (os_armed.c).
 */
#include "os_io.h"

#include <string.h>

#include "platform.h"

/* owner[] of an object that is no pipe read: every handle equal to it. */
#define BY_HANDLE ((size_t)-1)

typedef struct waiter {
    const mproc__os_handle_t *hs;
    size_t n;
    int *ready;
    int pending[MAXIMUM_WAIT_OBJECTS];     /* a zero-byte read in flight */
    mproc__os_armed_t *armed[MAXIMUM_WAIT_OBJECTS]; /* its record if it stays (os_armed.c) */
    OVERLAPPED ov[MAXIMUM_WAIT_OBJECTS];
    HANDLE objs[MAXIMUM_WAIT_OBJECTS];     /* what WaitForMultipleObjects gets */
    size_t owner[MAXIMUM_WAIT_OBJECTS];    /* objs[j] is hs[owner[j]]'s read event */
    DWORD nobj;
    size_t nready;
} waiter_t;

size_t mproc__os_wait_limit(void)
{
    return MAXIMUM_WAIT_OBJECTS;
}

static void mark(waiter_t *w, size_t i)
{
    w->nready += !w->ready[i];
    w->ready[i] = 1;
}

/* A handle that refused a pipe call with `err` is waited on as an object:
 * one that is no file is an invalid handle to such calls, or (a process
 * handle opened for SYNCHRONIZE only) one they may not use. A pipe end
 * without read access is not an object: the next read or write tells. */
static int is_object(HANDLE h, DWORD err)
{
    return err == ERROR_INVALID_HANDLE ||
           (err == ERROR_ACCESS_DENIED && GetFileType(h) != FILE_TYPE_PIPE);
}

static void add_object(waiter_t *w, HANDLE h)
{
    DWORD j;
    /* WaitForMultipleObjects refuses the same handle twice. */
    for (j = 0; j < w->nobj; j++)
        if (w->objs[j] == h)
            return;
    w->owner[w->nobj] = BY_HANDLE;
    w->objs[w->nobj++] = h;
}

/* Object j signalled (or its wake consumed the signal of an auto-reset
 * object): mark its handles ready and take it out of the set. */
static void take(waiter_t *w, DWORD j)
{
    size_t i;
    if (w->owner[j] != BY_HANDLE) {
        mark(w, w->owner[j]);
        w->pending[w->owner[j]] = 0; /* its read has ended */
    } else {
        for (i = 0; i < w->n; i++)
            if ((HANDLE)w->hs[i] == w->objs[j])
                mark(w, i);
    }
    w->nobj--;
    w->objs[j] = w->objs[w->nobj];
    w->owner[j] = w->owner[w->nobj];
}

/* Without waiting (a poll): a pipe with data (or no writer, or no read
 * access: the next read or write then tells what is wrong, rather than this
 * wait hang), or a signalled object. A handle that is no pipe refuses the
 * peek (is_object). */
static void look(waiter_t *w)
{
    size_t i;
    for (i = 0; i < w->n; i++) {
        HANDLE h = (HANDLE)w->hs[i];
        DWORD avail = 0;
        if (PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL)) {
            if (avail > 0)
                mark(w, i);
        } else if (!is_object(h, GetLastError()) || WaitForSingleObject(h, 0) == WAIT_OBJECT_0) {
            mark(w, i);
        }
    }
}

/* What a zero-byte read on hs[i] said: data there (or a reason the next read
 * will tell), in flight (its event joins the wait), or no pipe. */
static void settle(waiter_t *w, size_t i, DWORD err, HANDLE ev)
{
    HANDLE h = (HANDLE)w->hs[i];
    if (err == ERROR_IO_PENDING) {
        w->pending[i] = 1;
        w->owner[w->nobj] = i;
        w->objs[w->nobj++] = ev;
    } else if (err != ERROR_SUCCESS && is_object(h, err)) {
        add_object(w, h);
    } else {
        mark(w, i);
    }
}

/* A zero-byte read on every handle: this thread's read that stays in flight
 * between its waits where it can have one, else one for this wait only. */
static DWORD arm(waiter_t *w)
{
    size_t i, k = 0;
    static char none;
    LONG64 me = mproc__os_thread_serial();
    for (i = 0; i < w->n; i++) {
        HANDLE h = (HANDLE)w->hs[i];
        DWORD err = me != 0 ? mproc__os_armed_take(h, me, &w->armed[i]) : ERROR_BUSY;
        if (err != ERROR_BUSY) {
            settle(w, i, err, w->armed[i] != NULL ? mproc__os_armed_event(w->armed[i]) : NULL);
            continue;
        }
        memset(&w->ov[i], 0, sizeof w->ov[i]);
        w->ov[i].hEvent = mproc__os_thread_event(k);
        if (w->ov[i].hEvent == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        err = ReadFile(h, &none, 0, NULL, &w->ov[i]) ? ERROR_SUCCESS : GetLastError();
        settle(w, i, err, w->ov[i].hEvent);
        k += err == ERROR_IO_PENDING;
    }
    return ERROR_SUCCESS;
}

/* A read that stays goes back to its record, in flight or ended. The others
 * still in flight are cancelled, and each waited for to its end: their
 * OVERLAPPED lives on this stack. One that completed meanwhile makes its
 * pipe ready. */
static void disarm(waiter_t *w)
{
    size_t i;
    for (i = 0; i < w->n; i++) {
        DWORD n = 0;
        HANDLE h = (HANDLE)w->hs[i];
        if (w->armed[i] != NULL) {
            mproc__os_armed_give(w->armed[i], !w->pending[i]);
        } else if (w->pending[i]) {
            CancelIoEx(h, &w->ov[i]);
            if (GetOverlappedResult(h, &w->ov[i], &n, TRUE) || GetLastError() != ERROR_OPERATION_ABORTED)
                mark(w, i);
        }
        w->pending[i] = 0;
    }
}

/* One WaitForMultipleObjects: the index of what woke it, WAIT_TIMEOUT or
 * WAIT_FAILED. An abandoned mutex counts as signalled. */
static DWORD wait_any(waiter_t *w, DWORD ms)
{
    DWORD r = WaitForMultipleObjects(w->nobj, w->objs, FALSE, ms);
    if (r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + w->nobj)
        return r - WAIT_ABANDONED_0;
    if (r < WAIT_OBJECT_0 + w->nobj)
        return r - WAIT_OBJECT_0;
    return r;
}

/* The zero-byte reads left that have ended, as their OVERLAPPED says: no
 * call. Under Wine a read's OVERLAPPED is written when its thread next
 * enters the wineserver, so one that ended just now may show only at the
 * next wait, which then returns at once. 1 if an object that is no pipe
 * read is left: only a wait can ask it. */
static int take_ended_reads(waiter_t *w)
{
    DWORD j = 0;
    int objects = 0;
    while (j < w->nobj) {
        size_t i = w->owner[j];
        if (i == BY_HANDLE) {
            objects = 1;
            j++;
        } else if (w->armed[i] != NULL ? mproc__os_armed_ended(w->armed[i])
                                        : HasOverlappedIoCompleted(&w->ov[i])) {
            take(w, j); /* moves the last object to j */
        } else {
            j++;
        }
    }
    return objects;
}

/* Wait until something is ready or the deadline passes, then take
 * everything else ready by then too, as Python's wait reports it: pipes as
 * their reads say, other objects by one more wait that does not block. */
static DWORD wait_objects(waiter_t *w, double deadline)
{
    DWORD r = WAIT_TIMEOUT, ms;
    if (w->nobj == 0)
        return ERROR_SUCCESS;
    if (w->nready == 0) {
        /* WAIT_TIMEOUT: Win32 timers may fire early; ask the clock again. */
        while (r == WAIT_TIMEOUT && (ms = mproc__os_wait_ms(deadline)) > 0)
            r = wait_any(w, ms);
        if (r == WAIT_FAILED)
            return GetLastError();
        if (r == WAIT_TIMEOUT)
            return ERROR_SUCCESS;
        take(w, r);
    }
    if (!take_ended_reads(w))
        return ERROR_SUCCESS;
    while (w->nobj > 0) {
        r = wait_any(w, 0);
        if (r == WAIT_FAILED)
            return GetLastError();
        if (r == WAIT_TIMEOUT)
            break;
        take(w, r);
    }
    return ERROR_SUCCESS;
}

mproc_status_t mproc__os_wait_ready(const mproc__os_handle_t *hs, size_t n, double deadline,
                                    int *ready)
{
    waiter_t w;
    size_t i;
    DWORD err;
    if (n > MAXIMUM_WAIT_OBJECTS || (n > 0 && (hs == NULL || ready == NULL)))
        return MPROC_EINVAL;
    /* Nothing to wait for is a sleep until the deadline, but never forever. */
    if (n == 0 && deadline < 0)
        return MPROC_EINVAL;
    for (i = 0; i < n; i++) {
        /* -1 is also GetCurrentProcess(): waiting on it would never end. */
        if (hs[i] == MPROC__OS_NO_HANDLE)
            return MPROC_EINVAL;
        ready[i] = 0;
    }
    if (n == 0) {
        DWORD ms;
        while ((ms = mproc__os_wait_ms(deadline)) > 0)
            Sleep(ms);
        return MPROC_ETIMEDOUT;
    }
    memset(&w, 0, offsetof(waiter_t, ov));
    w.hs = hs;
    w.n = n;
    w.ready = ready;
    w.nobj = 0;
    w.nready = 0;
    /* A poll starts no read to cancel. */
    if (mproc__os_wait_ms(deadline) == 0) {
        look(&w);
        return w.nready > 0 ? MPROC_OK : MPROC_ETIMEDOUT;
    }
    err = arm(&w);
    if (err == ERROR_SUCCESS)
        err = wait_objects(&w, deadline);
    disarm(&w);
    if (err != ERROR_SUCCESS)
        return mproc__os_status_from_win32(err);
    return w.nready > 0 ? MPROC_OK : MPROC_ETIMEDOUT;
}
