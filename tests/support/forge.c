#include "forge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
#endif

static char exe[4096];

void forge_set_exe(const char *argv0)
{
#if defined(_WIN32)
    (void)argv0;
    GetModuleFileNameA(NULL, exe, (DWORD)sizeof exe);
#else
    snprintf(exe, sizeof exe, "%s", argv0);
#endif
}

#if !defined(_WIN32)

static pid_t spawn_child(char **argv, int fd3, int in, int out, int err)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = 0;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    if (fd3 >= 0)
        posix_spawn_file_actions_adddup2(&fa, fd3, 3);
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    return pid;
}

void forge_start(forge_t *f, forge_channel_t channel, const char *const *words)
{
    int in[2], out[2], err[2], sv[2] = {-1, -1};
    char *argv[8] = {exe, (char *)"--mproc-child", NULL};
    size_t n = 2;
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    for (int i = 0; i < 2; i++) {
        fcntl(in[i], F_SETFD, FD_CLOEXEC);
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
        fcntl(err[i], F_SETFD, FD_CLOEXEC);
    }
    if (channel == FORGE_NOT_SOCKET)
        assert_int_equal(pipe(sv), 0);
    else if (channel != FORGE_NONE)
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    if (channel == FORGE_NONE) {
        for (; words && *words && n < 7; words++)
            argv[n++] = (char *)*words;
    } else {
        argv[n++] = (char *)"3";
    }
    argv[n] = NULL;
    memset(f, 0, sizeof *f);
    f->rd = f->wr = sv[0];
    if (channel == FORGE_FOREIGN) {
        /* The socket is this process's making, but the child's parent is another. */
        pid_t mid = fork();
        assert_true(mid >= 0);
        if (mid == 0) {
            int status = 0;
            pid_t c = spawn_child(argv, sv[1], in[0], out[1], err[1]);
            while (waitpid(c, &status, 0) < 0 && errno == EINTR) {
            }
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 255);
        }
        f->proc = mid;
    } else {
        f->proc = spawn_child(argv, sv[1], in[0], out[1], err[1]);
    }
    if (sv[1] >= 0)
        close(sv[1]);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    f->in = in[1];
    f->out = out[0];
    f->err = err[0];
}

static size_t drain(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    char tmp[512];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && buf && got + 1 < cap; i++)
            buf[got++] = tmp[i];
        if (!buf)
            got += (size_t)n;
    }
    if (buf && cap)
        buf[got] = '\0';
    return got;
}

int forge_finish(forge_t *f, char *err_text, size_t cap, size_t *out_bytes)
{
    int status = 0;
    double end = test_now() + 30.0;
    pid_t r;
    while ((r = waitpid((pid_t)f->proc, &status, WNOHANG)) == 0 && test_now() < end)
        test_sleep(0.01);
    if (r == 0) {
        kill((pid_t)f->proc, SIGKILL);
        waitpid((pid_t)f->proc, &status, 0);
        fail_msg("the forged child did not end within 30 s");
    }
    forge_close_channel(f);
    close((int)f->in);
    drain((int)f->err, err_text, cap);
    *out_bytes = drain((int)f->out, NULL, 0);
    close((int)f->err);
    close((int)f->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void forge_close_channel(forge_t *f)
{
    if (f->rd >= 0)
        close((int)f->rd);
    f->rd = f->wr = -1;
}

#else /* _WIN32 */

static void inheritable_pipe(HANDLE *rd, HANDLE *wr, int child_reads)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    assert_true(CreatePipe(rd, wr, &sa, 0));
    /* This side's end must not be inherited. */
    SetHandleInformation(child_reads ? *wr : *rd, HANDLE_FLAG_INHERIT, 0);
}

void forge_start(forge_t *f, forge_channel_t channel, const char *const *words)
{
    HANDLE in_r, in_w, out_r, out_w, err_r, err_w, c_in = NULL, p_out = NULL, p_in = NULL,
                                                    c_out = NULL, parent = NULL;
    char cmd[8192];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    inheritable_pipe(&in_r, &in_w, 1);
    inheritable_pipe(&out_r, &out_w, 0);
    inheritable_pipe(&err_r, &err_w, 0);
    memset(f, 0, sizeof *f);
    snprintf(cmd, sizeof cmd, "\"%s\" --mproc-child", exe);
    if (channel == FORGE_NONE) {
        for (; words && *words; words++) {
            strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
            strncat(cmd, *words, sizeof cmd - strlen(cmd) - 1);
        }
    } else {
        inheritable_pipe(&c_in, &p_out, 1);
        inheritable_pipe(&p_in, &c_out, 0);
        DWORD access = SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION;
        if (channel == FORGE_NOT_SOCKET) {
            /* An event where the pipes go: a handle, but not a pipe. */
            SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
            CloseHandle(c_in);
            c_in = CreateEventA(&sa, TRUE, FALSE, NULL);
        }
        HANDLE who = GetCurrentProcess();
        if (channel == FORGE_FOREIGN) {
            /* The parent handle names a process that is not the child's parent. */
            STARTUPINFOA s2;
            PROCESS_INFORMATION p2;
            char cmd2[] = "cmd.exe /c exit 0";
            memset(&s2, 0, sizeof s2);
            s2.cb = sizeof s2;
            assert_true(CreateProcessA(NULL, cmd2, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL,
                                       NULL, &s2, &p2));
            who = p2.hProcess;
            CloseHandle(p2.hThread);
        }
        assert_true(DuplicateHandle(GetCurrentProcess(), who, GetCurrentProcess(), &parent,
                                    access, TRUE, 0));
        if (who != GetCurrentProcess()) {
            TerminateProcess(who, 0);
            CloseHandle(who);
        }
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %llu %llu %llu",
                 (unsigned long long)(uintptr_t)c_in, (unsigned long long)(uintptr_t)c_out,
                 (unsigned long long)(uintptr_t)parent);
    }
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in_r;
    si.hStdOutput = out_w;
    si.hStdError = err_w;
    assert_true(CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
    CloseHandle(pi.hThread);
    CloseHandle(in_r);
    CloseHandle(out_w);
    CloseHandle(err_w);
    if (c_in) CloseHandle(c_in);
    if (c_out) CloseHandle(c_out);
    if (parent) CloseHandle(parent);
    f->proc = (intptr_t)pi.hProcess;
    f->rd = (intptr_t)p_in;
    f->wr = (intptr_t)p_out;
    f->in = (intptr_t)in_w;
    f->out = (intptr_t)out_r;
    f->err = (intptr_t)err_r;
}

static size_t drain(HANDLE h, char *buf, size_t cap)
{
    size_t got = 0;
    char tmp[512];
    DWORD n;
    while (ReadFile(h, tmp, sizeof tmp, &n, NULL) && n > 0) {
        for (DWORD i = 0; i < n && buf && got + 1 < cap; i++)
            buf[got++] = tmp[i];
        if (!buf)
            got += n;
    }
    if (buf && cap)
        buf[got] = '\0';
    return got;
}

int forge_finish(forge_t *f, char *err_text, size_t cap, size_t *out_bytes)
{
    DWORD code = 0;
    if (WaitForSingleObject((HANDLE)f->proc, 30000) != WAIT_OBJECT_0) {
        TerminateProcess((HANDLE)f->proc, 255);
        fail_msg("the forged child did not end within 30 s");
    }
    GetExitCodeProcess((HANDLE)f->proc, &code);
    forge_close_channel(f);
    CloseHandle((HANDLE)f->in);
    drain((HANDLE)f->err, err_text, cap);
    *out_bytes = drain((HANDLE)f->out, NULL, 0);
    CloseHandle((HANDLE)f->err);
    CloseHandle((HANDLE)f->out);
    CloseHandle((HANDLE)f->proc);
    return (int)code;
}

void forge_close_channel(forge_t *f)
{
    if (f->rd)
        CloseHandle((HANDLE)f->rd);
    if (f->wr)
        CloseHandle((HANDLE)f->wr);
    f->rd = f->wr = 0;
}

#endif
