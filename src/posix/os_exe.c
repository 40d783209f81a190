#include "os_exe.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(__APPLE__)
#include <limits.h>
#include <mach-o/dyld.h>
#endif

const char *mproc__os_exe_path(void)
{
#if defined(__linux__)
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
