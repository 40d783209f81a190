/**
 * @file mproc.h
 * @brief Everything of mproc: Python's multiprocessing model for C.
 *
 * @code
 * static int f(const mproc_args_t *args) { ...; return 0; }
 * MPROC_TARGET(f)
 *
 * int main(int argc, char **argv) {
 *     mproc_init(argc, argv);      // a spawned child runs f here and exits
 *     mproc_process_t *p;
 *     mproc_process_create(&p, f, NULL, NULL);
 *     mproc_process_start(p);
 *     mproc_process_join(p, MPROC_FOREVER);
 *     mproc_process_free(p);
 * }
 * @endcode
 */
/**
 * @mainpage mproc: Python's multiprocessing model for C
 *
 * Include mproc.h for everything. The API by header:
 * - init.h: mproc_init() and MPROC_TARGET(), which a program needs first;
 * - process.h: processes (Python's Process), current and parent process,
 *   active children, cpu_count, and mproc_wait() on sentinels;
 * - args.h: the typed argument lists a target receives;
 * - connection.h: pipes and connection ends (Python's Pipe());
 * - context.h: start methods and contexts (fork, spawn);
 * - status.h: the status codes every fallible call returns;
 * - timeout.h: the timeout convention of every blocking call;
 * - version.h and export.h: version and symbol visibility.
 *
 * Conventions: objects are opaque, created by `*_create` and released by
 * `*_free`; a fallible call returns ::mproc_status_t, MPROC_OK or a negative
 * `MPROC_E*` code; a blocking call takes a timeout in seconds, with
 * ::MPROC_FOREVER for Python's `None`.
 *
 * Coming from Python: docs/python-guide.md in the source tree maps each
 * `multiprocessing` call to its mproc call. Building against an installed
 * mproc (CMake, pkg-config, vcpkg, conan): docs/packaging.md.
 */
#ifndef MPROC_MPROC_H
#define MPROC_MPROC_H

#include "args.h"
#include "connection.h"
#include "context.h"
#include "export.h"
#include "init.h"
#include "pool.h"
#include "process.h"
#include "queue.h"
#include "shared.h"
#include "status.h"
#include "sync.h"
#include "timeout.h"
#include "version.h"

#endif
