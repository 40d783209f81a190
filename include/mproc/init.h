/**
 * @file init.h
 * @brief Library start-up and target registration for the spawn start method.
 *
 * A program that uses mproc calls mproc_init() first thing in main(). In a
 * child started with the spawn method (the same executable started again),
 * mproc_init() runs the target the parent asked for and exits the process with
 * the target's exit code: it never returns to main(). In any other process it
 * prepares the library and returns MPROC_OK.
 *
 * A spawned child finds its target again by name. Place MPROC_TARGET(fn) at
 * file scope beside each target function; the registration runs before main().
 * Starting an unregistered target with the spawn method fails in the parent
 * with MPROC_ENOTREGISTERED, before any child exists.
 */
#ifndef MPROC_INIT_H
#define MPROC_INIT_H

#include "args.h"
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A target: the function a child process runs. Its return value is the
 * child's exit code (0 for success; POSIX keeps the low 8 bits). `args` is
 * owned by the library and valid until the target returns.
 */
typedef int (*mproc_target_fn)(const mproc_args_t *args);

/** A registration record; MPROC_TARGET() defines one per target. */
typedef struct mproc_target_entry {
    mproc_target_fn fn;               /**< the target */
    const char *name;                 /**< its name, the same in every process */
    struct mproc_target_entry *next;  /**< owned by the library */
} mproc_target_entry_t;

/**
 * Register `entry` (which must stay alive for the program's lifetime, e.g. a
 * static). Safe before main(); not thread-safe after it. Registering the same
 * function twice is harmless. A spawned child knows only the targets
 * registered before its mproc_init() runs: register before main() (as
 * MPROC_TARGET does), or starting the target fails with MPROC_ENOTREGISTERED.
 * Errors: MPROC_EINVAL (NULL entry, fn or name), MPROC_EEXIST (another
 * function already uses that name).
 */
MPROC_API mproc_status_t mproc_register_target(mproc_target_entry_t *entry);

/**
 * Initialise the library. Call it first thing in main(), with main's argc and
 * argv (not modified). In a spawned child it runs the target and exits; it
 * returns only in processes that were not spawned by mproc. Calling it again
 * returns MPROC_OK. It registers Python's exit rule with atexit(): when main
 * returns or exit() is called, stdio is flushed, daemonic children are
 * terminated and the other children are joined before the process ends.
 * Errors: MPROC_ENOMEM, MPROC_EOS (APR could not start).
 */
MPROC_API mproc_status_t mproc_init(int argc, char **argv);

/*
 * A process started with mproc's child flag (`--mproc-child`) becomes a child
 * only when its channel proves it comes from its mproc parent: on POSIX a
 * socket whose peer is the parent process with this process's effective user
 * and group, on Windows pipes created by the parent process; and the parent
 * must answer the child's fresh random challenge in a well-formed message
 * within 60 seconds. Otherwise mproc_init() prints one line on stderr and ends
 * the process with one of these exit codes, before any target runs.
 */
/** The command line after the child flag is malformed. */
#define MPROC_EXIT_BOOT_ARGV 80
/** The descriptor or handles are not a channel from the parent process of this user. */
#define MPROC_EXIT_BOOT_CHANNEL 81
/** No complete bootstrap message arrived in time, or the parent closed the channel. */
#define MPROC_EXIT_BOOT_TIMEOUT 82
/** The bootstrap message is malformed (a bad field, a string without its NUL, ...). */
#define MPROC_EXIT_BOOT_MESSAGE 83
/** The message does not answer this child's random challenge, or names another parent. */
#define MPROC_EXIT_BOOT_TOKEN 84
/** The requested target is not registered in this executable. */
#define MPROC_EXIT_BOOT_TARGET 85
/** The OS failed the bootstrap (no memory, no random bytes). */
#define MPROC_EXIT_BOOT_FAILED 86

#if defined(_MSC_VER)
/* MSVC has no constructor attribute: a pointer in .CRT$XCU is run by the CRT
 * before main; /include keeps the linker from dropping it. */
#pragma section(".CRT$XCU", read)
#if defined(_M_IX86)
#define MPROC__LINKER_SYMBOL(s) "_" #s
#else
#define MPROC__LINKER_SYMBOL(s) #s
#endif
#define MPROC__CONSTRUCTOR(f)                                                     \
    static void f(void);                                                          \
    __declspec(allocate(".CRT$XCU")) void (*f##_ptr)(void) = f;                   \
    __pragma(comment(linker, "/include:" MPROC__LINKER_SYMBOL(f##_ptr))) static void f(void)
#else
#define MPROC__CONSTRUCTOR(f) __attribute__((constructor)) static void f(void)
#endif

/**
 * Register target function `fn` under its own name. Place it at file scope,
 * after the function's definition or declaration. Each target name must be
 * unique in the program. Its symbols never clash with MPROC_TASK()'s: a
 * target `task_x` and a task `x` may share a file.
 */
#define MPROC_TARGET(fn)                                                          \
    static mproc_target_entry_t mproc__target_entry_##fn = {fn, #fn, 0};          \
    MPROC__CONSTRUCTOR(mproc__register_target_##fn)                               \
    {                                                                             \
        (void)mproc_register_target(&mproc__target_entry_##fn);                  \
    }

#ifdef __cplusplus
}
#endif

#endif
