#include "os_error.h"

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

/* ntdll's ProcessBasicInformation (winternl.h names its fields differently
 * per SDK; the layout is the same). */
#define PROCESS_BASIC_INFORMATION_CLASS 0

typedef struct process_basic {
    LONG exit_status;
    PVOID peb;
    ULONG_PTR affinity;
    LONG base_priority;
    ULONG_PTR pid;
    ULONG_PTR parent_pid;
} process_basic_t;

typedef LONG(NTAPI *query_process_fn)(HANDLE, int, PVOID, ULONG, PULONG);

int64_t mproc__os_getppid(void)
{
    /* Windows keeps no parent link but the creator's pid, which is what
     * Toolhelp's process list and Python's os.getppid() report. Asked of this
     * process alone: listing every process took milliseconds of each spawned
     * child's start under Wine. */
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    query_process_fn query =
        ntdll ? (query_process_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryInformationProcess")
              : NULL;
    process_basic_t info;
    if (query == NULL || query(GetCurrentProcess(), PROCESS_BASIC_INFORMATION_CLASS, &info,
                               (ULONG)sizeof info, NULL) < 0)
        return -1;
    return (int64_t)info.parent_pid; /* 0: none (under Wine, started by a Unix process) */
}

int mproc__os_fork_supported(void)
{
    return 0;
}

_Static_assert(sizeof(SRWLOCK) <= sizeof(mproc__os_mutex_t), "mutex storage");

mproc_status_t mproc__os_mutex_init(mproc__os_mutex_t *m)
{
    InitializeSRWLock((PSRWLOCK)m);
    return MPROC_OK;
}

void mproc__os_mutex_lock(mproc__os_mutex_t *m)
{
    AcquireSRWLockExclusive((PSRWLOCK)m);
}

void mproc__os_mutex_unlock(mproc__os_mutex_t *m)
{
    ReleaseSRWLockExclusive((PSRWLOCK)m);
}

_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(mproc__os_cond_t), "condition storage");

mproc_status_t mproc__os_cond_init(mproc__os_cond_t *c)
{
    InitializeConditionVariable((PCONDITION_VARIABLE)c);
    return MPROC_OK;
}

void mproc__os_cond_destroy(mproc__os_cond_t *c)
{
    (void)c; /* nothing to free */
}

mproc_status_t mproc__os_cond_wait(mproc__os_cond_t *c, mproc__os_mutex_t *m, double deadline)
{
    DWORD ms = mproc__os_wait_ms(deadline);
    if (ms == 0)
        return MPROC_ETIMEDOUT;
    /* A timeout or a wake-up alike: the caller looks at its condition and
     * the clock again. */
    (void)SleepConditionVariableSRW((PCONDITION_VARIABLE)c, (PSRWLOCK)m, ms, 0);
    return MPROC_OK;
}

void mproc__os_cond_broadcast(mproc__os_cond_t *c)
{
    WakeAllConditionVariable((PCONDITION_VARIABLE)c);
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
