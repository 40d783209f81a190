/*
 * Process tokens: the process id with the low 32 bits of its creation time,
 * so that a lock held by a process that ended is recognised even once its id
 * has been reused.
 */
#include "os_error.h"

#include "platform.h"

static int64_t make_token(DWORD pid, const FILETIME *created)
{
    return (int64_t)(((uint64_t)pid << 32) | created->dwLowDateTime);
}

volatile int64_t mproc__os_token_known;

int64_t mproc__os_self_token(void)
{
    volatile LONG64 *self = (volatile LONG64 *)&mproc__os_token_known;
    if (!*self) {
        FILETIME created, exited, kernel, user;
        FILETIME none = {0, 0};
        if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
            created = none;
        (void)InterlockedCompareExchange64(self, make_token(GetCurrentProcessId(), &created), 0);
    }
    return *self;
}

uintptr_t mproc__os_self_thread(void)
{
    return (uintptr_t)GetCurrentThreadId();
}

int mproc__os_token_alive(int64_t token)
{
    DWORD pid = (DWORD)((uint64_t)token >> 32);
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, pid);
    if (h == NULL)
        return GetLastError() == ERROR_ACCESS_DENIED; /* it exists, but is not ours to ask */
    FILETIME created, exited, kernel, user;
    int alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT &&
                GetProcessTimes(h, &created, &exited, &kernel, &user) &&
                make_token(pid, &created) == token;
    CloseHandle(h);
    return alive;
}
