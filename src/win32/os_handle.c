#include "os_io.h"

#include <stdlib.h>
#include <string.h>

#include "platform.h"

/* One ReadFile/WriteFile moves at most a DWORD; stay well below it. */
#define IO_CHUNK ((size_t)1 << 30)

void mproc__os_close(mproc__os_handle_t h)
{
    if (h != MPROC__OS_NO_HANDLE) {
        mproc__os_armed_forget((HANDLE)h);
        CloseHandle((HANDLE)h);
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

/* ---- per-thread events ---------------------------------------------------- */

typedef struct thread_events {
    HANDLE ev[MAXIMUM_WAIT_OBJECTS];
    LONG64 serial;
} thread_events_t;

static INIT_ONCE events_once = INIT_ONCE_STATIC_INIT;
static DWORD events_slot = FLS_OUT_OF_INDEXES;

/* Fiber-local storage, not a thread-local variable: its destructor closes a
 * thread's events when the thread ends (and mingw needs no TLS emulation). */
static void WINAPI free_thread_events(void *p)
{
    thread_events_t *t = (thread_events_t *)p;
    size_t i;
    if (t == NULL)
        return;
    if (t->serial != 0)
        mproc__os_armed_thread_ends(t->serial);
    for (i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        if (t->ev[i] != NULL)
            CloseHandle(t->ev[i]);
    free(t);
}

static BOOL CALLBACK alloc_events_slot(PINIT_ONCE once, PVOID param, PVOID *context)
{
    HMODULE self;
    (void)once, (void)param, (void)context;
    /* The destructor runs at every later thread exit, so this module stays
     * loaded: a FreeLibrary of mproc.dll must not leave it pointing nowhere. */
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                            (LPCWSTR)(const void *)&events_slot, &self))
        return FALSE;
    events_slot = FlsAlloc(free_thread_events);
    return events_slot != FLS_OUT_OF_INDEXES;
}

static thread_events_t *thread_events(void)
{
    thread_events_t *t;
    if (!InitOnceExecuteOnce(&events_once, alloc_events_slot, NULL, NULL))
        return NULL;
    t = (thread_events_t *)FlsGetValue(events_slot);
    if (t == NULL) {
        t = (thread_events_t *)calloc(1, sizeof *t);
        if (t == NULL)
            return NULL;
        if (!FlsSetValue(events_slot, t)) {
            free(t);
            return NULL;
        }
    }
    return t;
}

HANDLE mproc__os_thread_event(size_t i)
{
    thread_events_t *t = i < MAXIMUM_WAIT_OBJECTS ? thread_events() : NULL;
    if (t == NULL)
        return NULL;
    if (t->ev[i] == NULL)
        t->ev[i] = CreateEventW(NULL, TRUE, FALSE, NULL);
    return t->ev[i];
}

LONG64 mproc__os_thread_serial(void)
{
    static volatile LONG64 last;
    thread_events_t *t = thread_events();
    if (t == NULL)
        return 0;
    /* Kept here, so that the thread's end (free_thread_events) ends its reads. */
    if (t->serial == 0)
        t->serial = InterlockedIncrement64(&last);
    return t->serial;
}

/* ---- I/O ------------------------------------------------------------------ */

DWORD mproc__os_io(HANDLE h, int write, void *buf, DWORD want, DWORD *done)
{
    OVERLAPPED ov;
    BOOL ok;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = mproc__os_thread_event(0);
    if (ov.hEvent == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    ok = write ? WriteFile(h, buf, want, NULL, &ov) : ReadFile(h, buf, want, NULL, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING)
        return GetLastError();
    /* Nothing can cancel this wait: as a blocking read or write would. */
    if (!GetOverlappedResult(h, &ov, done, TRUE))
        return GetLastError();
    return ERROR_SUCCESS;
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
        DWORD err = mproc__os_io((HANDLE)h, 1, (void *)p, (DWORD)(len < IO_CHUNK ? len : IO_CHUNK),
                                 &done);
        if (err != ERROR_SUCCESS)
            return mproc__os_status_from_win32(err);
        p += done;
        len -= done;
    }
    return MPROC_OK;
}

mproc_status_t mproc__os_read_some(mproc__os_handle_t h, void *buf, size_t cap, size_t *got)
{
    DWORD done = 0, err;
    if (h == MPROC__OS_NO_HANDLE || buf == NULL || cap == 0 || got == NULL)
        return MPROC_EINVAL;
    err = mproc__os_io((HANDLE)h, 0, buf, (DWORD)(cap < IO_CHUNK ? cap : IO_CHUNK), &done);
    if (err != ERROR_SUCCESS)
        return mproc__os_status_from_win32(err);
    if (done == 0)
        return MPROC_EEOF;
    *got = done;
    return MPROC_OK;
}

mproc_status_t mproc__os_read_all(mproc__os_handle_t h, void *buf, size_t len)
{
    char *p = (char *)buf;
    if (h == MPROC__OS_NO_HANDLE || (buf == NULL && len > 0))
        return MPROC_EINVAL;
    while (len > 0) {
        size_t got = 0;
        mproc_status_t st = mproc__os_read_some(h, p, len, &got);
        if (st != MPROC_OK)
            return st;
        p += got;
        len -= got;
    }
    return MPROC_OK;
}
