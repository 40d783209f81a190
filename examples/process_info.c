/*
 * Seed 000 (000_1edd454db93966f3.txt), the Process example, line for line:
 *
 *   def info(title):
 *       print(title)
 *       print('module name:', __name__)
 *       print('parent process:', os.getppid())
 *       print('process id:', os.getpid())
 *
 *   def f(name):
 *       print('hello first', name)
 *       info('function f')
 *       time.sleep(5)
 *       print('hello second', name)
 *
 *   if __name__ == '__main__':
 *       info('main line')
 *       p = Process(target=f, args=('bob',))
 *       print("daemon is", p.daemon)
 *       p.start()
 *       p.join()                      # form 1; forms 2 and 3: p.join(1)
 *       print('name is', p.name)
 *       print('is_alive is', p.is_alive())
 *       print('exitcode is', p.exitcode)
 *       # form 3 only:
 *       time.sleep(10)
 *       print('-----------------\nafter 10s')
 *       print('name is', p.name) ...
 *
 * Usage: process_info [join | join1 | join1-later | join1-daemon] [fork | spawn] [quick]
 *   join          form 1: join() waits for the child: is_alive False, exitcode 0
 *   join1         form 2: join(1) times out: is_alive True, exitcode None; main
 *                 returns while the child sleeps, and the process waits for it
 *                 before it ends (the exit rule), so "hello second bob" comes last
 *   join1-later   form 3: as form 2, then looks again after 10 s
 *   join1-daemon  not in the seed: form 2 with daemon=True; a daemonic child is
 *                 terminated when main returns, so "hello second bob" never comes
 *   quick         the sleeps halved (2.5 s and 5 s), for the tests
 */
#include <mproc/mproc.h>
#include <stdio.h>
#include <string.h>

#include "print_line.h"
#include "sleep.h"

static double f_sleep = 5.0;   /* time.sleep(5) in f */
static double later = 10.0;    /* time.sleep(10) in form 3 */

/* A child that main leaves running (forms 2 and 4): the exit rule needs it. */
static mproc_process_t *still_running;

static const char *py_bool(int b)
{
    return b ? "True" : "False";
}

static void info(const char *title)
{
    int64_t ppid = 0, pid = 0;
    mproc_parent_pid(&ppid);
    mproc_process_pid(mproc_current_process(), &pid);
    print_line("%s\n", title);
    /* A C program is one module: Python's name for the main script's. */
    print_line("module name: __main__\n");
    print_line("parent process: %lld\n", (long long)ppid);
    print_line("process id: %lld\n", (long long)pid);
}

static int f(const mproc_args_t *args)
{
    const char *name = "";
    double seconds = 0;
    if (mproc_args_get_str(args, 0, &name) || mproc_args_get_double(args, 1, &seconds))
        return 1;
    print_line("hello first %s\n", name);
    info("function f");
    example_sleep(seconds);
    print_line("hello second %s\n", name);
    return 0;
}
MPROC_TARGET(f)

static void report(mproc_process_t *p)
{
    int alive = 0;
    int64_t code = MPROC_EXITCODE_NONE;
    mproc_process_is_alive(p, &alive);
    mproc_process_exitcode(p, &code);
    print_line("name is %s\n", mproc_process_name(p));
    print_line("is_alive is %s\n", py_bool(alive));
    if (code == MPROC_EXITCODE_NONE)
        print_line("exitcode is None\n");
    else
        print_line("exitcode is %lld\n", (long long)code);
}

static int fail(const char *what, mproc_status_t st)
{
    fprintf(stderr, "%s: %s (%s)\n", what, mproc_strerror(st), mproc_err_name(st));
    return 1;
}

static mproc_status_t options(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "quick") == 0) {
            f_sleep = 2.5;
            later = 5.0;
        } else {
            int use_fork = strcmp(argv[i], "fork") == 0;
            mproc_status_t st =
                mproc_set_start_method(use_fork ? MPROC_METHOD_FORK : MPROC_METHOD_SPAWN, 1);
            if (st)
                return st;
        }
    }
    return MPROC_OK;
}

static mproc_status_t create_f(mproc_process_t **p, int daemon)
{
    mproc_args_t *args = NULL;
    mproc_process_options_t opts = MPROC_PROCESS_OPTIONS_INIT;
    opts.daemon = daemon;
    mproc_status_t st = mproc_args_create(&args);
    if (!st)
        st = mproc_args_add_str(args, "bob");
    if (!st)
        st = mproc_args_add_double(args, f_sleep);
    if (!st)
        st = mproc_process_create(p, f, args, &opts);
    mproc_args_free(args);
    return st;
}

int main(int argc, char **argv)
{
    /* Python prints to a terminal line by line, which is the seed's order; each
     * line flushed whole keeps that order through a pipe too (parent and child
     * write to the same one). Before mproc_init: a spawned child runs in it. */
    print_lines_whole();
    mproc_status_t st = mproc_init(argc, argv);
    if (!st)
        st = options(argc, argv);
    if (st)
        return fail("mproc_init", st);
    const char *form = argc > 1 ? argv[1] : "join";
    int daemon = strcmp(form, "join1-daemon") == 0;

    info("main line");
    mproc_process_t *p = NULL;
    st = create_f(&p, daemon ? 1 : MPROC_DAEMON_INHERIT);
    if (st)
        return fail("create", st);
    print_line("daemon is %s\n", py_bool(mproc_process_daemon(p)));
    st = mproc_process_start(p);
    if (st)
        return fail("start", st);
    st = mproc_process_join(p, strcmp(form, "join") == 0 ? MPROC_FOREVER : 1.0);
    if (st != MPROC_OK && st != MPROC_ETIMEDOUT)
        return fail("join", st);
    report(p);
    if (strcmp(form, "join1-later") == 0) {
        example_sleep(later);
        print_line("-----------------\nafter %gs\n", later);
        report(p);
    }
    if (strcmp(form, "join1") == 0 || daemon) {
        /* As in Python, main just returns: mproc_init's exit handler then
         * joins a non-daemonic child and terminates a daemonic one. */
        still_running = p;
        return 0;
    }
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_free(p);
    return 0;
}
