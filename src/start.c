/*
 * mproc_process_start(): the rules Python checks, then the fork or spawn path.
 *
 * Spawn bootstrap protocol, over the channel the backend creates:
 *   parent -> child: u32 length, then the message (see write_bootstrap)
 *   child -> parent: i32 status, MPROC_OK once the target was found
 * The parent keeps its end open for the child's life: the child sees EOF when
 * the parent dies, which is how daemonic children follow a killed parent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define BOOT_MAGIC 0x6d70726fu /* "mpro" */
#define BOOT_VERSION 1u
#define BOOT_MAX_BYTES (MPROC_ARGS_MAX_BYTES + 64 * 1024)

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
    /* Held across fork so the child's copy of the registry is consistent. */
    mproc__lock();
    mproc_status_t st = mproc__os_fork(&p->os, &boot, &is_child);
    if (is_child) {
        /* This thread held the lock across fork: the child's copy is ours to release. */
        mproc__unlock();
        char *parent_name = mproc__g.self.name;
        int64_t parent_pid = mproc__g.self.pid;
        mproc__become_child(p->name, p->identity, p->daemon, parent_pid, parent_name, &boot);
        mproc__connections_after_fork(p->args);
        mproc__run_target(p->target, p->args, &boot);
    }
    mproc__unlock();
    return st;
}

static mproc_status_t write_bootstrap(mproc_process_t *p, const mproc_args_t *child_args)
{
    mproc__wbuf_t b = {0};
    mproc_status_t st = mproc__wbuf_put_u32(&b, 0); /* length, filled below */
    if (!st) st = mproc__wbuf_put_u32(&b, BOOT_MAGIC);
    if (!st) st = mproc__wbuf_put_u32(&b, BOOT_VERSION);
    if (!st) st = mproc__wbuf_put_str(&b, mproc__target_name(p->target));
    if (!st) st = mproc__wbuf_put_str(&b, p->name);
    if (!st) st = mproc__wbuf_put_str(&b, p->identity);
    if (!st) st = mproc__wbuf_put_u32(&b, (uint32_t)p->daemon);
    if (!st) st = mproc__wbuf_put_i64(&b, mproc__g.self.pid);
    if (!st) st = mproc__wbuf_put_str(&b, mproc__g.self.name);
    if (!st) st = mproc__wbuf_put_u32(&b, (uint32_t)mproc_get_start_method());
    if (!st) st = mproc__args_encode(child_args, &b);
    if (!st) {
        uint32_t len = (uint32_t)(b.len - 4);
        memcpy(b.data, &len, 4);
        st = mproc__os_write_all(p->os.to_child, b.data, b.len);
    }
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

/* ---- the child side of spawn --------------------------------------------- */

typedef struct boot_msg {
    char *target, *name, *identity, *parent_name;
    uint32_t daemon, method;
    int64_t parent_pid;
    mproc_args_t *args;
} boot_msg_t;

static mproc_status_t parse_bootstrap(mproc__rbuf_t *r, boot_msg_t *m)
{
    uint32_t magic = 0, version = 0;
    mproc_status_t st = mproc__rbuf_get_u32(r, &magic);
    if (!st) st = mproc__rbuf_get_u32(r, &version);
    if (!st && (magic != BOOT_MAGIC || version != BOOT_VERSION)) st = MPROC_EINVAL;
    if (!st) st = mproc__rbuf_get_str(r, &m->target);
    if (!st) st = mproc__rbuf_get_str(r, &m->name);
    if (!st) st = mproc__rbuf_get_str(r, &m->identity);
    if (!st) st = mproc__rbuf_get_u32(r, &m->daemon);
    if (!st) st = mproc__rbuf_get_i64(r, &m->parent_pid);
    if (!st) st = mproc__rbuf_get_str(r, &m->parent_name);
    if (!st) st = mproc__rbuf_get_u32(r, &m->method);
    if (!st) st = mproc__args_decode(r, &m->args);
    return st;
}

static mproc_status_t read_bootstrap(const mproc__os_boot_t *boot, boot_msg_t *m,
                                     mproc_target_fn *target)
{
    uint32_t len;
    mproc_status_t st = mproc__os_read_all(boot->from_parent, &len, sizeof len);
    if (st)
        return st;
    if (len > BOOT_MAX_BYTES)
        return MPROC_EINVAL;
    unsigned char *data = malloc(len ? len : 1);
    if (!data)
        return MPROC_ENOMEM;
    st = mproc__os_read_all(boot->from_parent, data, len);
    mproc__rbuf_t r = {data, len, 0};
    if (!st)
        st = parse_bootstrap(&r, m);
    free(data);
    if (!st && !(*target = mproc__target_by_name(m->target)))
        st = MPROC_ENOTREGISTERED;
    return st;
}

void mproc__spawned_main(const mproc__os_boot_t *boot)
{
    boot_msg_t m = {0};
    mproc_target_fn target = NULL;
    int32_t st = read_bootstrap(boot, &m, &target);
    if (mproc__os_write_all(boot->to_parent, &st, sizeof st) != MPROC_OK || st != MPROC_OK)
        mproc__os_exit(1);
    mproc__force_default_method((mproc_start_method_t)m.method);
    mproc__become_child(m.name, m.identity, (int)m.daemon, m.parent_pid, m.parent_name, boot);
    mproc__run_target(target, m.args, boot);
}
