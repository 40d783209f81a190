/*
 * mproc_process_start(): the rules Python checks, then the fork or spawn path.
 *
 * Spawn bootstrap protocol, over the channel the backend creates:
 *   child -> parent: a random challenge (MPROC__BOOT_TOKEN_BYTES)
 *   parent -> child: u32 length, then the message echoing it (boot.h)
 *   child -> parent: i32 status, MPROC_OK once the target was found
 * The child's side is in spawned.c.
 * The parent keeps its end open for the child's life: the child sees EOF when
 * the parent dies, which is how daemonic children follow a killed parent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "core.h"

mproc_status_t mproc_process_start(mproc_process_t *p)
{
    if (!p)
        return MPROC_EINVAL;
    if (p->closed)
        return MPROC_ECLOSED;
    if (p->kind != MPROC__KIND_CHILD || p->started)
        return MPROC_ESTARTED;
    if (mproc__g.self.daemon)
        return MPROC_EDAEMON;
    mproc_start_method_t method = mproc_context_start_method(p->context);
    if (!mproc_start_method_supported(method))
        return MPROC_ENOTSUP;
    if (method == MPROC_METHOD_SPAWN && !mproc__target_name(p->target))
        return MPROC_ENOTREGISTERED;
    /* Buffered output would otherwise be written twice (fork) or late (spawn). */
    fflush(NULL);
    mproc__lock();
    mproc__registry_reap();
    mproc__unlock();
    mproc_status_t st =
        method == MPROC_METHOD_FORK ? mproc__start_fork(p) : mproc__start_spawn(p);
    if (st)
        return st;
    p->started = 1;
    p->starter_pid = mproc__g.self.pid;
    /* As Python drops a started process's arguments: the handle duplicates go,
     * so closing an object in the parent really closes it. */
    mproc_args_free(p->args);
    p->args = NULL;
    mproc__lock();
    mproc__registry_add(p);
    mproc__unlock();
    return MPROC_OK;
}

mproc_status_t mproc__start_fork(mproc_process_t *p)
{
    mproc__os_boot_t boot;
    int is_child = 0;
    /* Copied here, so that the child allocates nothing before its target:
     * each page it writes is a copy-on-write fault. */
    mproc__child_id_t id = {mproc__strdup(p->name), mproc__strdup(p->identity), NULL, NULL,
                            p->daemon, 0};
    mproc_status_t st = MPROC_ENOMEM;
    if (id.name && id.identity) {
        /* Held across fork so the child's copy of the registry is consistent. */
        mproc__lock();
        st = mproc__os_fork(&p->os, &boot, &is_child);
        if (is_child) {
            /* This thread held the lock across fork: the child's copy is ours to release. */
            mproc__unlock();
            id.parent_name = mproc__g.self.name;
            id.parent_identity = mproc__g.self.identity;
            id.parent_pid = boot.parent_pid;
            mproc__become_child(&id, &boot);
            mproc__connections_after_fork(p->args);
            /* As CPython's fork child: stdout and stderr are flushed, then _exit. */
            mproc__os_exit(mproc__run_target(p->target, p->args, &boot));
        }
        mproc__unlock();
    }
    free(id.name);
    free(id.identity);
    return st;
}

static mproc_status_t write_bootstrap(mproc_process_t *p, const mproc_args_t *child_args)
{
    mproc__boot_msg_t m;
    memset(&m, 0, sizeof m);
    /* The child's challenge first: the message must echo it (see spawned.c). */
    mproc_status_t st = mproc__os_read_all(p->os.from_child, m.token, sizeof m.token);
    if (st)
        return st;
    m.target = (char *)mproc__target_name(p->target);
    m.name = p->name;
    m.identity = p->identity;
    m.daemon = p->daemon;
    m.parent_pid = mproc__os_getpid(); /* the child checks it against its own parent */
    m.parent_name = mproc__g.self.name;
    m.method = mproc_get_start_method();
    m.args = (mproc_args_t *)child_args;
    mproc__wbuf_t b = {0};
    st = mproc__boot_encode(&m, &b);
    if (!st)
        st = mproc__os_write_all(p->os.to_child, b.data, b.len);
    mproc__wbuf_free(&b);
    return st;
}

static mproc_status_t spawn_and_boot(mproc_process_t *p, mproc_args_t *child_args,
                                     const mproc__os_handle_t *pass, size_t npass)
{
    mproc__os_handle_t *values = calloc(npass ? npass : 1, sizeof *values);
    if (!values)
        return MPROC_ENOMEM;
    mproc__os_spawn_req_t req = {pass, npass, p->daemon};
    mproc_status_t st = mproc__os_spawn(&req, &p->os, values);
    if (!st)
        mproc__args_set_handles(child_args, values);
    free(values);
    if (st)
        return st;

    int32_t ack = MPROC_ESPAWN;
    st = write_bootstrap(p, child_args);
    if (!st)
        st = mproc__os_read_all(p->os.from_child, &ack, sizeof ack);
    if (!st && ack != MPROC_OK)
        st = ack;
    if (st) {
        /* The child could not boot: it ends by itself (EOF) or is ended here. */
        (void)mproc__os_child_signal(&p->os, 1);
        (void)mproc__os_child_wait(&p->os, -1.0);
        mproc__os_child_release(&p->os);
        return st == MPROC_EEOF ? MPROC_ESPAWN : st;
    }
    return MPROC_OK;
}

mproc_status_t mproc__start_spawn(mproc_process_t *p)
{
    mproc_args_t *child_args = NULL;
    mproc__os_handle_t *pass = NULL;
    size_t npass = 0;
    mproc_status_t st = mproc__args_clone(p->args, &child_args);
    if (!st)
        st = mproc__args_handles(p->args, &pass, &npass);
    if (!st)
        st = spawn_and_boot(p, child_args, pass, npass);
    free(pass);
    mproc_args_free(child_args);
    return st;
}

