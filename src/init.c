/*
 * mproc_init(): the top of the library. It sets up the process-wide state,
 * registers what a spawned child must find, and, in a child that mproc
 * spawned, hands over to the child side (which never returns). Kept apart
 * from state.c, which every file below uses, so that nothing calls upward.
 */
#include <apr_general.h>
#include <stdlib.h>

#include "core.h"
#include "fault.h"

static void at_exit(void)
{
    mproc__join_children_at_exit();
}

mproc_status_t mproc_init(int argc, char **argv)
{
    if (mproc__g.initialized)
        return MPROC_OK;
    if (apr_initialize() != APR_SUCCESS)
        return MPROC_EOS;
    mproc_status_t st = mproc__state_init();
    if (st)
        return st;
    mproc__g.initialized = 1;
    if (atexit(at_exit) != 0)
        return MPROC_ENOMEM;
    mproc__pool_register();
#ifdef MPROC_FAULT_INJECTION
    mproc__fault_arm_from_env(); /* before a spawned child runs: MPROC_FAULT=point:nth */
#endif
    mproc__spawned_entry(argc, argv);
    return MPROC_OK;
}
