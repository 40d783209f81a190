/*
 * The child side of spawn: mproc_init() in a process started with the child
 * flag. The process becomes a child only when its channel proves it comes
 * from its mproc parent (the backend checks what the OS attests: the channel's
 * creator is the parent process, of this user) and the parent answers this
 * child's fresh random challenge in a well-formed message. Anything else ends
 * the process with one line on stderr and a distinct exit code (init.h),
 * before any target runs. Why a challenge: whoever starts a program controls
 * its argv, environment and descriptors, so no token given at start can prove
 * anything; a number drawn after the exec, answered over the attested channel,
 * can only be answered by the live process at the other end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "core.h"

/* A parent answers at once; this bounds a stalled or foreign one. */
#define BOOT_TIMEOUT 60.0

static void refuse(int code, const char *why)
{
    fprintf(stderr, "mproc: not starting as a spawned child: %s\n", why);
    mproc__os_exit(code);
}

/* Read exactly len bytes by deadline: MPROC_ETIMEDOUT, MPROC_EEOF or an OS error. */
static mproc_status_t read_by(mproc__os_handle_t h, void *buf, size_t len, double deadline)
{
    unsigned char *p = buf;
    while (len > 0) {
        int ready = 0;
        size_t got = 0;
        mproc_status_t st = mproc__os_wait_ready(&h, 1, deadline, &ready);
        if (!st)
            st = mproc__os_read_some(h, p, len, &got);
        if (st)
            return st;
        p += got;
        len -= got;
    }
    return MPROC_OK;
}

static void refuse_read(mproc_status_t st, const char *what)
{
    char why[160];
    snprintf(why, sizeof why, "%s: %s", what,
             st == MPROC_ETIMEDOUT ? "none arrived in time"
             : st == MPROC_EEOF    ? "the parent closed the channel"
                                   : mproc_strerror(st));
    refuse(st == MPROC_ETIMEDOUT || st == MPROC_EEOF ? MPROC_EXIT_BOOT_TIMEOUT
                                                     : MPROC_EXIT_BOOT_FAILED,
           why);
}

/* Challenge the parent and read its answer; refuses (never returns) on failure. */
static void receive(const mproc__os_boot_t *boot, mproc__boot_msg_t *m)
{
    unsigned char token[MPROC__BOOT_TOKEN_BYTES];
    uint32_t len = 0;
    double deadline = mproc__os_now() + BOOT_TIMEOUT;
    if (mproc__os_random(token, sizeof token) != MPROC_OK)
        refuse(MPROC_EXIT_BOOT_FAILED, "no random bytes from the OS");
    if (mproc__os_write_all(boot->to_parent, token, sizeof token) != MPROC_OK)
        refuse(MPROC_EXIT_BOOT_CHANNEL, "the bootstrap channel cannot be written");
    mproc_status_t st = read_by(boot->from_parent, &len, sizeof len, deadline);
    if (st)
        refuse_read(st, "bootstrap message");
    if (len > MPROC__BOOT_MAX_BYTES)
        refuse(MPROC_EXIT_BOOT_MESSAGE, "the bootstrap message is too long");
    unsigned char *data = malloc(len ? len : 1);
    if (!data)
        refuse(MPROC_EXIT_BOOT_FAILED, "out of memory");
    st = read_by(boot->from_parent, data, len, deadline);
    if (st)
        refuse_read(st, "bootstrap message (truncated)");
    st = mproc__boot_decode(data, len, m);
    free(data);
    if (st == MPROC_ENOMEM)
        refuse(MPROC_EXIT_BOOT_FAILED, "out of memory");
    if (st)
        refuse(MPROC_EXIT_BOOT_MESSAGE, "malformed bootstrap message");
    /* One attempt per fresh challenge: a comparison's timing gives nothing away. */
    if (memcmp(m->token, token, sizeof token) != 0)
        refuse(MPROC_EXIT_BOOT_TOKEN, "the message does not answer this child's challenge");
    if (m->parent_pid != boot->parent_pid)
        refuse(MPROC_EXIT_BOOT_TOKEN, "the message names another parent");
}

static void spawned_main(const mproc__os_boot_t *boot)
{
    mproc__boot_msg_t m;
    receive(boot, &m);
    mproc_target_fn target = mproc__target_by_name(m.target);
    int32_t ack = target ? MPROC_OK : MPROC_ENOTREGISTERED;
    if (mproc__os_write_all(boot->to_parent, &ack, sizeof ack) != MPROC_OK)
        refuse(MPROC_EXIT_BOOT_CHANNEL, "the parent went away");
    if (!target)
        refuse(MPROC_EXIT_BOOT_TARGET, "the target is not registered in this program");
    mproc__force_default_method(m.method);
    mproc__child_id_t id = {m.name, m.identity, m.parent_name, mproc__strdup(""), m.daemon,
                            m.parent_pid};
    mproc__become_child(&id, boot);
    int code = mproc__run_target(target, m.args, boot);
    /* A spawned child ends as a program does: every stream is flushed. */
    fflush(NULL);
    mproc__os_exit(code);
}

void mproc__spawned_entry(int argc, char **argv)
{
    mproc__os_boot_t boot;
    const char *why = NULL;
    switch (mproc__os_spawned_boot(argc, argv, &boot, &why)) {
    case MPROC__BOOT_NONE:
        return;
    case MPROC__BOOT_CHILD:
        spawned_main(&boot);
        return; /* not reached: the child exits */
    case MPROC__BOOT_BAD_ARGV:
        refuse(MPROC_EXIT_BOOT_ARGV, why);
        return;
    case MPROC__BOOT_BAD_CHANNEL:
        refuse(MPROC_EXIT_BOOT_CHANNEL, why);
        return;
    }
}
