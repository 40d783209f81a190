/* Start methods and contexts, as Python's get_context / set_start_method. */
#include "core.h"

struct mproc_context {
    mproc_start_method_t method;
};

static const mproc_context_t fork_context = {MPROC_METHOD_FORK};
static const mproc_context_t spawn_context = {MPROC_METHOD_SPAWN};

static mproc_start_method_t default_method; /* DEFAULT until fixed */

static mproc_start_method_t platform_default(void)
{
#if defined(__APPLE__)
    return MPROC_METHOD_SPAWN; /* fork without exec is unsafe with macOS system frameworks */
#else
    return mproc__os_fork_supported() ? MPROC_METHOD_FORK : MPROC_METHOD_SPAWN;
#endif
}

int mproc_start_method_supported(mproc_start_method_t method)
{
    return method == MPROC_METHOD_SPAWN || method == MPROC_METHOD_DEFAULT ||
           (method == MPROC_METHOD_FORK && mproc__os_fork_supported());
}

mproc_start_method_t mproc_get_start_method(void)
{
    if (default_method == MPROC_METHOD_DEFAULT)
        default_method = platform_default();
    return default_method;
}

mproc_status_t mproc_set_start_method(mproc_start_method_t method, int force)
{
    if (method != MPROC_METHOD_FORK && method != MPROC_METHOD_SPAWN)
        return MPROC_EINVAL;
    if (!mproc_start_method_supported(method))
        return MPROC_ENOTSUP;
    if (default_method != MPROC_METHOD_DEFAULT && !force)
        return MPROC_ECONTEXT;
    default_method = method;
    return MPROC_OK;
}

void mproc__force_default_method(mproc_start_method_t m)
{
    default_method = m;
}

mproc_status_t mproc_get_context(mproc_start_method_t method, const mproc_context_t **out)
{
    if (!out)
        return MPROC_EINVAL;
    *out = NULL;
    if (method == MPROC_METHOD_DEFAULT)
        method = mproc_get_start_method();
    if (method != MPROC_METHOD_FORK && method != MPROC_METHOD_SPAWN)
        return MPROC_EINVAL;
    if (!mproc_start_method_supported(method))
        return MPROC_ENOTSUP;
    *out = method == MPROC_METHOD_FORK ? &fork_context : &spawn_context;
    return MPROC_OK;
}

mproc_start_method_t mproc_context_start_method(const mproc_context_t *ctx)
{
    return ctx ? ctx->method : mproc_get_start_method();
}

const char *mproc_start_method_name(mproc_start_method_t method)
{
    switch (method) {
    case MPROC_METHOD_FORK:
        return "fork";
    case MPROC_METHOD_SPAWN:
        return "spawn";
    default:
        return "default";
    }
}
