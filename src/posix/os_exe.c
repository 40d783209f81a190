#include "os_exe.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef MPROC_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#if defined(__APPLE__)
#include <limits.h>
#include <mach-o/dyld.h>
#endif

const char *mproc__os_exe_path(void)
{
#if defined(__linux__)
#ifdef MPROC_HAVE_VALGRIND_H
    /* Under valgrind /proc/self/exe is valgrind's tool; readlink tells the
     * program's path (valgrind answers it for the program). */
    static char path[4096];
    if (RUNNING_ON_VALGRIND) {
        ssize_t n = path[0] ? 0 : readlink("/proc/self/exe", path, sizeof path - 1);
        if (n < 0 || n >= (ssize_t)sizeof path - 1)
            return NULL;
        return path;
    }
#endif
    /* The running image itself, even if its file was renamed or replaced since. */
    return "/proc/self/exe";
#elif defined(__APPLE__)
    static char path[PATH_MAX];
    uint32_t size = sizeof path;
    if (!path[0] && _NSGetExecutablePath(path, &size) != 0)
        return NULL;
    return path;
#else
    return NULL;
#endif
}
