/*
 * Named shared memory (Python's SharedMemory on POSIX): shm_open("/" + name),
 * so that Python and other programs attach to the same segments. Names this
 * process creates are given to its tracker (os_shm_tracker.c).
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
#include "os_shm_tracker.h"

#define OS_NAME_LEN 256

static mproc_status_t os_name(const char *name, char *out)
{
    int n = snprintf(out, OS_NAME_LEN, "/%s", name);
    return n > 0 && n < OS_NAME_LEN ? MPROC_OK : MPROC_EINVAL;
}

static mproc_status_t create(const char *path, size_t size, mproc__os_shm_t *out)
{
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? MPROC_ENAMETAKEN : mproc__os_status_from_errno(errno);
    mproc__os_shm_track(path, 1);
    mproc_status_t st = ftruncate(fd, (off_t)size) == 0 ? mproc__os_shm_map_fd(fd, size, out)
                                                        : mproc__os_status_from_errno(errno);
    if (st) {
        close(fd);
        shm_unlink(path);
        mproc__os_shm_track(path, 0);
    }
    return st;
}

static mproc_status_t open_existing(const char *path, mproc__os_shm_t *out)
{
    struct stat sb;
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return mproc__os_status_from_errno(errno);
    mproc_status_t st = fstat(fd, &sb) != 0 ? mproc__os_status_from_errno(errno)
                        : sb.st_size <= 0   ? MPROC_EINVAL /* being created: not sized yet */
                                            : mproc__os_shm_map_fd(fd, (size_t)sb.st_size, out);
    if (st)
        close(fd);
    return st;
}

mproc_status_t mproc__os_shm_named(const char *name, int create_it, size_t size,
                                   mproc__os_shm_t *out)
{
    char path[OS_NAME_LEN];
    mproc_status_t st = os_name(name, path);
    if (st)
        return st;
    return create_it ? create(path, size, out) : open_existing(path, out);
}

mproc_status_t mproc__os_shm_unlink(const char *name, int created_here)
{
    char path[OS_NAME_LEN];
    mproc_status_t st = os_name(name, path);
    if (st)
        return st;
    if (shm_unlink(path) != 0)
        return mproc__os_status_from_errno(errno);
    if (created_here)
        mproc__os_shm_track(path, 0);
    return MPROC_OK;
}
