/* Life inside a child: take on the new identity, run the target, exit. */
#include <stdlib.h>

#include "core.h"

void mproc__become_child(const char *name, const char *identity, int daemon, int64_t parent_pid,
                         const char *parent_name, const mproc__os_boot_t *boot)
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

    g->parent = (struct mproc_process){0};
    g->parent.kind = MPROC__KIND_PARENT;
    g->parent.name = mproc__strdup(parent_name);
    g->parent.identity = mproc__strdup("");
    g->parent.pid = parent_pid;
    g->parent.started = 1;
    g->parent.parent_sentinel = boot->parent_sentinel;
    g->has_parent = 1;

    /* Copy before freeing: under fork, parent_name is the old name itself. */
    char *old_name = g->self.name, *old_identity = g->self.identity;
    g->self.name = mproc__strdup(name);
    g->self.identity = mproc__strdup(identity);
    free(old_name);
    free(old_identity);
    g->self.daemon = daemon;
    g->self.pid = mproc__os_getpid();
    g->owner_pid = g->self.pid;
    if (!g->parent.name || !g->parent.identity || !g->self.name || !g->self.identity)
        mproc__os_exit(1);
}

void mproc__run_target(mproc_target_fn target, const mproc_args_t *args,
                       const mproc__os_boot_t *boot)
{
    if (mproc__g.self.daemon && mproc__os_watch_parent(boot) != MPROC_OK)
        mproc__os_exit(1);
    int code = target(args);
    /* As Python's child bootstrap: its own children are handled before it ends. */
    mproc__join_children_at_exit();
    mproc__os_exit(code);
}
