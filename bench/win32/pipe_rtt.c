/* The Win32 floor under pipe_rtt_64B: one duplex overlapped named pipe to a
 * child (this executable again, see bench_raw.c) that echoes 64-byte
 * messages; each direction one WriteFile and one overlapped ReadFile waited
 * for on an event, as a program written against Win32 directly would. Both
 * sides pin themselves as the mproc side does (bench_pin). */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "../bench.h"

#define MSG 64

typedef struct end {
    HANDLE pipe;
    HANDLE event;
} end_t;

static int full(const end_t *e, int write, char *buf)
{
    DWORD done = 0, at = 0;
    while (at < MSG) {
        OVERLAPPED ov;
        BOOL ok;
        memset(&ov, 0, sizeof ov);
        ov.hEvent = e->event;
        ok = write ? WriteFile(e->pipe, buf + at, MSG - at, NULL, &ov)
                   : ReadFile(e->pipe, buf + at, MSG - at, NULL, &ov);
        if (!ok && GetLastError() != ERROR_IO_PENDING)
            return -1;
        if (!GetOverlappedResult(e->pipe, &ov, &done, TRUE) || done == 0)
            return -1;
        at += done;
    }
    return 0;
}

int bench_raw_echo(const char *handle)
{
    end_t e = {(HANDLE)(intptr_t)_strtoi64(handle, NULL, 10), CreateEventW(NULL, TRUE, FALSE, NULL)};
    char buf[MSG];
    bench_pin(1);
    while (full(&e, 0, buf) == 0)
        if (full(&e, 1, buf))
            return 1;
    return 0;
}

static void round_trip(void *ctx)
{
    char buf[MSG] = {0};
    if (full(ctx, 1, buf) || full(ctx, 0, buf))
        bench_fail("ping-pong", "short transfer");
}

static double pipe_rtt(long iterations)
{
    wchar_t name[64], exe[MAX_PATH], cmd[MAX_PATH + 96];
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    end_t mine;
    HANDLE theirs;

    _snwprintf(name, 64, L"\\\\.\\pipe\\bench-raw-%lu", (unsigned long)GetCurrentProcessId());
    name[63] = L'\0';
    mine.pipe = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                 PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 65536, 65536, 0, NULL);
    theirs = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, &inherit, OPEN_EXISTING,
                         FILE_FLAG_OVERLAPPED, NULL);
    mine.event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (mine.pipe == INVALID_HANDLE_VALUE || theirs == INVALID_HANDLE_VALUE || !mine.event)
        bench_fail("pipe", "cannot create");
    if (!GetModuleFileNameW(NULL, exe, MAX_PATH))
        bench_fail("GetModuleFileNameW", "failed");
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %hs %lld", exe, BENCH_RAW_ECHO_ARG,
               (long long)(intptr_t)theirs);
    cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
        bench_fail("CreateProcessW", "failed");
    CloseHandle(pi.hThread);
    CloseHandle(theirs);

    bench_pin(0);
    double rtt = bench_median_window(iterations, round_trip, &mine);
    CloseHandle(mine.pipe); /* the child reads EOF and exits */
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(pi.hProcess);
    CloseHandle(mine.event);
    return rtt;
}
BENCH_FIGURE("pipe_rtt_64B", "s", pipe_rtt)
