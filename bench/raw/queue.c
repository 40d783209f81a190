/* The OS floor under the queue figures: a single-producer single-consumer
 * ring of fixed slots in shared memory, both sides spinning, the producer a
 * fork child; one copy in, one copy out per message, no system call. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench.h"

typedef struct ring {
    volatile long head __attribute__((aligned(64)));
    volatile long tail __attribute__((aligned(64)));
    unsigned char data[] __attribute__((aligned(64)));
} ring_t;

static double spsc(size_t size, long n)
{
    /* Large messages: a 4 MiB ring, which stays in the caches and moves 1 MiB
     * messages about 1.5x as fast as a 16 MiB one here (mproc's warm part). */
    long slots = size <= 4096 ? 1024 : (long)((4 << 20) / size);
    ring_t *r = mmap(NULL, sizeof(ring_t) + (size_t)slots * size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        bench_fail("mmap", strerror(errno));
    unsigned char *msg = calloc(1, size), *buf = malloc(size);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            while (i - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) >= slots) {
            }
            memcpy(r->data + (size_t)(i % slots) * size, msg, size);
            __atomic_store_n(&r->tail, i + 1, __ATOMIC_RELEASE);
        }
        _exit(0);
    }
    for (long i = 0; i < n; i++) {
        while (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) <= i) {
        }
        memcpy(buf, r->data + (size_t)(i % slots) * size, size);
        __atomic_store_n(&r->head, i + 1, __ATOMIC_RELEASE);
    }
    double elapsed = bench_now() - t0;
    int status;
    waitpid(pid, &status, 0);
    munmap(r, sizeof(ring_t) + (size_t)slots * size);
    free(msg);
    free(buf);
    return elapsed;
}

BENCH_RAW_QUEUE_FIGURES(spsc)
