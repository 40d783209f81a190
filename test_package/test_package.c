/* conan's test_package: start a child with the spawn method (it re-executes
 * this program, whose registered target returns 42) and check its exit code. */
#include <mproc/mproc.h>

#include <stdio.h>

static int child(const mproc_args_t *args)
{
    (void)args;
    return 42;
}
MPROC_TARGET(child)

int main(int argc, char **argv)
{
    const mproc_context_t *spawn;
    mproc_process_t *p;
    mproc_process_options_t opts = MPROC_PROCESS_OPTIONS_INIT;
    int64_t code = MPROC_EXITCODE_NONE;

    if (mproc_init(argc, argv) != MPROC_OK || mproc_get_context(MPROC_METHOD_SPAWN, &spawn) != MPROC_OK)
        return 1;
    opts.context = spawn;
    if (mproc_process_create(&p, child, NULL, &opts) != MPROC_OK)
        return 1;
    if (mproc_process_start(p) != MPROC_OK || mproc_process_join(p, 60.0) != MPROC_OK ||
        mproc_process_exitcode(p, &code) != MPROC_OK) {
        mproc_process_free(p);
        return 1;
    }
    mproc_process_free(p);
    printf("mproc %s: spawned child exited with %lld\n", mproc_version_string(), (long long)code);
    return code == 42 ? 0 : 1;
}
