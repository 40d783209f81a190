/* Process-wide state, the registry lock, timeouts, and the current process. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

mproc__state_t mproc__g;

void mproc__lock(void)
{
    mproc__os_mutex_lock(&mproc__g.lock);
}

void mproc__unlock(void)
{
    mproc__os_mutex_unlock(&mproc__g.lock);
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

mproc_status_t mproc__state_init(void)
{
    mproc_status_t st = mproc__os_mutex_init(&mproc__g.lock);
    if (st)
        return st;
    init_self();
    return mproc__g.self.name && mproc__g.self.identity ? MPROC_OK : MPROC_ENOMEM;
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
