#include "os_error.h"

#include "platform.h"

/* One ReadFile/WriteFile moves at most a DWORD; stay well below it. */
#define IO_CHUNK ((size_t)1 << 30)
/* Longest sleep between two looks at a pipe (see mproc__os_wait_ready). */
#define PIPE_POLL_MAX_MS 16u

size_t mproc__os_wait_limit(void)
{
    return MAXIMUM_WAIT_OBJECTS;
}

void mproc__os_close(mproc__os_handle_t h)
{
    if (h != MPROC__OS_NO_HANDLE)
        CloseHandle((HANDLE)h);
}

mproc_status_t mproc__os_write_all(mproc__os_handle_t h, const void *buf, size_t len)
{
    const char *p = (const char *)buf;
    if (h == MPROC__OS_NO_HANDLE || (buf == NULL && len > 0))
        return MPROC_EINVAL;
    /* Never a 0-byte WriteFile: on a pipe it wakes the reader with a 0-byte
     * read, which the reader takes for EOF. */
    while (len > 0) {
        DWORD done = 0;
        DWORD want = (DWORD)(len < IO_CHUNK ? len : IO_CHUNK);
        if (!WriteFile((HANDLE)h, p, want, &done, NULL))
            return mproc__os_status_from_win32(GetLastError());
        p += done;
        len -= done;
    }
    return MPROC_OK;
}

mproc_status_t mproc__os_read_all(mproc__os_handle_t h, void *buf, size_t len)
{
    char *p = (char *)buf;
    if (h == MPROC__OS_NO_HANDLE || (buf == NULL && len > 0))
        return MPROC_EINVAL;
    while (len > 0) {
        DWORD done = 0;
        DWORD want = (DWORD)(len < IO_CHUNK ? len : IO_CHUNK);
        if (!ReadFile((HANDLE)h, p, want, &done, NULL))
            return mproc__os_status_from_win32(GetLastError());
        if (done == 0)
            return MPROC_EEOF;
        p += done;
        len -= done;
    }
    return MPROC_OK;
}

/* An anonymous pipe handle is not a waitable object (it reads as signalled
 * whether or not data is there), so pipes are asked with PeekNamedPipe. A
 * failed peek (peer gone, write end) counts as ready: the next read or write
 * reports the real outcome instead of this wait hanging. */
static int pipe_ready(HANDLE h)
{
    DWORD avail = 0;
    if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
        return 1;
    return avail > 0;
}

static size_t test_all(const mproc__os_handle_t *hs, size_t n, const int *is_pipe, int *ready)
{
    size_t i, count = 0;
    for (i = 0; i < n; i++) {
        if (!ready[i]) {
            if (is_pipe[i])
                ready[i] = pipe_ready((HANDLE)hs[i]);
            else
                ready[i] = WaitForSingleObject((HANDLE)hs[i], 0) == WAIT_OBJECT_0;
        }
        if (ready[i])
            count++;
    }
    return count;
}

mproc_status_t mproc__os_wait_ready(const mproc__os_handle_t *hs, size_t n, double deadline,
                                    int *ready)
{
    HANDLE objs[MAXIMUM_WAIT_OBJECTS];
    int is_pipe[MAXIMUM_WAIT_OBJECTS];
    DWORD nobj = 0;
    DWORD poll_ms = 1;
    int any_pipe = 0;
    size_t i, j;

    if (n > MAXIMUM_WAIT_OBJECTS || (n > 0 && (hs == NULL || ready == NULL)))
        return MPROC_EINVAL;
    /* Nothing to wait for is a sleep until the deadline, but never forever. */
    if (n == 0 && deadline < 0)
        return MPROC_EINVAL;
    for (i = 0; i < n; i++) {
        int seen = 0;
        /* -1 is also GetCurrentProcess(): waiting on it would never end. */
        if (hs[i] == MPROC__OS_NO_HANDLE)
            return MPROC_EINVAL;
        ready[i] = 0;
        is_pipe[i] = GetFileType((HANDLE)hs[i]) == FILE_TYPE_PIPE;
        any_pipe |= is_pipe[i];
        if (is_pipe[i])
            continue;
        /* WaitForMultipleObjects refuses the same handle twice. */
        for (j = 0; j < nobj; j++)
            seen |= objs[j] == (HANDLE)hs[i];
        if (!seen)
            objs[nobj++] = (HANDLE)hs[i];
    }

    for (;;) {
        DWORD wait_ms, r;
        if (test_all(hs, n, is_pipe, ready) > 0)
            return MPROC_OK;
        wait_ms = mproc__os_wait_ms(deadline);
        if (wait_ms == 0)
            return MPROC_ETIMEDOUT;
        if (any_pipe) {
            if (wait_ms > poll_ms)
                wait_ms = poll_ms;
            poll_ms = poll_ms * 2 < PIPE_POLL_MAX_MS ? poll_ms * 2 : PIPE_POLL_MAX_MS;
        }
        if (nobj == 0) {
            Sleep(wait_ms);
            continue;
        }
        r = WaitForMultipleObjects(nobj, objs, FALSE, wait_ms);
        if (r == WAIT_FAILED)
            return mproc__os_status_from_win32(GetLastError());
        if (r < WAIT_OBJECT_0 + nobj || (r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + nobj)) {
            /* The wake itself may have consumed the signal (auto-reset
             * objects), so the object it names is ready whatever a retest says. */
            HANDLE woke = objs[r < WAIT_OBJECT_0 + nobj ? r - WAIT_OBJECT_0 : r - WAIT_ABANDONED_0];
            for (i = 0; i < n; i++)
                if ((HANDLE)hs[i] == woke)
                    ready[i] = 1;
        }
    }
}

mproc_status_t mproc__os_dup(mproc__os_handle_t h, mproc__os_handle_t *out)
{
    HANDLE self = GetCurrentProcess(), d;
    if (h == MPROC__OS_NO_HANDLE)
        return MPROC_EINVAL;
    if (!DuplicateHandle(self, (HANDLE)h, self, &d, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return mproc__os_status_from_win32(GetLastError());
    *out = (mproc__os_handle_t)d;
    return MPROC_OK;
}

/* Anonymous pipes carry one direction: a duplex pair is two of them. */
mproc_status_t mproc__os_pipe(int duplex, mproc__os_handle_t end0[2], mproc__os_handle_t end1[2])
{
    HANDLE r1, w1, r2, w2;
    if (!CreatePipe(&r1, &w1, NULL, 0))
        return mproc__os_status_from_win32(GetLastError());
    end0[0] = (mproc__os_handle_t)r1;
    end1[1] = (mproc__os_handle_t)w1;
    end0[1] = end1[0] = MPROC__OS_NO_HANDLE;
    if (!duplex)
        return MPROC_OK;
    if (!CreatePipe(&r2, &w2, NULL, 0)) {
        DWORD err = GetLastError();
        CloseHandle(r1);
        CloseHandle(w1);
        return mproc__os_status_from_win32(err);
    }
    end1[0] = (mproc__os_handle_t)r2;
    end0[1] = (mproc__os_handle_t)w2;
    return MPROC_OK;
}

mproc_status_t mproc__os_read_some(mproc__os_handle_t h, void *buf, size_t cap, size_t *got)
{
    DWORD done = 0;
    if (h == MPROC__OS_NO_HANDLE || buf == NULL || cap == 0)
        return MPROC_EINVAL;
    if (!ReadFile((HANDLE)h, buf, (DWORD)(cap < IO_CHUNK ? cap : IO_CHUNK), &done, NULL))
        return mproc__os_status_from_win32(GetLastError());
    if (done == 0)
        return MPROC_EEOF;
    *got = done;
    return MPROC_OK;
}
