/* Process-wide state, the registry lock, timeouts, and mproc_init(). */
#include <apr_general.h>
#include <apr_thread_mutex.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "fault.h"

mproc__state_t mproc__g;

static apr_pool_t *lock_pool;
static apr_thread_mutex_t *registry_lock;

static mproc_status_t lock_init(void)
{
    if (apr_pool_create(&lock_pool, NULL) != APR_SUCCESS)
        return MPROC_ENOMEM;
    if (apr_thread_mutex_create(&registry_lock, APR_THREAD_MUTEX_DEFAULT, lock_pool) !=
        APR_SUCCESS)
        return MPROC_EOS;
    return MPROC_OK;
}

void mproc__lock(void)
{
    apr_thread_mutex_lock(registry_lock);
}

void mproc__unlock(void)
{
    apr_thread_mutex_unlock(registry_lock);
}

mproc_status_t mproc__deadline(double timeout, double *deadline)
{
    if (timeout != timeout)
        return MPROC_EINVAL;
    if (timeout >= 1e9)
        *deadline = -1.0;
    else if (timeout <= 0)
        *deadline = 0.0; /* already passed: poll once */
    else
        *deadline = mproc__os_now() + timeout;
    return MPROC_OK;
}

char *mproc__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static void at_exit(void)
{
    mproc__join_children_at_exit();
}

static void init_self(void)
{
    mproc_process_t *self = &mproc__g.self;
    self->kind = MPROC__KIND_SELF;
    self->name = mproc__strdup("MainProcess");
    self->identity = mproc__strdup("");
    self->pid = mproc__os_getpid();
    self->started = 1;
    mproc__g.owner_pid = self->pid;
    mproc__g.next_child_number = 1;
}

mproc_status_t mproc_init(int argc, char **argv)
{
    if (mproc__g.initialized)
        return MPROC_OK;
    if (apr_initialize() != APR_SUCCESS)
        return MPROC_EOS;
    mproc_status_t st = lock_init();
    if (st)
        return st;
    init_self();
    if (!mproc__g.self.name || !mproc__g.self.identity)
        return MPROC_ENOMEM;
    mproc__g.initialized = 1;
    if (atexit(at_exit) != 0)
        return MPROC_ENOMEM;
    mproc__pool_register();
#ifdef MPROC_FAULT_INJECTION
    mproc__fault_arm_from_env();
#endif
    mproc__os_boot_t boot;
    if (mproc__os_spawned_boot(argc, argv, &boot))
        mproc__spawned_main(&boot);
    return MPROC_OK;
}

mproc_process_t *mproc_current_process(void)
{
    return mproc__g.initialized ? &mproc__g.self : NULL;
}

mproc_process_t *mproc_parent_process(void)
{
    return mproc__g.has_parent ? &mproc__g.parent : NULL;
}

int mproc_cpu_count(void)
{
    int n = mproc__os_cpu_count();
    return n > 0 ? n : 1;
}
