/*
 * Named shared memory (Python's SharedMemory on Windows): a pagefile-backed
 * file mapping with that name, as Python makes it. Windows removes the name
 * with the segment's last handle, so nothing outlives the processes that
 * hold it open and no tracker is needed; unlink has nothing to do.
 */
#include "os_error.h"

#include "platform.h"

#define NAME_CAP 256
#define SECTION_BASIC_INFORMATION_CLASS 0

typedef struct section_basic {
    PVOID base;
    ULONG attributes;
    LARGE_INTEGER size;
} section_basic_t;

typedef LONG(NTAPI *query_section_fn)(HANDLE, int, PVOID, SIZE_T, PSIZE_T);

static mproc_status_t wide_name(const char *name, wchar_t *out)
{
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, out, NAME_CAP) > 0
               ? MPROC_OK
               : MPROC_EINVAL;
}

static mproc_status_t map(HANDLE h, size_t size, mproc__os_shm_t *out)
{
    void *addr = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, size);
    if (!addr)
        return mproc__os_status_from_win32(GetLastError());
    out->addr = addr;
    out->size = size;
    out->handle = (mproc__os_handle_t)h;
    out->commit_first = 0;
    return MPROC_OK;
}

static mproc_status_t create(const wchar_t *name, size_t size, mproc__os_shm_t *out)
{
    unsigned long long size64 = (unsigned long long)size;
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                  (DWORD)(size64 >> 32), (DWORD)(size64 & 0xFFFFFFFFu), name);
    if (!h)
        return mproc__os_status_from_win32(GetLastError());
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        return MPROC_ENAMETAKEN;
    }
    mproc_status_t st = map(h, size, out);
    if (st)
        CloseHandle(h);
    return st;
}

/* The section's size: exact from the kernel where it tells, else the view's
 * (whole pages). */
static size_t section_size(HANDLE h, void *view)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    query_section_fn query =
        ntdll ? (query_section_fn)(void (*)(void))GetProcAddress(ntdll, "NtQuerySection") : NULL;
    section_basic_t info;
    if (query && query(h, SECTION_BASIC_INFORMATION_CLASS, &info, sizeof info, NULL) >= 0 &&
        info.size.QuadPart > 0)
        return (size_t)info.size.QuadPart;
    MEMORY_BASIC_INFORMATION mbi;
    return VirtualQuery(view, &mbi, sizeof mbi) ? mbi.RegionSize : 0;
}

static mproc_status_t open_existing(const wchar_t *name, mproc__os_shm_t *out)
{
    HANDLE h = OpenFileMappingW(SECTION_QUERY | FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    if (!h)
        return mproc__os_status_from_win32(GetLastError());
    void *view = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (!view) {
        mproc_status_t st = mproc__os_status_from_win32(GetLastError());
        CloseHandle(h);
        return st;
    }
    out->addr = view;
    out->size = section_size(h, view);
    out->handle = (mproc__os_handle_t)h;
    out->commit_first = 0;
    return MPROC_OK;
}

mproc_status_t mproc__os_shm_named(const char *name, int create_it, size_t size,
                                   mproc__os_shm_t *out)
{
    wchar_t wname[NAME_CAP];
    mproc_status_t st = wide_name(name, wname);
    if (st)
        return st;
    return create_it ? create(wname, size, out) : open_existing(wname, out);
}

mproc_status_t mproc__os_shm_unlink(const char *name, int created_here)
{
    (void)name;
    (void)created_here;
    return MPROC_OK;
}
