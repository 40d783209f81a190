/* The Win32 floor under start_join_spawn: CreateProcessW of this executable
 * (which exits at once, see bench_raw.c) and WaitForSingleObject on it;
 * median of window means, as the mproc side. */
#include <windows.h>
#include <wchar.h>

#include "../bench.h"

static wchar_t exe[MAX_PATH];

static void spawn_one(void *ctx)
{
    wchar_t cmd[MAX_PATH + 64];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    (void)ctx;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    /* CreateProcessW may write to the command line: a fresh copy each time. */
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %hs", exe, BENCH_RAW_CHILD_ARG);
    cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
    if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        bench_fail("CreateProcessW", "failed");
    CloseHandle(pi.hThread);
    if (WaitForSingleObject(pi.hProcess, INFINITE) != WAIT_OBJECT_0)
        bench_fail("WaitForSingleObject", "failed");
    CloseHandle(pi.hProcess);
}

static double start_join_spawn(long iterations)
{
    if (!GetModuleFileNameW(NULL, exe, MAX_PATH))
        bench_fail("GetModuleFileNameW", "failed");
    return bench_median_window(iterations, spawn_one, NULL);
}
BENCH_FIGURE("start_join_spawn", "s", start_join_spawn)
