/*
 * The seed program of Python's multiprocessing notes, in C:
 *
 *   def f(greeting, name):
 *       info('function f'); time.sleep(delay); print('hello', greeting, name)
 *   p = Process(target=f, args=('first', 'bob'))
 *   print('daemon is', p.daemon); p.start(); p.join(...)
 *   print('name is', p.name); print('is_alive is', p.is_alive())
 *   print('exitcode is', p.exitcode)
 *
 * Usage: process_info [join | join1 | join1-later] [fork | spawn]
 *   join         join() waits for the child: is_alive False, exitcode 0
 *   join1        join(1) on a child that sleeps 3 s: is_alive True, exitcode None
 *   join1-later  as join1, then checks again after the child has finished
 */
#include <mproc/mproc.h>
#include <stdio.h>
#include <string.h>

#include "sleep.h"

static const char *py_bool(int b)
{
    return b ? "True" : "False";
}

static void info(const char *title)
{
    int64_t pid = 0, ppid = 0;
    mproc_process_pid(mproc_current_process(), &pid);
    mproc_process_t *parent = mproc_parent_process();
    if (parent)
        mproc_process_pid(parent, &ppid);
    printf("%s\n", title);
    printf("process name: %s\n", mproc_process_name(mproc_current_process()));
    printf("parent process: %lld\n", (long long)ppid);
    printf("process id: %lld\n", (long long)pid);
}

static int f(const mproc_args_t *args)
{
    const char *greeting = "", *name = "";
    double delay = 0;
    mproc_args_get_str(args, 0, &greeting);
    mproc_args_get_str(args, 1, &name);
    mproc_args_get_double(args, 2, &delay);
    info("function f");
    example_sleep(delay);
    printf("hello %s %s\n", greeting, name);
    fflush(stdout);
    return 0;
}
MPROC_TARGET(f)

static void report(mproc_process_t *p)
{
    int alive = 0;
    int64_t code = 0;
    mproc_process_is_alive(p, &alive);
    mproc_process_exitcode(p, &code);
    printf("name is %s\n", mproc_process_name(p));
    printf("is_alive is %s\n", py_bool(alive));
    if (code == MPROC_EXITCODE_NONE)
        printf("exitcode is None\n");
    else
        printf("exitcode is %lld\n", (long long)code);
    fflush(stdout);
}

static int fail(const char *what, mproc_status_t st)
{
    fprintf(stderr, "%s: %s (%s)\n", what, mproc_strerror(st), mproc_err_name(st));
    return 1;
}

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_init(argc, argv);
    if (st)
        return fail("mproc_init", st);
    const char *mode = argc > 1 ? argv[1] : "join";
    if (argc > 2 && (st = mproc_set_start_method(strcmp(argv[2], "fork") == 0 ? MPROC_METHOD_FORK
                                                                             : MPROC_METHOD_SPAWN,
                                                 1)) != MPROC_OK)
        return fail("set_start_method", st);
    int quick = strcmp(mode, "join") == 0;

    info("main line");
    mproc_args_t *args;
    mproc_process_t *p;
    mproc_args_create(&args);
    mproc_args_add_str(args, "first");
    mproc_args_add_str(args, "bob");
    mproc_args_add_double(args, quick ? 0.0 : 3.0);
    st = mproc_process_create(&p, f, args, NULL);
    mproc_args_free(args);
    if (st)
        return fail("create", st);
    printf("daemon is %s\n", py_bool(mproc_process_daemon(p)));
    fflush(stdout);
    if ((st = mproc_process_start(p)) != MPROC_OK)
        return fail("start", st);
    st = mproc_process_join(p, quick ? MPROC_FOREVER : 1.0);
    if (st != MPROC_OK && st != MPROC_ETIMEDOUT)
        return fail("join", st);
    report(p);
    if (strcmp(mode, "join1-later") == 0) {
        example_sleep(3.0);
        printf("after 3 more seconds:\n");
        report(p);
    }
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_free(p);
    return 0;
}
