/*
 * make coverage (MPROC_COVERAGE, gcc --coverage): a fork child starts with
 * its parent's counters, so it clears them, and it writes its own before
 * _exit, which skips the atexit handler that would. Nothing otherwise.
 */
#ifndef MPROC_OS_COVERAGE_H
#define MPROC_OS_COVERAGE_H

#ifdef MPROC_COVERAGE
void __gcov_dump(void);
void __gcov_reset(void);
#define MPROC__OS_COVERAGE_FORKED() __gcov_reset()
#define MPROC__OS_COVERAGE_EXITING() __gcov_dump()
#else
#define MPROC__OS_COVERAGE_FORKED() ((void)0)
#define MPROC__OS_COVERAGE_EXITING() ((void)0)
#endif

#endif
