#include "os_error.h"

#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform.h"

double mproc__os_now(void)
{
    LARGE_INTEGER count, freq;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&freq);
    /* Whole seconds and the remainder apart, so a long uptime keeps sub-microsecond precision. */
    return (double)(count.QuadPart / freq.QuadPart) +
           (double)(count.QuadPart % freq.QuadPart) / (double)freq.QuadPart;
}

int mproc__os_cpu_count(void)
{
    /* ALL_PROCESSOR_GROUPS: beyond 64 CPUs one group would undercount. */
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? (int)n : 1;
}

int64_t mproc__os_getpid(void)
{
    return (int64_t)GetCurrentProcessId();
}

int64_t mproc__os_getppid(void)
{
    /* Windows keeps no parent link but the creator's pid in the process list
     * (what Python's os.getppid() reads too). */
    DWORD self = GetCurrentProcessId();
    int64_t parent = -1;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return -1;
    PROCESSENTRY32W entry;
    entry.dwSize = sizeof entry;
    for (BOOL more = Process32FirstW(snap, &entry); more; more = Process32NextW(snap, &entry)) {
        if (entry.th32ProcessID == self) {
            parent = (int64_t)entry.th32ParentProcessID;
            break;
        }
    }
    CloseHandle(snap);
    return parent;
}

int mproc__os_fork_supported(void)
{
    return 0;
}

void mproc__os_die(void)
{
    TerminateProcess(GetCurrentProcess(), 9);
    ExitProcess(9); /* not reached */
}

void mproc__os_exit(int code)
{
    fflush(NULL);
    /* Not ExitProcess: that would still run DLL detach code and the atexit
     * tables of DLL runtimes. */
    TerminateProcess(GetCurrentProcess(), (UINT)code);
    _Exit(code);
}

DWORD mproc__os_wait_ms(double deadline)
{
    double ms;
    DWORD whole;
    if (deadline < 0)
        return INFINITE;
    ms = (deadline - mproc__os_now()) * 1000.0;
    if (ms <= 0)
        return 0;
    if (ms >= (double)(INFINITE - 1))
        return INFINITE - 1;
    whole = (DWORD)ms;
    return (double)whole < ms ? whole + 1 : whole;
}

mproc_status_t mproc__os_wait_object(HANDLE h, double deadline)
{
    for (;;) {
        /* Waits longer than a DWORD of milliseconds come back here to go on. */
        DWORD ms = mproc__os_wait_ms(deadline);
        DWORD r = WaitForSingleObject(h, ms);
        if (r == WAIT_OBJECT_0)
            return MPROC_OK;
        if (r == WAIT_ABANDONED)
            return MPROC_EOWNERDEAD;
        if (r == WAIT_FAILED)
            return mproc__os_status_from_win32(GetLastError());
        if (ms == 0)
            return MPROC_ETIMEDOUT;
    }
}
