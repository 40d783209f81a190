/*
 * Names of shared memory outlive their creator unless someone removes them.
 * The first time a process creates a name, it forks a tracker: a process that
 * only reads the names created and removed from a pipe, and when the pipe's
 * write end closes (its creator ended, normally or killed), removes those not
 * removed yet. The write end is this process's alone: a fork child closes
 * its copy (so that the tracker sees its creator's end) and starts its own
 * tracker if it creates names. The tracker ignores SIGINT and SIGTERM (a
 * Ctrl-C to the process group must not stop it before it cleans) and uses
 * only async-signal-safe calls, since the creator may have had threads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os_shm_tracker.h"

#define MAX_NAMES 1024
#define NAME_LEN 256
#define MAX_FD_SWEEP 65536

static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static int tracker_fd = -1;
static int atfork_set;

/* The tracker's table (only the tracker process writes it). */
static char names[MAX_NAMES][NAME_LEN];

/* In a fork child: the parent's tracker is not its own, and the guard may
 * have been held by a thread that does not exist here. */
static void forget_tracker(void)
{
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    if (tracker_fd >= 0)
        close(tracker_fd);
    tracker_fd = -1;
    memcpy(&guard, &fresh, sizeof guard);
}

static void close_others(int keep)
{
#if defined(__linux__) && defined(SYS_close_range)
    if (keep > 3 && syscall(SYS_close_range, 3, keep - 1, 0) == 0 &&
        syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
        return;
#endif
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < MAX_FD_SWEEP
                  ? (int)rl.rlim_cur : MAX_FD_SWEEP;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

static void apply(const char *line, size_t len)
{
    if (len < 2 || len >= NAME_LEN)
        return;
    int free_slot = -1;
    for (int i = 0; i < MAX_NAMES; i++) {
        if (!names[i][0]) {
            if (free_slot < 0)
                free_slot = i;
        } else if (strlen(names[i]) == len - 1 && memcmp(names[i], line + 1, len - 1) == 0) {
            if (line[0] == 'U')
                names[i][0] = '\0';
            return;
        }
    }
    if (line[0] == 'R' && free_slot >= 0) {
        memcpy(names[free_slot], line + 1, len - 1);
        names[free_slot][len - 1] = '\0';
    }
}

static void tracker_main(int rd)
{
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, NULL);
    sigaction(SIGTERM, &ign, NULL);
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3 && null >= 0; fd++)
        dup2(null, fd);
    close_others(rd);
    char buf[4 * NAME_LEN];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(rd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
            apply(start, (size_t)(nl - start));
            start = nl + 1;
        }
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == sizeof buf)
            have = 0; /* a line longer than any name: dropped */
    }
    for (int i = 0; i < MAX_NAMES; i++)
        if (names[i][0])
            shm_unlink(names[i]);
    _exit(0);
}

static void start_tracker(void)
{
    int p[2];
    if (pipe(p) != 0)
        return;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0)
        tracker_main(p[0]);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    tracker_fd = p[1];
    if (!atfork_set && pthread_atfork(NULL, NULL, forget_tracker) == 0)
        atfork_set = 1;
}

void mproc__os_shm_track(const char *name, int created)
{
    char line[NAME_LEN + 2];
    size_t len = strlen(name);
    if (len + 1 >= NAME_LEN)
        return;
    line[0] = created ? 'R' : 'U';
    memcpy(line + 1, name, len);
    line[len + 1] = '\n';
    pthread_mutex_lock(&guard);
    if (tracker_fd < 0 && created)
        start_tracker();
    /* One write of less than PIPE_BUF bytes: whole, never interleaved. */
    if (tracker_fd >= 0) {
        ssize_t n;
        do
            n = write(tracker_fd, line, len + 2);
        while (n < 0 && errno == EINTR);
    }
    pthread_mutex_unlock(&guard);
}
