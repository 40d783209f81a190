/* Life inside a child: take on the new identity, run the target. */
#include <stdlib.h>

#include "core.h"

void mproc__become_child(const mproc__child_id_t *id, const mproc__os_boot_t *boot)
{
    mproc__state_t *g = &mproc__g;
    /* Siblings' handles came along with fork; this process must not hold them. */
    for (mproc_process_t *c = g->active; c; c = c->next_active) {
        mproc__os_child_release(&c->os);
        c->active = 0;
    }
    g->active = NULL;
    g->next_child_number = 1;
    /* A fork child of a child: its copy of the link to the grandparent would
     * keep the grandparent from seeing this process's parent end. */
    if (g->has_parent) {
        mproc__os_close(g->parent.parent_sentinel);
        free(g->parent.name);
        free(g->parent.identity);
    }
    /* Under fork the parent's strings are this process's old own ones. */
    if (g->self.name != id->parent_name)
        free(g->self.name);
    if (g->self.identity != id->parent_identity)
        free(g->self.identity);

    g->parent = (struct mproc_process){0};
    g->parent.kind = MPROC__KIND_PARENT;
    g->parent.name = id->parent_name;
    g->parent.identity = id->parent_identity;
    g->parent.pid = id->parent_pid;
    g->parent.started = 1;
    g->parent.parent_sentinel = boot->parent_sentinel;
    g->has_parent = 1;

    g->self.name = id->name;
    g->self.identity = id->identity;
    g->self.daemon = id->daemon;
    g->self.pid = mproc__os_getpid();
    g->owner_pid = g->self.pid;
    if (!g->parent.name || !g->parent.identity || !g->self.name || !g->self.identity)
        mproc__os_exit(1);
}

int mproc__run_target(mproc_target_fn target, const mproc_args_t *args,
                      const mproc__os_boot_t *boot)
{
    if (mproc__g.self.daemon && mproc__os_watch_parent(boot) != MPROC_OK)
        mproc__os_exit(1);
    int code = target(args);
    /* As Python's child bootstrap: its own children are handled before it ends. */
    mproc__join_children_at_exit();
    return code;
}
