/*
 * SharedMemory: a named segment (platform.h's named shared memory), with the
 * size the creator asked for and Python's close/unlink split. Unique names
 * are the creator's pid, the time and a counter, tried until one is free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "mproc/shared.h"

#define NEW_NAME_TRIES 64

struct mproc_shared_memory {
    mproc__os_shm_t shm;
    size_t size;
    int created;
    char name[MPROC_SHARED_MEMORY_NAME_MAX + 1];
};

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= MPROC_SHARED_MEMORY_NAME_MAX && !strchr(name, '/') && !strchr(name, '\\');
}

static mproc_status_t open_named(mproc_shared_memory_t *m, int create, size_t size)
{
    mproc_status_t st = mproc__os_shm_named(m->name, create, size, &m->shm);
    if (st)
        return st;
    m->created = create;
    m->size = create ? size : m->shm.size;
    return MPROC_OK;
}

static mproc_status_t create_unnamed(mproc_shared_memory_t *m, size_t size)
{
    static unsigned counter;
    mproc_status_t st = MPROC_ENAMETAKEN;
    for (int i = 0; i < NEW_NAME_TRIES && st == MPROC_ENAMETAKEN; i++) {
        unsigned long long t = (unsigned long long)(mproc__os_now() * 1e9);
        snprintf(m->name, sizeof m->name, "mproc_%llx_%llx_%x",
                 (unsigned long long)mproc__os_getpid(), t & 0xffffffffffull, counter++);
        st = open_named(m, 1, size);
    }
    return st;
}

mproc_status_t mproc_shared_memory_create(mproc_shared_memory_t **out, const char *name,
                                          int create, size_t size)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    if ((create && size == 0) || (!create && !name) || (name && !valid_name(name)))
        return MPROC_EINVAL;
    mproc_shared_memory_t *m = calloc(1, sizeof *m);
    if (!m)
        return MPROC_ENOMEM;
    m->shm.handle = MPROC__OS_NO_HANDLE;
    mproc_status_t st;
    if (name) {
        strcpy(m->name, name);
        st = open_named(m, create != 0, size);
    } else {
        st = create_unnamed(m, size);
    }
    if (st) {
        free(m);
        return st;
    }
    *out = m;
    return MPROC_OK;
}

const char *mproc_shared_memory_name(const mproc_shared_memory_t *m)
{
    return m ? m->name : NULL;
}

void *mproc_shared_memory_buf(mproc_shared_memory_t *m)
{
    return m ? m->shm.addr : NULL;
}

size_t mproc_shared_memory_size(const mproc_shared_memory_t *m)
{
    return m ? m->size : 0;
}

mproc_status_t mproc_shared_memory_close(mproc_shared_memory_t *m)
{
    if (!m)
        return MPROC_EINVAL;
    if (m->shm.addr)
        mproc__os_shm_release(&m->shm);
    return MPROC_OK;
}

mproc_status_t mproc_shared_memory_unlink(mproc_shared_memory_t *m)
{
    if (!m)
        return MPROC_EINVAL;
    mproc_status_t st = mproc__os_shm_unlink(m->name, m->created);
    if (!st)
        m->created = 0;
    return st;
}

void mproc_shared_memory_free(mproc_shared_memory_t *m)
{
    if (!m)
        return;
    mproc_shared_memory_close(m);
    free(m);
}
