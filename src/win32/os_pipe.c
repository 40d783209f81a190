/*
 * Pipes as overlapped named pipes, as CPython's multiprocessing.connection and
 * libuv make them: an anonymous pipe is not a waitable object, so waiting on
 * one meant polling it; a named pipe's read end opened for overlapped I/O
 * takes a zero-byte read whose event fires when data arrives or the writer
 * goes (see os_wait.c).
 */
#include "os_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

/* What the writer may run ahead of the reader (the OS treats it as advice). */
#define PIPE_BUFFER (64 * 1024)
/* Up to this size a frame's header and payload are copied into one buffer and
 * written at once: a WriteFile costs more than such a copy (under Wine a round
 * trip to the wineserver), and the pipe's buffer takes it whole. Above it the
 * copy would cost more than the second call. */
#define JOIN_MAX PIPE_BUFFER
/* Name clashes are retried with a new name; this many means something else. */
#define NAME_ATTEMPTS 64

#ifndef PIPE_REJECT_REMOTE_CLIENTS
#define PIPE_REJECT_REMOTE_CLIENTS 0x00000008
#endif

static void pipe_name(wchar_t *name, size_t cap)
{
    static volatile LONG serial;
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    /* The pid and a serial make it unique among this machine's live pipes;
     * the clock makes a name left by an earlier process of the same pid (or
     * taken by a squatter) unlikely to come up again on the retry. */
    _snwprintf(name, cap, L"\\\\.\\pipe\\mproc-%lu-%ld-%08lx", (unsigned long)GetCurrentProcessId(),
               (long)InterlockedIncrement(&serial), (unsigned long)now.LowPart);
    name[cap - 1] = L'\0';
}

/* One direction: *rd the read end (the pipe's server side), *wr the write
 * end (its only client), both overlapped. Both are non-inheritable. The first
 * instance flag makes a name someone else already holds an error, not a
 * second instance of their pipe; the one instance allowed is taken at once by
 * the client, so nobody else can connect (and if someone did first, that
 * open fails and a new name is tried). */
static DWORD simplex(HANDLE *rd, HANDLE *wr)
{
    wchar_t name[64];
    DWORD err = ERROR_PIPE_BUSY;
    int attempt;
    for (attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
        pipe_name(name, sizeof name / sizeof name[0]);
        *rd = CreateNamedPipeW(name,
                               PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED |
                                   FILE_FLAG_FIRST_PIPE_INSTANCE,
                               PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                   PIPE_REJECT_REMOTE_CLIENTS,
                               1, PIPE_BUFFER, PIPE_BUFFER, 0, NULL);
        if (*rd == INVALID_HANDLE_VALUE) {
            err = GetLastError();
            /* Windows says ACCESS_DENIED for a name in use, Wine PIPE_BUSY. */
            if (err != ERROR_ACCESS_DENIED && err != ERROR_PIPE_BUSY)
                return err;
            continue;
        }
        /* Connected from here on (ConnectNamedPipe would only say so). The
         * write end is overlapped too: a synchronous one took Wine several
         * times as long per write; mproc__os_io waits for each write to end,
         * so a write still blocks as on an anonymous pipe. */
        *wr = CreateFileW(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
        if (*wr != INVALID_HANDLE_VALUE)
            return ERROR_SUCCESS;
        err = GetLastError();
        CloseHandle(*rd);
        /* PIPE_BUSY: someone else took the one instance first; a new name. */
        if (err != ERROR_PIPE_BUSY)
            return err;
    }
    return err;
}

/* A duplex pair is two simplex pipes, so that every end has a read handle and
 * a write handle as on POSIX, and closing one end's handles is EOF for the
 * other end in both directions. */
mproc_status_t mproc__os_pipe(int duplex, mproc__os_handle_t end0[2], mproc__os_handle_t end1[2])
{
    HANDLE r1, w1, r2, w2;
    DWORD err;
    if (end0 == NULL || end1 == NULL)
        return MPROC_EINVAL;
    end0[0] = end0[1] = end1[0] = end1[1] = MPROC__OS_NO_HANDLE;
    err = simplex(&r1, &w1);
    if (err != ERROR_SUCCESS)
        return mproc__os_status_from_win32(err);
    end0[0] = (mproc__os_handle_t)r1;
    end1[1] = (mproc__os_handle_t)w1;
    if (!duplex)
        return MPROC_OK;
    err = simplex(&r2, &w2);
    if (err != ERROR_SUCCESS) {
        CloseHandle(r1);
        CloseHandle(w1);
        end0[0] = end1[1] = MPROC__OS_NO_HANDLE;
        return mproc__os_status_from_win32(err);
    }
    end1[0] = (mproc__os_handle_t)r2;
    end0[1] = (mproc__os_handle_t)w2;
    return MPROC_OK;
}

mproc_status_t mproc__os_write_pair(mproc__os_handle_t h, const void *head, size_t head_len,
                                    const void *body, size_t body_len)
{
    mproc_status_t st;
    if (head_len <= JOIN_MAX && body_len <= JOIN_MAX - head_len && (body || !body_len)) {
        size_t total = head_len + body_len;
        unsigned char *joined = (unsigned char *)malloc(total ? total : 1);
        if (joined != NULL) { /* else: two writes, which need no memory */
            if (head_len)
                memcpy(joined, head, head_len);
            if (body_len)
                memcpy(joined + head_len, body, body_len);
            st = mproc__os_write_all(h, joined, total);
            free(joined);
            return st;
        }
    }
    st = mproc__os_write_all(h, head, head_len);
    return st != MPROC_OK ? st : mproc__os_write_all(h, body, body_len);
}
