/*
 * Start this test executable the way an attacker could: with mproc's child
 * flag, argv of our choosing and a channel of our making, with its standard
 * streams captured. The tests then play a forging parent on the channel.
 */
#ifndef MPROC_TEST_FORGE_H
#define MPROC_TEST_FORGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum forge_channel {
    FORGE_NONE,       /* argv only: the child flag and the given words */
    FORGE_PARENT,     /* a channel this process made, the handles in argv */
    FORGE_NOT_SOCKET, /* a plain pipe / non-pipe handle where the channel goes */
    FORGE_FOREIGN     /* a channel made by a process that is not the child's parent */
} forge_channel_t;

typedef struct forge {
    intptr_t proc;      /* pid (POSIX) or process handle */
    intptr_t rd, wr;    /* this side of the channel (FORGE_PARENT) */
    intptr_t out, err;  /* the child's stdout and stderr, read ends */
    intptr_t in;        /* the child's stdin, write end, left idle */
} forge_t;

/* Remember this executable's path (call from main with argv[0]). */
void forge_set_exe(const char *argv0);
/* Start the child; `words` (NULL-terminated, may be NULL) follow the flag for
 * FORGE_NONE, else the channel's handle numbers do. */
void forge_start(forge_t *f, forge_channel_t channel, const char *const *words);
/* Wait (bounded) for the child's exit code; *err_text gets its stderr (up to
 * cap - 1 bytes), *out_bytes the number of bytes it wrote on stdout. */
int forge_finish(forge_t *f, char *err_text, size_t cap, size_t *out_bytes);
void forge_close_channel(forge_t *f);

#endif
