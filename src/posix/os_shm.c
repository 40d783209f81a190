/*
 * Anonymous shared memory reaching children by descriptor: memfd on Linux, a
 * shm_open name unlinked at once elsewhere. Nothing is left in /dev/shm, even
 * when every process using it is killed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os_error.h"
#include "os_shm_map.h"

static int anonymous_fd(void)
{
#if defined(__linux__) && defined(MFD_CLOEXEC)
    int fd = memfd_create("mproc", MFD_CLOEXEC);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
#endif
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[64];
        snprintf(name, sizeof name, "/mproc-%ld-%d-%d", (long)getpid(), attempt,
                 (int)(mproc__os_now() * 1e6) & 0xffffff);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd >= 0) {
            shm_unlink(name);
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        return fd;
    }
    errno = EEXIST;
    return -1;
}

mproc_status_t mproc__os_shm_map_fd(int fd, size_t size, mproc__os_shm_t *out)
{
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
        return mproc__os_status_from_errno(errno);
    out->addr = addr;
    out->size = size;
    out->handle = fd;
    out->commit_first = 0;
    return MPROC_OK;
}

mproc_status_t mproc__os_shm_create(size_t size, mproc__os_shm_t *out)
{
    if (!size)
        return MPROC_EINVAL;
    int fd = anonymous_fd();
    if (fd < 0)
        return mproc__os_status_from_errno(errno);
    mproc_status_t st = ftruncate(fd, (off_t)size) == 0 ? mproc__os_shm_map_fd(fd, size, out)
                                                        : mproc__os_status_from_errno(errno);
    if (st)
        close(fd);
    return st;
}

/* A memfd or shm object is sparse: pages are allocated when first written. */
mproc_status_t mproc__os_shm_reserve(size_t size, mproc__os_shm_t *out)
{
    return mproc__os_shm_create(size, out);
}

mproc_status_t mproc__os_shm_commit(mproc__os_shm_t *shm, size_t offset, size_t len)
{
    if (!shm || !shm->addr || offset > shm->size || len > shm->size - offset)
        return MPROC_EINVAL;
    return MPROC_OK; /* the pages are there to be touched */
}

void mproc__os_shm_discard(mproc__os_shm_t *shm, size_t offset, size_t len)
{
#if defined(__linux__) && defined(FALLOC_FL_PUNCH_HOLE)
    /* Every process's mapping of the range drops the pages at once. Failure
     * only means the memory stays in use, so it is not reported. */
    (void)fallocate((int)shm->handle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                    (off_t)len);
#else
    (void)shm;
    (void)offset;
    (void)len;
#endif
}

mproc_status_t mproc__os_shm_attach(mproc__os_handle_t h, size_t size, mproc__os_shm_t *out)
{
    if (!size || h < 0)
        return MPROC_EINVAL;
    fcntl((int)h, F_SETFD, FD_CLOEXEC);
    return mproc__os_shm_map_fd((int)h, size, out);
}

void mproc__os_shm_release(mproc__os_shm_t *shm)
{
    if (shm->addr)
        munmap(shm->addr, shm->size);
    mproc__os_close(shm->handle);
    shm->addr = NULL;
    shm->handle = MPROC__OS_NO_HANDLE;
}
