/*
 * Anonymous shared memory reaching children by descriptor: memfd on Linux, a
 * shm_open name unlinked at once elsewhere. Nothing is left in /dev/shm, even
 * when every process using it is killed.
 *
 * Pages of a shm_open object come from a file system of limited size
 * (/dev/shm): a write to a page it has no room for is a SIGBUS, not an error.
 * So there memory is reserved before it is used (posix_fallocate): all of it
 * at create, and per range at commit for a sparse reservation, whose views
 * say `commit_first`. A memfd's pages come from memory without such a limit
 * (running out is the OOM killer's business), so memfd stays lazy.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os_error.h"
#include "os_shm_map.h"
#ifdef MPROC_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* Whether fd is one of our memfds, whose pages need no reservation: they are
 * made with sealing allowed and no seal, while a tmpfs file (shm_open) comes
 * with F_SEAL_SEAL and a file elsewhere takes no seals at all. */
static int is_memfd(int fd)
{
#if defined(__linux__) && defined(F_GET_SEALS) && defined(MFD_ALLOW_SEALING)
    return fcntl(fd, F_GET_SEALS) == 0;
#else
    (void)fd;
    return 0;
#endif
}

static int anonymous_fd(void)
{
#if defined(__linux__) && defined(MFD_CLOEXEC)
    int fd = -1;
#ifdef MPROC_FAULT_INJECTION
    /* Tests take the path of systems without memfd. */
    if (getenv("MPROC_FAULT_NO_MEMFD"))
        errno = ENOSYS;
    else
#endif
        fd = memfd_create("mproc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
#endif
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[64];
        snprintf(name, sizeof name, "/mproc-%ld-%d-%d", (long)getpid(), attempt,
                 (int)((long long)(mproc__os_now() * 1e6) & 0xffffff));
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
    out->commit_first = !is_memfd(fd);
    return MPROC_OK;
}

/* Reserve the pages of [offset, offset + len) of a shm_open object. */
static mproc_status_t reserve_pages(int fd, size_t offset, size_t len)
{
#if defined(__linux__) || defined(__FreeBSD__)
    int err = posix_fallocate(fd, (off_t)offset, (off_t)len);
    if (err == ENOSPC || err == EFBIG || err == ENOMEM)
        return MPROC_ENOMEM;
    /* A file system that cannot reserve (EOPNOTSUPP, EINVAL) is used as it is. */
    return MPROC_OK;
#else
    (void)fd;
    (void)offset;
    (void)len;
    return MPROC_OK;
#endif
}

/* Whether the file size limit (ulimit -f) allows `size`: beyond it, ftruncate
 * fails with EFBIG and the kernel also sends SIGXFSZ, whose default action
 * kills the process before the caller could try a smaller size. Asking first
 * is thread-safe, unlike blocking the signal around the call. */
static int size_allowed(size_t size)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
           (rlim_t)size <= rl.rlim_cur;
}

/* A new object of `size` bytes, mapped. */
static mproc_status_t sized_object(size_t size, mproc__os_shm_t *out)
{
    if (!size)
        return MPROC_EINVAL;
    if (!size_allowed(size))
        return MPROC_ENOMEM;
    int fd = anonymous_fd();
    if (fd < 0)
        return mproc__os_status_from_errno(errno);
    mproc_status_t st = ftruncate(fd, (off_t)size) == 0 ? mproc__os_shm_map_fd(fd, size, out)
                                                        : mproc__os_status_from_errno(errno);
    if (st)
        close(fd);
    return st;
}

mproc_status_t mproc__os_shm_create(size_t size, mproc__os_shm_t *out)
{
    mproc_status_t st = sized_object(size, out);
    if (!st && out->commit_first && (st = reserve_pages((int)out->handle, 0, size)) != MPROC_OK)
        mproc__os_shm_release(out);
    if (!st)
        out->commit_first = 0; /* all of it is reserved */
    return st;
}

/* A memfd or shm object is sparse: pages are allocated when first written
 * (for a shm object, reserved when committed).
 *
 * Not under valgrind: memcheck's leak check at exit reads every mapped page
 * of the process, and reading a sparse reservation of gigabytes (each process
 * maps one per queue, and a fork child inherits its parent's) allocates and
 * scans all of it, which at memcheck's speed never ends. Refused, a queue
 * falls back to a plain ring. */
mproc_status_t mproc__os_shm_reserve(size_t size, mproc__os_shm_t *out)
{
#ifdef MPROC_HAVE_VALGRIND_H
    if (RUNNING_ON_VALGRIND)
        return MPROC_ENOTSUP;
#endif
    return sized_object(size, out);
}

mproc_status_t mproc__os_shm_commit(mproc__os_shm_t *shm, size_t offset, size_t len)
{
    if (!shm || !shm->addr || offset > shm->size || len > shm->size - offset)
        return MPROC_EINVAL;
    return shm->commit_first ? reserve_pages((int)shm->handle, offset, len) : MPROC_OK;
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
