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
#ifndef MPROC_MPROC_H
#define MPROC_MPROC_H

#include "args.h"
#include "connection.h"
#include "context.h"
#include "export.h"
#include "init.h"
#include "process.h"
#include "status.h"
#include "timeout.h"
#include "version.h"

#endif
