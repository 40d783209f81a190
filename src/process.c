/* The process object: creation, attributes, join, signals, close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "process_testing.h"

static void reset_os(mproc__os_child_t *os)
{
    memset(os, 0, sizeof *os);
    os->sentinel = os->to_child = os->from_child = os->process = MPROC__OS_NO_HANDLE;
}

mproc_status_t mproc_process_create(mproc_process_t **out, mproc_target_fn target,
                                    const mproc_args_t *args, const mproc_process_options_t *opts)
{
    static const mproc_process_options_t defaults = MPROC_PROCESS_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    if (out)
        *out = NULL;
    if (!out || !target || (opts->daemon != 0 && opts->daemon != 1 &&
                            opts->daemon != MPROC_DAEMON_INHERIT))
        return MPROC_EINVAL;
    if (!mproc__g.initialized)
        return MPROC_ENOTINIT;
    mproc_process_t *p = calloc(1, sizeof *p);
    if (!p)
        return MPROC_ENOMEM;
    p->kind = MPROC__KIND_CHILD;
    p->target = target;
    p->context = opts->context;
    p->daemon = opts->daemon == MPROC_DAEMON_INHERIT ? mproc__g.self.daemon : opts->daemon;
    p->parent_sentinel = MPROC__OS_NO_HANDLE;
    reset_os(&p->os);

    mproc__lock();
    unsigned long long number = mproc__g.next_child_number++;
    mproc__unlock();
    /* Python: identity = parent identity + (n,), name = "Process-" + ":".join(identity). */
    const char *parent_id = mproc__g.self.identity;
    size_t id_size = strlen(parent_id) + 24; /* ':', 20 digits, NUL */
    p->identity = malloc(id_size);
    if (p->identity)
        snprintf(p->identity, id_size, "%s%s%llu", parent_id, *parent_id ? ":" : "", number);
    if (p->identity && opts->name) {
        p->name = mproc__strdup(opts->name);
    } else if (p->identity) {
        size_t name_size = id_size + sizeof "Process-";
        if ((p->name = malloc(name_size)) != NULL)
            snprintf(p->name, name_size, "Process-%s", p->identity);
    }
    mproc_status_t st = p->name ? mproc__args_clone(args, &p->args) : MPROC_ENOMEM;
    if (st) {
        mproc_process_free(p);
        return st;
    }
    *out = p;
    return MPROC_OK;
}

/* Common checks of calls that act on a child. */
static mproc_status_t check_child(const mproc_process_t *p)
{
    if (!p)
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    if (p->kind != MPROC__KIND_CHILD)
        return MPROC_ENOTCHILD;
    if (!p->started)
        return MPROC_ENOTSTARTED;
    /* A fork child holds copies of its siblings' objects; they are not its children. */
    return p->starter_pid == mproc__os_getpid() ? MPROC_OK : MPROC_ENOTCHILD;
}

static void forget_if_ended(mproc_process_t *p)
{
    if (!p->os.reaped)
        return;
    mproc__lock();
    mproc__registry_remove(p);
    mproc__unlock();
}

/* Poll once: has the child ended? Reaps it when it has. */
static int child_ended(mproc_process_t *p)
{
    if (!p->started || p->starter_pid != mproc__os_getpid())
        return p->os.reaped;
    if (!p->os.reaped)
        (void)mproc__os_child_wait(&p->os, 0.0);
    forget_if_ended(p);
    return p->os.reaped;
}

/* The parent's sentinel. A fork child may have none yet (posix/os_child.c):
 * it is made on first use, once (p is mproc__g.parent, shared by threads). */
static mproc_status_t parent_sentinel(mproc_process_t *p, mproc__os_handle_t *out)
{
    mproc_status_t st = MPROC_OK;
    mproc__lock();
    if (p->parent_sentinel == MPROC__OS_NO_HANDLE)
        st = mproc__os_parent_sentinel(p->pid, &p->parent_sentinel);
    *out = p->parent_sentinel;
    mproc__unlock();
    return st;
}

/* A child's sentinel; a fork child on Linux gets it on first use, made under
 * the lock so that threads asking at once make one. */
static mproc_status_t child_sentinel(mproc_process_t *p, mproc__os_handle_t *out)
{
    mproc__lock();
    mproc_status_t st = mproc__os_child_sentinel(&p->os, out);
    mproc__unlock();
    return st;
}

static int parent_ended(mproc_process_t *p, double deadline)
{
    int ready = 0;
    mproc__os_handle_t h;
    if (parent_sentinel(p, &h) == MPROC_OK)
        return mproc__os_wait_ready(&h, 1, deadline, &ready) == MPROC_OK && ready;
    /* No descriptor left to make one: a child whose parent ended is adopted. */
    while (mproc__os_getppid() == p->pid) {
        double now = mproc__os_now();
        if (deadline >= 0 && now >= deadline)
            return 0;
        /* Waiting on nothing sleeps; 10 ms at a time, or up to the deadline. */
        double until = deadline >= 0 && deadline < now + 0.01 ? deadline : now + 0.01;
        (void)mproc__os_wait_ready(NULL, 0, until, NULL);
    }
    return 1;
}

mproc_status_t mproc_process_join(mproc_process_t *p, double timeout)
{
    double deadline;
    if (!p || mproc__deadline(timeout, &deadline))
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    if (p->kind == MPROC__KIND_PARENT)
        return parent_ended(p, deadline) ? MPROC_OK : MPROC_ETIMEDOUT;
    mproc_status_t st = check_child(p);
    if (st)
        return st;
    if (deadline > 0) {
        /* A timed join waits on the sentinel: made here, once, if the child
         * has none yet (a failure leaves the wait to poll). */
        mproc__os_handle_t h;
        (void)child_sentinel(p, &h);
    }
    st = mproc__os_child_wait(&p->os, deadline);
    forget_if_ended(p);
    return st;
}

mproc_status_t mproc_process_is_alive(mproc_process_t *p, int *alive)
{
    if (alive)
        *alive = 0;
    if (!p || !alive)
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    if (p->kind == MPROC__KIND_SELF) {
        *alive = 1;
    } else if (p->kind == MPROC__KIND_PARENT) {
        *alive = !parent_ended(p, 0.0);
    } else {
        mproc_status_t st = check_child(p);
        if (st && st != MPROC_ENOTSTARTED)
            return st;
        *alive = !st && !child_ended(p);
    }
    return MPROC_OK;
}

mproc_status_t mproc_process_exitcode(mproc_process_t *p, int64_t *exitcode)
{
    if (exitcode)
        *exitcode = MPROC_EXITCODE_NONE;
    if (!p || !exitcode)
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    *exitcode = p->kind == MPROC__KIND_CHILD && child_ended(p)
                    ? mproc__os_exitcode(p->os.raw_status)
                    : MPROC_EXITCODE_NONE;
    return MPROC_OK;
}

mproc_status_t mproc_process_raw_status(mproc_process_t *p, int64_t *raw)
{
    if (!raw)
        return MPROC_EINVAL;
    *raw = 0;
    mproc_status_t st = check_child(p);
    if (st)
        return st;
    if (!child_ended(p))
        return MPROC_EBUSY;
    *raw = p->os.raw_status;
    return MPROC_OK;
}

mproc_status_t mproc_process_pid(const mproc_process_t *p, int64_t *pid)
{
    if (pid)
        *pid = 0;
    if (!p || !pid)
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    *pid = p->kind == MPROC__KIND_CHILD ? (p->started ? p->os.pid : 0) : p->pid;
    return MPROC_OK;
}

mproc_status_t mproc_parent_pid(int64_t *pid)
{
    if (!pid)
        return MPROC_EINVAL;
    int64_t ppid = mproc__os_getppid();
    *pid = ppid > 0 ? ppid : 0;
    return ppid < 0 ? MPROC_EOS : MPROC_OK;
}

const char *mproc_process_name(const mproc_process_t *p)
{
    return p && p->name ? p->name : "";
}

mproc_status_t mproc_process_set_name(mproc_process_t *p, const char *name)
{
    if (!p || !name)
        return MPROC_EINVAL;
    char *copy = mproc__strdup(name);
    if (!copy)
        return MPROC_ENOMEM;
    free(p->name);
    p->name = copy;
    return MPROC_OK;
}

int mproc_process_daemon(const mproc_process_t *p)
{
    return p ? p->daemon : 0;
}

mproc_status_t mproc_process_set_daemon(mproc_process_t *p, int daemon)
{
    if (!p || (daemon != 0 && daemon != 1))
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    if (p->started)
        return MPROC_ESTARTED;
    p->daemon = daemon;
    return MPROC_OK;
}

static mproc_status_t signal_child(mproc_process_t *p, int force)
{
    mproc_status_t st = check_child(p);
    if (st)
        return st;
    return p->os.reaped ? MPROC_OK : mproc__os_child_signal(&p->os, force);
}

mproc_status_t mproc_process_terminate(mproc_process_t *p)
{
    return signal_child(p, 0);
}

mproc_status_t mproc_process_kill(mproc_process_t *p)
{
    return signal_child(p, 1);
}

mproc_status_t mproc_process_sentinel(const mproc_process_t *p, mproc_sentinel_t *out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = MPROC_SENTINEL_NONE;
    /* The object is not const underneath: only its sentinel may be made now. */
    mproc_process_t *q = (mproc_process_t *)p;
    mproc__os_handle_t h = MPROC__OS_NO_HANDLE;
    mproc_status_t st;
    if (q && !q->closed && q->kind == MPROC__KIND_PARENT)
        st = parent_sentinel(q, &h);
    else
        st = check_child(q);
    if (!st && q->kind == MPROC__KIND_CHILD)
        st = child_sentinel(q, &h);
    if (!st)
        *out = h;
    return st;
}

mproc_status_t mproc_process_close(mproc_process_t *p)
{
    if (!p)
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_OK;
    if (p->kind != MPROC__KIND_CHILD)
        return MPROC_ENOTCHILD;
    if (p->started && !child_ended(p))
        return MPROC_EBUSY;
    mproc__os_child_release(&p->os);
    mproc_args_free(p->args);
    p->args = NULL;
    p->closed = 1;
    return MPROC_OK;
}

void mproc_process_free(mproc_process_t *p)
{
    if (!p || p->kind != MPROC__KIND_CHILD)
        return;
    if (mproc_process_close(p) == MPROC_EBUSY) {
        mproc__lock();
        int adopted = mproc__registry_adopt(p);
        mproc__unlock();
        if (adopted)
            return;
        /* A sibling's copy in a fork child: not ours to wait for. */
        mproc__os_child_release(&p->os);
        mproc_args_free(p->args);
    }
    free(p->name);
    free(p->identity);
    free(p);
}

mproc_status_t mproc__wait(const mproc_sentinel_t *objects, size_t n, double timeout, int *ready,
                           int *os_ready)
{
    double deadline;
    for (size_t i = 0; ready && i < n; i++)
        ready[i] = 0;
    for (size_t i = 0; os_ready && i < n; i++)
        os_ready[i] = 0;
    if ((!objects && n) || mproc__deadline(timeout, &deadline) || (n == 0 && deadline < 0))
        return MPROC_EINVAL;
    int *flags = os_ready ? os_ready : calloc(n ? n : 1, sizeof *flags);
    if (!flags)
        return MPROC_ENOMEM;
    /* A connection whose next message was already read ahead is ready though
     * its handle may not be: look without waiting then. */
    size_t buffered = 0;
    for (size_t i = 0; i < n; i++)
        buffered += (size_t)mproc__connection_has_buffered((mproc__os_handle_t)objects[i]);
    mproc_status_t st = mproc__os_wait_ready((const mproc__os_handle_t *)objects, n,
                                             buffered ? 0.0 : deadline, flags);
    if (buffered && st == MPROC_ETIMEDOUT)
        st = MPROC_OK;
    for (size_t i = 0; i < n && ready; i++)
        ready[i] = !st && (flags[i] || mproc__connection_has_buffered((mproc__os_handle_t)objects[i]));
    if (flags != os_ready)
        free(flags);
    return st;
}

mproc_status_t mproc_wait(const mproc_sentinel_t *objects, size_t n, double timeout, int *ready)
{
    return mproc__wait(objects, n, timeout, ready, NULL);
}

#ifdef MPROC_FAULT_INJECTION
void mproc__process_test_number_children_from(uint64_t n)
{
    mproc__lock();
    mproc__g.next_child_number = n;
    mproc__unlock();
}
#endif
