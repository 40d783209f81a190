/*
 * Three producers and two consumers sharing one Queue, as Python's
 *
 *   def producer(q, name):
 *       for i in range(5): q.put(f"{name}-{i}"); print(name, "produced", ...)
 *   def consumer(q, name):
 *       while (item := q.get()) is not None: print(name, "consumed", item)
 *
 * The main program joins the producers, then puts one empty message per
 * consumer (Python's None), so the consumers stop cleanly.
 *
 * Usage: producer_consumer [fork | spawn]
 */
#include <mproc/mproc.h>
#include <stdio.h>
#include <string.h>

#define PRODUCERS 3
#define CONSUMERS 2
#define ITEMS 5

static int producer(const mproc_args_t *args)
{
    mproc_queue_t *q;
    const char *name;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_str(args, 1, &name))
        return 1;
    for (int i = 0; i < ITEMS; i++) {
        char item[64];
        int len = snprintf(item, sizeof item, "%s-item-%d", name, i);
        if (mproc_queue_put(q, item, (size_t)len, MPROC_FOREVER))
            return 2;
        printf("%s produced %s\n", name, item);
        fflush(stdout);
    }
    mproc_queue_free(q);
    return 0;
}
MPROC_TARGET(producer)

static int consumer(const mproc_args_t *args)
{
    mproc_queue_t *q;
    const char *name;
    if (mproc_args_get_queue(args, 0, &q) || mproc_args_get_str(args, 1, &name))
        return 1;
    for (;;) {
        char item[64];
        size_t len;
        if (mproc_queue_get_into(q, MPROC_FOREVER, item, sizeof item - 1, &len))
            return 2;
        if (len == 0)
            break; /* the stop message */
        item[len] = '\0';
        printf("%s consumed %s\n", name, item);
        fflush(stdout);
    }
    printf("%s done\n", name);
    mproc_queue_free(q);
    return 0;
}
MPROC_TARGET(consumer)

static mproc_process_t *start(mproc_target_fn fn, mproc_queue_t *q, const char *name)
{
    mproc_args_t *args;
    mproc_process_t *p = NULL;
    mproc_args_create(&args);
    mproc_args_add_queue(args, q);
    mproc_args_add_str(args, name);
    mproc_status_t st = mproc_process_create(&p, fn, args, NULL);
    if (!st)
        st = mproc_process_start(p);
    mproc_args_free(args);
    if (st) {
        fprintf(stderr, "starting %s: %s\n", name, mproc_strerror(st));
        return NULL;
    }
    return p;
}

int main(int argc, char **argv)
{
    mproc_status_t st = mproc_init(argc, argv);
    if (!st && argc > 1)
        st = mproc_set_start_method(strcmp(argv[1], "fork") == 0 ? MPROC_METHOD_FORK
                                                                : MPROC_METHOD_SPAWN, 1);
    mproc_queue_t *q = NULL;
    if (!st)
        st = mproc_queue_create(&q, 0);
    if (st) {
        fprintf(stderr, "%s\n", mproc_strerror(st));
        return 1;
    }
    mproc_process_t *producers[PRODUCERS], *consumers[CONSUMERS];
    char name[32];
    for (int i = 0; i < PRODUCERS; i++) {
        snprintf(name, sizeof name, "producer-%d", i + 1);
        producers[i] = start(producer, q, name);
        if (!producers[i])
            return 1;
    }
    for (int i = 0; i < CONSUMERS; i++) {
        snprintf(name, sizeof name, "consumer-%d", i + 1);
        consumers[i] = start(consumer, q, name);
        if (!consumers[i])
            return 1;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        mproc_process_join(producers[i], MPROC_FOREVER);
        mproc_process_free(producers[i]);
    }
    for (int i = 0; i < CONSUMERS; i++)
        mproc_queue_put(q, NULL, 0, MPROC_FOREVER);
    int failed = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        int64_t code = -1;
        mproc_process_join(consumers[i], MPROC_FOREVER);
        mproc_process_exitcode(consumers[i], &code);
        failed |= code != 0;
        mproc_process_free(consumers[i]);
    }
    printf("all done\n");
    mproc_queue_free(q);
    return failed;
}
