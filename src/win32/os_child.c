#include "os_error.h"

#include <ntsecapi.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "platform.h"

/* Private to this file: the command line spawn writes and spawned_boot reads. */
#define CHILD_FLAG "--mproc-child"
#define CHILD_FLAG_W L"--mproc-child"
#define CHILD_ARGC 5 /* exe, flag, from_parent, to_parent, parent_sentinel */

/* The exit code Python's multiprocessing gives a terminated child; exitcode
 * reports it as -SIGTERM like on POSIX. */
#define TERMINATE_CODE 0x10000u
#define SIGTERM_EXITCODE (-15)

/* ---- the job that ends kill_with_parent children with this process ------- */

static INIT_ONCE job_once = INIT_ONCE_STATIC_INIT;
static HANDLE job;

static BOOL CALLBACK create_job(PINIT_ONCE once, PVOID err_out, PVOID *ctx)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    HANDLE h;
    (void)once;
    (void)ctx;
    /* Never closed and never inherited: the kernel closes it when this
     * process ends, however it ends, and that kills the job's processes. */
    h = CreateJobObjectW(NULL, NULL);
    if (h == NULL) {
        *(DWORD *)err_out = GetLastError();
        return FALSE;
    }
    memset(&info, 0, sizeof info);
    /* SILENT_BREAKAWAY_OK: only the children assigned here die with us, not
     * their own children (as on POSIX); it also lets a child put its own
     * children in its own job where jobs do not nest (Windows 7). */
    info.BasicLimitInformation.LimitFlags =
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK;
    if (!SetInformationJobObject(h, JobObjectExtendedLimitInformation, &info, (DWORD)sizeof info)) {
        *(DWORD *)err_out = GetLastError();
        CloseHandle(h);
        return FALSE;
    }
    job = h;
    return TRUE;
}

/* A failed creation is not remembered: the next spawn tries again. */
static DWORD get_job(HANDLE *out)
{
    DWORD err = ERROR_SUCCESS;
    if (!InitOnceExecuteOnce(&job_once, create_job, &err, NULL))
        return err != ERROR_SUCCESS ? err : GetLastError();
    *out = job;
    return ERROR_SUCCESS;
}

/* ---- spawn ------------------------------------------------------------------ */

static DWORD exe_path(wchar_t **out)
{
    DWORD cap = MAX_PATH;
    for (;;) {
        DWORD n;
        wchar_t *buf = (wchar_t *)malloc(cap * sizeof(wchar_t));
        if (buf == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        n = GetModuleFileNameW(NULL, buf, cap);
        if (n == 0) {
            DWORD err = GetLastError();
            free(buf);
            return err;
        }
        if (n < cap) { /* n == cap means truncated */
            *out = buf;
            return ERROR_SUCCESS;
        }
        free(buf);
        if (cap >= 32768)
            return ERROR_FILENAME_EXCED_RANGE;
        cap *= 2;
    }
}

static wchar_t *put_handle(wchar_t *p, HANDLE h)
{
    wchar_t digits[24];
    size_t n = 0;
    uintptr_t v = (uintptr_t)h;
    do {
        digits[n++] = (wchar_t)(L'0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    *p++ = L' ';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* "<exe>" --mproc-child <from_parent> <to_parent> <parent_sentinel> */
static wchar_t *command_line(const wchar_t *exe, HANDLE from_parent, HANDLE to_parent,
                             HANDLE parent_sentinel)
{
    size_t exe_len = wcslen(exe);
    size_t flag_len = wcslen(CHILD_FLAG_W);
    wchar_t *cmd = (wchar_t *)malloc((exe_len + flag_len + 3 * 24 + 8) * sizeof(wchar_t));
    wchar_t *p = cmd;
    if (cmd == NULL)
        return NULL;
    /* A Windows path cannot hold a '"', so plain quoting is exact. */
    *p++ = L'"';
    memcpy(p, exe, exe_len * sizeof(wchar_t));
    p += exe_len;
    *p++ = L'"';
    *p++ = L' ';
    memcpy(p, CHILD_FLAG_W, flag_len * sizeof(wchar_t));
    p += flag_len;
    p = put_handle(p, from_parent);
    p = put_handle(p, to_parent);
    p = put_handle(p, parent_sentinel);
    *p = L'\0';
    return cmd;
}

/* Windows 7 console handles are pseudo handles (low two bits set) that a
 * handle list refuses; they reach the child through the console instead. */
static int is_console_pseudo(HANDLE h)
{
    return ((uintptr_t)h & 3) == 3 && GetFileType(h) == FILE_TYPE_CHAR;
}

static DWORD inheritable_dup(HANDLE h, DWORD access, DWORD options, HANDLE *out)
{
    HANDLE self = GetCurrentProcess();
    if (!DuplicateHandle(self, h, self, out, access, TRUE, options)) {
        *out = NULL;
        return GetLastError();
    }
    return ERROR_SUCCESS;
}

/* A pipe between this process and a child, born non-inheritable; only the
 * child's end gets an inheritable copy, which replaces the original
 * (DUPLICATE_CLOSE_SOURCE). `child_reads`: the child reads, this process writes. */
static DWORD child_pipe(int child_reads, HANDLE *mine, HANDLE *theirs)
{
    HANDLE r, w;
    DWORD err;
    if (!CreatePipe(&r, &w, NULL, 0))
        return GetLastError();
    *mine = child_reads ? w : r;
    err = inheritable_dup(child_reads ? r : w, 0, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE,
                          theirs);
    return err;
}

/* What a spawn makes before CreateProcessW; spawn_parts_free releases it.
 * dups holds every inheritable duplicate, which this process closes once the
 * child has its copies: [0] the child's read end, [1] its write end, [2] the
 * parent sentinel, [3 + i] req->pass[i], then the standard handles. list is
 * the handle list: the same minus console pseudo handles. */
typedef struct spawn_parts {
    HANDLE to_child, from_child; /* this process's ends of the two pipes */
    HANDLE *dups, *list;
    size_t ndups, nlist;
    HANDLE std_dup[3];
    int std_any;
    wchar_t *exe, *cmd;
    LPPROC_THREAD_ATTRIBUTE_LIST attrs;
    int attrs_ready;
} spawn_parts_t;

#define DUP_CHILD_IN 0
#define DUP_CHILD_OUT 1
#define DUP_SENTINEL 2
#define DUP_PASSED 3

static void spawn_parts_free(spawn_parts_t *s)
{
    size_t i;
    if (s->attrs_ready)
        DeleteProcThreadAttributeList(s->attrs);
    free(s->attrs);
    free(s->cmd);
    free(s->exe);
    for (i = 0; i < s->ndups; i++)
        CloseHandle(s->dups[i]);
    if (s->to_child != NULL)
        CloseHandle(s->to_child);
    if (s->from_child != NULL)
        CloseHandle(s->from_child);
    free(s->dups);
    free(s->list);
}

static mproc_status_t check_spawn_req(const mproc__os_spawn_req_t *req,
                                      const mproc__os_child_t *child,
                                      const mproc__os_handle_t *child_values)
{
    size_t i;
    if (req == NULL || child == NULL ||
        (req->npass > 0 && (req->pass == NULL || child_values == NULL)))
        return MPROC_EINVAL;
    if (req->npass > SIZE_MAX / sizeof(HANDLE) - (DUP_PASSED + 3))
        return MPROC_EINVAL;
    for (i = 0; i < req->npass; i++) {
        /* -1 is also GetCurrentProcess(): duplicating it would hand the
         * child full access to this process. */
        if (req->pass[i] == MPROC__OS_NO_HANDLE)
            return MPROC_EINVAL;
    }
    return MPROC_OK;
}

/* The bootstrap pipes, the parent sentinel and the passed handles. */
static DWORD make_inherited(spawn_parts_t *s, const mproc__os_spawn_req_t *req)
{
    size_t cap = DUP_PASSED + req->npass + 3, i;
    HANDLE d;
    DWORD err;
    s->dups = (HANDLE *)malloc(cap * sizeof(HANDLE));
    s->list = (HANDLE *)malloc(cap * sizeof(HANDLE));
    if (s->dups == NULL || s->list == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    err = child_pipe(1, &s->to_child, &d);
    if (err != ERROR_SUCCESS)
        return err;
    s->dups[s->ndups++] = d;
    err = child_pipe(0, &s->from_child, &d);
    if (err != ERROR_SUCCESS)
        return err;
    s->dups[s->ndups++] = d;
    /* The child can wait for this process and learn its id (to check that
     * the handle is its parent's), nothing more. */
    err = inheritable_dup(GetCurrentProcess(), SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, 0,
                          &d);
    if (err != ERROR_SUCCESS)
        return err;
    s->dups[s->ndups++] = d;
    for (i = 0; i < req->npass; i++) {
        err = inheritable_dup((HANDLE)req->pass[i], 0, DUPLICATE_SAME_ACCESS, &d);
        if (err != ERROR_SUCCESS)
            return err;
        s->dups[s->ndups++] = d;
    }
    memcpy(s->list, s->dups, s->ndups * sizeof(HANDLE));
    s->nlist = s->ndups;
    return ERROR_SUCCESS;
}

/* Standard handles are a courtesy: missing (NULL with no console, or
 * INVALID_HANDLE_VALUE) or not duplicable ones are left out, not errors. */
static void add_std_handles(spawn_parts_t *s)
{
    static const DWORD std_ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    size_t i;
    for (i = 0; i < 3; i++) {
        HANDLE h = GetStdHandle(std_ids[i]);
        if (h == NULL || h == INVALID_HANDLE_VALUE)
            continue;
        if (inheritable_dup(h, 0, DUPLICATE_SAME_ACCESS, &s->std_dup[i]) != ERROR_SUCCESS)
            continue;
        s->std_any = 1;
        s->dups[s->ndups++] = s->std_dup[i];
        if (!is_console_pseudo(s->std_dup[i]))
            s->list[s->nlist++] = s->std_dup[i];
    }
}

/* The attribute list with the handle list, which keeps any other inheritable
 * handle of this process (made by other code or other threads) out of the child. */
static DWORD make_attrs(spawn_parts_t *s)
{
    SIZE_T size = 0;
    if (!InitializeProcThreadAttributeList(NULL, 1, 0, &size) &&
        GetLastError() != ERROR_INSUFFICIENT_BUFFER)
        return GetLastError();
    s->attrs = (LPPROC_THREAD_ATTRIBUTE_LIST)malloc(size);
    if (s->attrs == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!InitializeProcThreadAttributeList(s->attrs, 1, 0, &size))
        return GetLastError();
    s->attrs_ready = 1;
    if (!UpdateProcThreadAttribute(s->attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, s->list,
                                   s->nlist * sizeof(HANDLE), NULL, NULL))
        return GetLastError();
    return ERROR_SUCCESS;
}

/* CreateProcessW calls for one start that failed with ERROR_INTERNAL_ERROR. */
#define CREATE_ATTEMPTS 3

/* A kill_with_parent child starts suspended, so that it is in the job before
 * it runs a single instruction: no moment where it could outlive us. Any
 * other starts at once (suspending and resuming cost time under Wine). */
static DWORD create(spawn_parts_t *s, int suspended, PROCESS_INFORMATION *pi)
{
    STARTUPINFOEXW si;
    DWORD flags = EXTENDED_STARTUPINFO_PRESENT | (suspended ? CREATE_SUSPENDED : 0);
    DWORD err = exe_path(&s->exe);
    if (err != ERROR_SUCCESS)
        return err;
    s->cmd = command_line(s->exe, s->dups[DUP_CHILD_IN], s->dups[DUP_CHILD_OUT],
                          s->dups[DUP_SENTINEL]);
    if (s->cmd == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = (DWORD)sizeof si;
    si.lpAttributeList = s->attrs;
    if (s->std_any) {
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = s->std_dup[0];
        si.StartupInfo.hStdOutput = s->std_dup[1];
        si.StartupInfo.hStdError = s->std_dup[2];
    }
    /* Under Wine about one start in a few thousand fails with
     * ERROR_INTERNAL_ERROR (make bench's start+join hit it) while the starts
     * around it succeed: no process was made, so trying again is safe (here
     * and on Windows) and spares the caller a spurious MPROC_EOS. */
    for (int attempt = 1;; attempt++) {
        if (CreateProcessW(s->exe, s->cmd, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo,
                           pi))
            return ERROR_SUCCESS;
        err = GetLastError();
        if (err != ERROR_INTERNAL_ERROR || attempt == CREATE_ATTEMPTS)
            return err;
    }
}

/* A suspended kill_with_parent child: into the job, then running. */
static DWORD enter_job(const PROCESS_INFORMATION *pi)
{
    HANDLE j = NULL;
    DWORD err = get_job(&j);
    if (err != ERROR_SUCCESS)
        return err;
    if (!AssignProcessToJobObject(j, pi->hProcess))
        return GetLastError();
    if (ResumeThread(pi->hThread) == (DWORD)-1)
        return GetLastError();
    return ERROR_SUCCESS;
}

static DWORD start_child(spawn_parts_t *s, const mproc__os_spawn_req_t *req,
                         PROCESS_INFORMATION *pi)
{
    DWORD err = make_inherited(s, req);
    if (err != ERROR_SUCCESS)
        return err;
    add_std_handles(s);
    err = make_attrs(s);
    if (err == ERROR_SUCCESS)
        err = create(s, req->kill_with_parent, pi);
    if (err != ERROR_SUCCESS)
        return err;
    if (req->kill_with_parent)
        err = enter_job(pi);
    if (err != ERROR_SUCCESS)
        TerminateProcess(pi->hProcess, 1);
    CloseHandle(pi->hThread);
    if (err != ERROR_SUCCESS)
        CloseHandle(pi->hProcess);
    return err;
}

mproc_status_t mproc__os_spawn(const mproc__os_spawn_req_t *req, mproc__os_child_t *child,
                               mproc__os_handle_t *child_values)
{
    spawn_parts_t s;
    PROCESS_INFORMATION pi;
    size_t i;
    DWORD err;
    mproc_status_t st = check_spawn_req(req, child, child_values);
    if (st != MPROC_OK)
        return st;
    memset(&s, 0, sizeof s);
    memset(&pi, 0, sizeof pi);
    err = start_child(&s, req, &pi);
    if (err == ERROR_SUCCESS) {
        for (i = 0; i < req->npass; i++)
            child_values[i] = (mproc__os_handle_t)s.dups[DUP_PASSED + i];
        child->pid = (int64_t)pi.dwProcessId;
        child->process = (mproc__os_handle_t)pi.hProcess;
        child->sentinel = (mproc__os_handle_t)pi.hProcess;
        child->to_child = (mproc__os_handle_t)s.to_child;
        child->from_child = (mproc__os_handle_t)s.from_child;
        child->reaped = 0;
        child->raw_status = 0;
        s.to_child = s.from_child = NULL;
    }
    spawn_parts_free(&s);
    return err == ERROR_SUCCESS ? MPROC_OK : mproc__os_status_from_win32(err);
}

/* ---- the child's side of the command line ------------------------------------- */

static int parse_handle(const char *s, mproc__os_handle_t *out)
{
    uintptr_t v = 0;
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > ((uintptr_t)INTPTR_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uintptr_t)(*s - '0');
    }
    *out = (mproc__os_handle_t)v;
    return 1;
}

/* The process that created this one (0 when unknown). */
static DWORD creator_pid(void)
{
    int64_t parent = mproc__os_getppid();
    return parent > 0 && parent <= (int64_t)MAXDWORD ? (DWORD)parent : 0;
}

static int is_std_handle(HANDLE h)
{
    return h == GetStdHandle(STD_INPUT_HANDLE) || h == GetStdHandle(STD_OUTPUT_HANDLE) ||
           h == GetStdHandle(STD_ERROR_HANDLE);
}

/* A pipe this process holds, created by process `pid` (anonymous pipes are
 * named pipes whose server end's creator the OS records). */
static int pipe_from(HANDLE h, DWORD pid)
{
    ULONG server = 0;
    return !is_std_handle(h) && GetFileType(h) == FILE_TYPE_PIPE &&
           GetNamedPipeServerProcessId(h, &server) && server == pid;
}

/* The parent's checks: NULL when the handles are the parent's, else why not. */
static const char *check_channel(const mproc__os_boot_t *b, DWORD parent)
{
    if (parent == 0)
        return "the parent process cannot be identified";
    if (!pipe_from((HANDLE)b->from_parent, parent) || !pipe_from((HANDLE)b->to_parent, parent))
        return "the bootstrap handles are not pipes from the parent process";
    if (GetProcessId((HANDLE)b->parent_sentinel) != parent)
        return "the parent handle does not name the parent process";
    return NULL;
}

mproc__boot_check_t mproc__os_spawned_boot(int argc, char **argv, mproc__os_boot_t *boot,
                                           const char **why)
{
    mproc__os_boot_t b;
    DWORD parent;
    *why = NULL;
    if (argc < 2 || argv == NULL || argv[1] == NULL || strcmp(argv[1], CHILD_FLAG) != 0)
        return MPROC__BOOT_NONE;
    if (argc != CHILD_ARGC || !parse_handle(argv[2], &b.from_parent) ||
        !parse_handle(argv[3], &b.to_parent) || !parse_handle(argv[4], &b.parent_sentinel)) {
        *why = "usage: " CHILD_FLAG " <from_parent> <to_parent> <parent> (handle numbers)";
        return MPROC__BOOT_BAD_ARGV;
    }
    parent = creator_pid();
    *why = check_channel(&b, parent);
    if (*why != NULL)
        return MPROC__BOOT_BAD_CHANNEL;
    b.parent_pid = (int64_t)parent;
    *boot = b;
    return MPROC__BOOT_CHILD;
}

mproc_status_t mproc__os_random(void *buf, size_t len)
{
    unsigned char *p = (unsigned char *)buf;
    while (len > 0) {
        ULONG n = len > 0x10000u ? 0x10000u : (ULONG)len;
        if (!RtlGenRandom(p, n))
            return MPROC_EOS;
        p += n;
        len -= n;
    }
    return MPROC_OK;
}

mproc_status_t mproc__os_fork(mproc__os_child_t *child, mproc__os_boot_t *boot, int *is_child)
{
    (void)child;
    (void)boot;
    if (is_child != NULL)
        *is_child = 0;
    return MPROC_ENOTSUP;
}

/* ---- the parent's view of a child ------------------------------------------- */

/* 1 when there is nothing to do with the child, *st then being the answer:
 * MPROC_OK once it was reaped, MPROC_EINVAL without a child or a process
 * handle (-1 is also GetCurrentProcess(): a wait on it would never end, and
 * terminating it would end this process). */
static int nothing_to_do(const mproc__os_child_t *child, mproc_status_t *st)
{
    if (child != NULL && !child->reaped && child->process != MPROC__OS_NO_HANDLE)
        return 0;
    *st = child != NULL && child->reaped ? MPROC_OK : MPROC_EINVAL;
    return 1;
}

mproc_status_t mproc__os_child_sentinel(mproc__os_child_t *child, mproc__os_handle_t *out)
{
    *out = child->sentinel; /* the process handle, from the start */
    return MPROC_OK;
}

mproc_status_t mproc__os_child_wait(mproc__os_child_t *child, double deadline)
{
    DWORD code;
    mproc_status_t st;
    if (nothing_to_do(child, &st))
        return st;
    st = mproc__os_wait_object((HANDLE)child->process, deadline);
    if (st != MPROC_OK)
        return st;
    if (!GetExitCodeProcess((HANDLE)child->process, &code))
        return mproc__os_status_from_win32(GetLastError());
    child->raw_status = (int64_t)code;
    child->reaped = 1;
    return MPROC_OK;
}

mproc_status_t mproc__os_child_signal(mproc__os_child_t *child, int force)
{
    DWORD err;
    mproc_status_t st;
    (void)force; /* Windows has no polite request to end a process */
    if (nothing_to_do(child, &st))
        return st;
    if (TerminateProcess((HANDLE)child->process, TERMINATE_CODE))
        return MPROC_OK;
    err = GetLastError();
    /* An ended process refuses with ERROR_ACCESS_DENIED; that is not a failure. */
    if (WaitForSingleObject((HANDLE)child->process, 0) == WAIT_OBJECT_0)
        return MPROC_OK;
    return mproc__os_status_from_win32(err);
}

int64_t mproc__os_exitcode(int64_t raw_status)
{
    if (raw_status == (int64_t)TERMINATE_CODE)
        return SIGTERM_EXITCODE;
    /* As Python: the DWORD exit code unsigned, so 0xC0000005 stays positive. */
    return (int64_t)(uint32_t)raw_status;
}

void mproc__os_child_release(mproc__os_child_t *child)
{
    if (child == NULL)
        return;
    /* On Windows the sentinel is the process handle itself: close it once. */
    if (child->sentinel != MPROC__OS_NO_HANDLE && child->sentinel != child->process)
        CloseHandle((HANDLE)child->sentinel);
    mproc__os_close(child->process);
    mproc__os_close(child->to_child);
    mproc__os_close(child->from_child);
    child->sentinel = child->process = MPROC__OS_NO_HANDLE;
    child->to_child = child->from_child = MPROC__OS_NO_HANDLE;
}

/* ---- in the child ----------------------------------------------------------- */

static DWORD WINAPI watch_parent_thread(LPVOID sentinel)
{
    if (WaitForSingleObject((HANDLE)sentinel, INFINITE) == WAIT_OBJECT_0)
        TerminateProcess(GetCurrentProcess(), 1);
    CloseHandle((HANDLE)sentinel);
    return 0;
}

mproc_status_t mproc__os_parent_sentinel(int64_t parent_pid, mproc__os_handle_t *out)
{
    (void)parent_pid;
    *out = MPROC__OS_NO_HANDLE; /* no fork: every child's boot has the parent's handle */
    return MPROC_ENOTSUP;
}

mproc_status_t mproc__os_watch_parent(const mproc__os_boot_t *boot)
{
    HANDLE self = GetCurrentProcess();
    HANDLE sentinel, thread;
    if (boot == NULL || boot->parent_sentinel == MPROC__OS_NO_HANDLE)
        return MPROC_EINVAL;
    /* The thread waits on its own copy: boot_release may close the boot's
     * copy at any time, and closing a handle under a wait is undefined. */
    if (!DuplicateHandle(self, (HANDLE)boot->parent_sentinel, self, &sentinel, SYNCHRONIZE, FALSE, 0))
        return mproc__os_status_from_win32(GetLastError());
    thread = CreateThread(NULL, 64 * 1024, watch_parent_thread, sentinel,
                          STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (thread == NULL) {
        DWORD err = GetLastError();
        CloseHandle(sentinel);
        return mproc__os_status_from_win32(err);
    }
    CloseHandle(thread);
    return MPROC_OK;
}

void mproc__os_boot_release(mproc__os_boot_t *boot)
{
    if (boot == NULL)
        return;
    mproc__os_close(boot->from_parent);
    mproc__os_close(boot->to_parent);
    mproc__os_close(boot->parent_sentinel);
    boot->from_parent = boot->to_parent = boot->parent_sentinel = MPROC__OS_NO_HANDLE;
}
