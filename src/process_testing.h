/*
 * Test hooks of processes, in builds with fault injection only (fault.h):
 * states that would take too long to reach by use.
 */
#ifndef MPROC_PROCESS_TESTING_H
#define MPROC_PROCESS_TESTING_H

#include <stdint.h>

#ifdef MPROC_FAULT_INJECTION
/* Number the next child process object created in this process `n` (its
 * name "Process-n"), as if n - 1 had been created already. */
void mproc__process_test_number_children_from(uint64_t n);
#endif

#endif
