#include "os_error.h"

#include "platform.h"

static void clear(mproc__os_shm_t *out)
{
    out->addr = NULL;
    out->size = 0;
    out->handle = MPROC__OS_NO_HANDLE;
    out->commit_first = 0;
}

static mproc_status_t map(HANDLE h, size_t size, mproc__os_shm_t *out)
{
    void *addr = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, size);
    if (addr == NULL)
        return mproc__os_status_from_win32(GetLastError());
    out->addr = addr;
    out->size = size;
    out->handle = (mproc__os_handle_t)h;
    return MPROC_OK;
}

static mproc_status_t create(size_t size, DWORD flags, mproc__os_shm_t *out)
{
    HANDLE h;
    mproc_status_t st;
    unsigned long long size64 = (unsigned long long)size;
    if (out == NULL)
        return MPROC_EINVAL;
    clear(out);
    if (size == 0)
        return MPROC_EINVAL;
    /* Backed by the pagefile and unnamed: it reaches a child only as a passed
     * handle and vanishes with its last handle. Fresh pages read as zero. */
    h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | flags,
                           (DWORD)(size64 >> 32), (DWORD)(size64 & 0xFFFFFFFFu), NULL);
    if (h == NULL)
        return mproc__os_status_from_win32(GetLastError());
    st = map(h, size, out);
    if (st != MPROC_OK)
        CloseHandle(h);
    else
        out->commit_first = (flags & SEC_RESERVE) != 0;
    return st;
}

mproc_status_t mproc__os_shm_create(size_t size, mproc__os_shm_t *out)
{
    return create(size, SEC_COMMIT, out);
}

/* SEC_RESERVE: the section takes no commit charge until pages are committed. */
mproc_status_t mproc__os_shm_reserve(size_t size, mproc__os_shm_t *out)
{
    return create(size, SEC_RESERVE, out);
}

/* Committing pages that are already committed (by this view or another) is
 * allowed, so every process simply commits what it is about to touch. */
mproc_status_t mproc__os_shm_commit(mproc__os_shm_t *shm, size_t offset, size_t len)
{
    if (shm == NULL || shm->addr == NULL || offset > shm->size || len > shm->size - offset)
        return MPROC_EINVAL;
    if (len == 0)
        return MPROC_OK;
    if (VirtualAlloc((char *)shm->addr + offset, len, MEM_COMMIT, PAGE_READWRITE) == NULL)
        return mproc__os_status_from_win32(GetLastError());
    return MPROC_OK;
}

/* Committed section pages cannot be decommitted while the section exists:
 * they return to the system with the queue's last handle. */
void mproc__os_shm_discard(mproc__os_shm_t *shm, size_t offset, size_t len)
{
    (void)shm;
    (void)offset;
    (void)len;
}

/* Takes ownership of h on success only; on failure the caller still owns it. */
mproc_status_t mproc__os_shm_attach(mproc__os_handle_t h, size_t size, mproc__os_shm_t *out)
{
    if (out == NULL)
        return MPROC_EINVAL;
    clear(out);
    if (size == 0 || h == MPROC__OS_NO_HANDLE || h == 0)
        return MPROC_EINVAL;
    mproc_status_t st = map((HANDLE)h, size, out);
    /* Whether the section was reserved is not known here; committing
     * committed pages is allowed, so assume it was. */
    if (st == MPROC_OK)
        out->commit_first = 1;
    return st;
}

void mproc__os_shm_release(mproc__os_shm_t *shm)
{
    if (shm == NULL)
        return;
    if (shm->addr != NULL)
        UnmapViewOfFile(shm->addr);
    mproc__os_close(shm->handle);
    clear(shm);
}
