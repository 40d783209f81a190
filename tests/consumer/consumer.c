/* A program outside the mproc tree, built against an installed mproc (through
 * find_package or pkg-config) by scripts/consumer-test.sh. It exercises what a
 * user's program does first: mproc_init, a registered target, and a child
 * started with the spawn method, which re-executes this program and so runs
 * the installed library's bootstrap. Exit status 0 means every check passed. */
#include <mproc/mproc.h>

#include <stdio.h>
#include <string.h>

#define CHILD_EXIT 42

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "consumer: FAILED: %s\n", what);
        failures++;
    }
}

/* Runs in the spawned child: returns CHILD_EXIT only if everything it was
 * handed arrived intact, so the parent's exit-code check covers the arguments. */
static int child_main(const mproc_args_t *args)
{
    int64_t n = 0;
    const char *s = NULL;
    if (mproc_args_count(args) != 2 || mproc_args_get_int(args, 0, &n) != MPROC_OK ||
        mproc_args_get_str(args, 1, &s) != MPROC_OK)
        return 3;
    if (n != 7 || strcmp(s, "from the parent") != 0)
        return 4;
    if (mproc_parent_process() == NULL)
        return 5;
    return CHILD_EXIT;
}
MPROC_TARGET(child_main)

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_init(argc, argv); /* a spawned child never returns from here */
    check(st == MPROC_OK, "mproc_init");
    if (st != MPROC_OK)
        return 1;

    char header_version[32];
    snprintf(header_version, sizeof header_version, "%d.%d.%d", MPROC_VERSION_MAJOR,
             MPROC_VERSION_MINOR, MPROC_VERSION_PATCH);
    check(strcmp(header_version, mproc_version_string()) == 0,
          "headers and library are the same version");

    const mproc_context_t *ctx = NULL;
    st = mproc_get_context(MPROC_METHOD_SPAWN, &ctx);
    check(st == MPROC_OK && ctx != NULL, "mproc_get_context(spawn)");
    if (st != MPROC_OK)
        return 1;

    mproc_args_t *args = NULL;
    check(mproc_args_create(&args) == MPROC_OK, "mproc_args_create");
    check(mproc_args_add_int(args, 7) == MPROC_OK, "mproc_args_add_int");
    check(mproc_args_add_str(args, "from the parent") == MPROC_OK, "mproc_args_add_str");

    mproc_process_options_t opts = MPROC_PROCESS_OPTIONS_INIT;
    opts.context = ctx;
    mproc_process_t *p = NULL;
    st = mproc_process_create(&p, child_main, args, &opts);
    mproc_args_free(args);
    check(st == MPROC_OK, "mproc_process_create");
    if (st != MPROC_OK)
        return 1;

    st = mproc_process_start(p);
    check(st == MPROC_OK, "mproc_process_start (spawn)");
    if (st != MPROC_OK) {
        fprintf(stderr, "consumer: start: %s\n", mproc_strerror(st));
        mproc_process_free(p);
        return 1;
    }
    st = mproc_process_join(p, 60.0);
    check(st == MPROC_OK, "mproc_process_join within 60 s");
    if (st != MPROC_OK) {
        mproc_process_kill(p);
        mproc_process_join(p, MPROC_FOREVER);
    }

    int64_t code = MPROC_EXITCODE_NONE;
    check(mproc_process_exitcode(p, &code) == MPROC_OK, "mproc_process_exitcode");
    check(code == CHILD_EXIT, "the spawned child's exit code is 42");
    int alive = -1;
    check(mproc_process_is_alive(p, &alive) == MPROC_OK && alive == 0, "is_alive after join");
    check(strcmp(mproc_process_name(p), "Process-1") == 0, "the child is named Process-1");
    mproc_process_free(p);

    if (failures) {
        fprintf(stderr, "consumer: %d check(s) failed\n", failures);
        return 1;
    }
    printf("consumer: mproc %s, spawn child exited with %lld: ok\n", mproc_version_string(),
           (long long)code);
    return 0;
}
