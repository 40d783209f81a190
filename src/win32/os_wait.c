/*
 * Waiting on several handles at once: process and thread handles,
 * semaphores, events, and the read ends of the backend's pipes, in one
 * WaitForMultipleObjects with no polling. A pipe takes part through a
 * zero-byte overlapped read, as in CPython's multiprocessing.connection.wait:
 * it completes when data arrives or the writer has gone, consumes nothing,
 * and is cancelled when the wait ends for another reason.
 */
#include "os_io.h"

#include <string.h>

#include "platform.h"

typedef struct waiter {
    const mproc__os_handle_t *hs;
    size_t n;
    int *ready;
    int is_pipe[MAXIMUM_WAIT_OBJECTS];
    int pending[MAXIMUM_WAIT_OBJECTS];     /* a zero-byte read in flight */
    OVERLAPPED ov[MAXIMUM_WAIT_OBJECTS];
    HANDLE objs[MAXIMUM_WAIT_OBJECTS];     /* what WaitForMultipleObjects gets */
    DWORD nobj;
} waiter_t;

size_t mproc__os_wait_limit(void)
{
    return MAXIMUM_WAIT_OBJECTS;
}

static void add_object(waiter_t *w, HANDLE h)
{
    DWORD j;
    /* WaitForMultipleObjects refuses the same handle twice. */
    for (j = 0; j < w->nobj; j++)
        if (w->objs[j] == h)
            return;
    w->objs[w->nobj++] = h;
}

/* Without waiting: a pipe with data (or no writer, or no read access: the
 * next read or write then tells what is wrong, rather than this wait hang),
 * or a signalled object. */
static size_t look(waiter_t *w)
{
    size_t i, count = 0;
    for (i = 0; i < w->n; i++) {
        HANDLE h = (HANDLE)w->hs[i];
        if (!w->ready[i]) {
            DWORD avail = 0;
            if (w->is_pipe[i])
                w->ready[i] = !PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) || avail > 0;
            else
                w->ready[i] = WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
        }
        count += w->ready[i] != 0;
    }
    return count;
}

/* Start a zero-byte read on every pipe; one that completes at once is ready. */
static DWORD arm(waiter_t *w)
{
    size_t i, k = 0;
    static char none;
    for (i = 0; i < w->n; i++) {
        HANDLE h = (HANDLE)w->hs[i];
        if (!w->is_pipe[i]) {
            add_object(w, h);
            continue;
        }
        memset(&w->ov[i], 0, sizeof w->ov[i]);
        w->ov[i].hEvent = mproc__os_thread_event(k++);
        if (w->ov[i].hEvent == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        if (ReadFile(h, &none, 0, NULL, &w->ov[i]) || GetLastError() != ERROR_IO_PENDING) {
            w->ready[i] = 1;
            continue;
        }
        w->pending[i] = 1;
        w->objs[w->nobj++] = w->ov[i].hEvent;
    }
    return ERROR_SUCCESS;
}

/* Cancel the reads still in flight and wait for each to end: the OVERLAPPED
 * lives on this stack. A read that completed meanwhile makes its pipe ready. */
static void disarm(waiter_t *w)
{
    size_t i;
    for (i = 0; i < w->n; i++) {
        DWORD n = 0;
        HANDLE h = (HANDLE)w->hs[i];
        if (!w->pending[i])
            continue;
        if (WaitForSingleObject(w->ov[i].hEvent, 0) != WAIT_OBJECT_0)
            CancelIoEx(h, &w->ov[i]);
        if (GetOverlappedResult(h, &w->ov[i], &n, TRUE) || GetLastError() != ERROR_OPERATION_ABORTED)
            w->ready[i] = 1;
        w->pending[i] = 0;
    }
}

/* One wait until something is ready or the deadline passes. */
static mproc_status_t wait_once(waiter_t *w, double deadline)
{
    DWORD r, err = arm(w);
    size_t i;
    /* Checked after arming: data that came before is seen here, data that
     * comes after completes a read. */
    while (err == ERROR_SUCCESS && look(w) == 0) {
        DWORD ms = mproc__os_wait_ms(deadline);
        if (ms == 0)
            break;
        r = WaitForMultipleObjects(w->nobj, w->objs, FALSE, ms);
        if (r == WAIT_FAILED) {
            err = GetLastError();
        } else if (r < WAIT_OBJECT_0 + w->nobj ||
                   (r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + w->nobj)) {
            /* The wake itself may have consumed the signal (auto-reset
             * objects), so the object it names is ready whatever a look says. */
            HANDLE woke = w->objs[r < WAIT_OBJECT_0 + w->nobj ? r - WAIT_OBJECT_0 : r - WAIT_ABANDONED_0];
            for (i = 0; i < w->n; i++)
                if (!w->is_pipe[i] && (HANDLE)w->hs[i] == woke)
                    w->ready[i] = 1;
            break;
        }
        /* WAIT_TIMEOUT: Win32 timers may fire early; ask the clock again. */
    }
    disarm(w);
    if (err != ERROR_SUCCESS)
        return mproc__os_status_from_win32(err);
    /* Everything ready by now counts, not only what woke the wait. */
    return look(w) > 0 ? MPROC_OK : MPROC_ETIMEDOUT;
}

mproc_status_t mproc__os_wait_ready(const mproc__os_handle_t *hs, size_t n, double deadline,
                                    int *ready)
{
    waiter_t w;
    size_t i;
    if (n > MAXIMUM_WAIT_OBJECTS || (n > 0 && (hs == NULL || ready == NULL)))
        return MPROC_EINVAL;
    /* Nothing to wait for is a sleep until the deadline, but never forever. */
    if (n == 0 && deadline < 0)
        return MPROC_EINVAL;
    memset(&w, 0, offsetof(waiter_t, ov));
    w.nobj = 0;
    w.hs = hs;
    w.n = n;
    w.ready = ready;
    for (i = 0; i < n; i++) {
        /* -1 is also GetCurrentProcess(): waiting on it would never end. */
        if (hs[i] == MPROC__OS_NO_HANDLE)
            return MPROC_EINVAL;
        ready[i] = 0;
        w.is_pipe[i] = GetFileType((HANDLE)hs[i]) == FILE_TYPE_PIPE;
    }
    if (n == 0) {
        DWORD ms;
        while ((ms = mproc__os_wait_ms(deadline)) > 0)
            Sleep(ms);
        return MPROC_ETIMEDOUT;
    }
    /* Already ready, or a poll: no read to start and cancel. */
    if (look(&w) > 0)
        return MPROC_OK;
    if (mproc__os_wait_ms(deadline) == 0)
        return MPROC_ETIMEDOUT;
    return wait_once(&w, deadline);
}
