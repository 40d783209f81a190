#ifndef MPROC_POSIX_OS_EXE_H
#define MPROC_POSIX_OS_EXE_H

/* Path that starts this executable again; static storage, NULL if unknown. */
const char *mproc__os_exe_path(void);

#endif
