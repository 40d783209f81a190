/*
 * Seed 004 (004_ac251958022dce8b.txt), the producer-consumer Processor:
 *
 *   class Processor(object):
 *       def __init__(self, nums_producer=1, nums_consumer=1):
 *           self.queue = Queue()
 *           self.producer_list = self.init_process(self.producer, nums_producer)
 *           self.consumer_list = self.init_process(self.consumer, nums_consumer)
 *       def producer(self):
 *           for i in range(5):
 *               self.queue.put((os.getpid(), i))
 *               print('Producer: {} produce {}'.format(os.getpid(), i))
 *               time.sleep(0.5 * random.random())
 *       def consumer(self):
 *           while True:
 *               pid, i = self.queue.get()
 *               print('Consumer: {} consume {} - {}'.format(os.getpid(), pid, i))
 *               time.sleep(0.5 * random.random())
 *       def start(self): ...start producers, then consumers
 *       def join(self):  ...join producers, then consumers
 *
 *   p = Processor(nums_producer=3, nums_consumer=2); p.start(); p.join()
 *
 * As written, that program never ends: its consumers loop on get() for ever
 * and join() waits for them. The fix a Python user would make, made here:
 * join() first joins the producers, then puts one None per consumer, and a
 * consumer returns when it gets None (here: an empty message). To show that
 * nothing is lost or doubled, each consumer also reports what it consumed on
 * a second queue, and main checks that every one of the 15 items was consumed
 * exactly once (the last line; exit code 1 otherwise).
 *
 * Usage: producer_consumer [fork | spawn]
 */
#include <mproc/mproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "print_line.h"
#include "sleep.h"

#define NUMS_PRODUCER 3
#define NUMS_CONSUMER 2
#define ITEMS 5 /* range(5) */

typedef struct item {
    int64_t pid;
    int64_t i;
} item_t;

typedef struct processor {
    mproc_queue_t *queue;
    mproc_queue_t *consumed; /* added: what the consumers took, for the check */
    mproc_process_t *producer_list[NUMS_PRODUCER];
    mproc_process_t *consumer_list[NUMS_CONSUMER];
} processor_t;

static int64_t getpid_now(void)
{
    int64_t pid = 0;
    mproc_process_pid(mproc_current_process(), &pid);
    return pid;
}

/* time.sleep(0.5 * random.random()); each process seeds its own generator,
 * as Python reseeds random in every child. */
static void random_sleep(void)
{
    example_sleep(0.5 * ((double)rand() / ((double)RAND_MAX + 1.0)));
}

static int producer(const mproc_args_t *args)
{
    mproc_queue_t *queue = NULL;
    if (mproc_args_get_queue(args, 0, &queue))
        return 1;
    srand((unsigned)getpid_now() ^ (unsigned)time(NULL));
    int failed = 0;
    for (int64_t i = 0; i < ITEMS && !failed; i++) {
        item_t item = {getpid_now(), i};
        failed = mproc_queue_put(queue, &item, sizeof item, MPROC_FOREVER) != MPROC_OK;
        print_line("Producer: %lld produce %lld\n", (long long)item.pid, (long long)i);
        random_sleep();
    }
    mproc_queue_free(queue);
    return failed;
}
MPROC_TARGET(producer)

static int consumer(const mproc_args_t *args)
{
    mproc_queue_t *queue = NULL, *consumed = NULL;
    if (mproc_args_get_queue(args, 0, &queue) || mproc_args_get_queue(args, 1, &consumed))
        return 1;
    srand((unsigned)getpid_now() * 2654435761u ^ (unsigned)time(NULL));
    mproc_status_t st;
    for (;;) {
        item_t item;
        size_t len = 0;
        st = mproc_queue_get_into(queue, MPROC_FOREVER, &item, sizeof item, &len);
        if (st || len != sizeof item)
            break; /* len 0: the stop message (Python's None) */
        print_line("Consumer: %lld consume %lld - %lld\n", (long long)getpid_now(),
                   (long long)item.pid, (long long)item.i);
        st = mproc_queue_put(consumed, &item, sizeof item, MPROC_FOREVER);
        if (st)
            break;
        random_sleep();
    }
    mproc_queue_free(queue);
    mproc_queue_free(consumed);
    return st != MPROC_OK;
}
MPROC_TARGET(consumer)

static mproc_status_t init_process(mproc_process_t **procs, int nums, mproc_target_fn target,
                                   const processor_t *self)
{
    mproc_args_t *args = NULL;
    mproc_status_t st = mproc_args_create(&args);
    if (!st)
        st = mproc_args_add_queue(args, self->queue);
    if (!st)
        st = mproc_args_add_queue(args, self->consumed);
    for (int n = 0; n < nums && !st; n++)
        st = mproc_process_create(&procs[n], target, args, NULL);
    mproc_args_free(args);
    return st;
}

static mproc_status_t processor_init(processor_t *self)
{
    memset(self, 0, sizeof *self);
    mproc_status_t st = mproc_queue_create(&self->queue, 0);
    if (!st)
        st = mproc_queue_create(&self->consumed, 0);
    if (!st)
        st = init_process(self->producer_list, NUMS_PRODUCER, producer, self);
    if (!st)
        st = init_process(self->consumer_list, NUMS_CONSUMER, consumer, self);
    return st;
}

static mproc_status_t processor_start(processor_t *self)
{
    mproc_status_t st = MPROC_OK;
    for (int n = 0; n < NUMS_PRODUCER && !st; n++)
        st = mproc_process_start(self->producer_list[n]);
    for (int n = 0; n < NUMS_CONSUMER && !st; n++)
        st = mproc_process_start(self->consumer_list[n]);
    return st;
}

/* The fix: after the producers, one stop message per consumer. */
static void processor_join(processor_t *self)
{
    for (int n = 0; n < NUMS_PRODUCER; n++)
        mproc_process_join(self->producer_list[n], MPROC_FOREVER);
    for (int n = 0; n < NUMS_CONSUMER; n++)
        mproc_queue_put(self->queue, NULL, 0, MPROC_FOREVER);
    for (int n = 0; n < NUMS_CONSUMER; n++)
        mproc_process_join(self->consumer_list[n], MPROC_FOREVER);
}

/* Every (producer pid, i) consumed exactly once, and nothing else. */
static int check_consumed(processor_t *self)
{
    int seen[NUMS_PRODUCER][ITEMS] = {{0}};
    int64_t pids[NUMS_PRODUCER];
    for (int n = 0; n < NUMS_PRODUCER; n++)
        mproc_process_pid(self->producer_list[n], &pids[n]);
    item_t item;
    size_t len = 0, total = 0, stray = 0;
    while (mproc_queue_get_into(self->consumed, 0, &item, sizeof item, &len) == MPROC_OK) {
        total++;
        int n = 0;
        while (n < NUMS_PRODUCER && pids[n] != item.pid)
            n++;
        if (n < NUMS_PRODUCER && item.i >= 0 && item.i < ITEMS)
            seen[n][item.i]++;
        else
            stray++;
    }
    int once = 0;
    for (int n = 0; n < NUMS_PRODUCER; n++)
        for (int i = 0; i < ITEMS; i++)
            once += seen[n][i] == 1;
    int ok = once == NUMS_PRODUCER * ITEMS && total == (size_t)once && !stray;
    if (ok)
        print_line("all %d items consumed exactly once\n", once);
    else
        print_line("FAILED: %lld items consumed, %d of %d exactly once\n", (long long)total, once,
                   NUMS_PRODUCER * ITEMS);
    return ok;
}

static void processor_free(processor_t *self)
{
    for (int n = 0; n < NUMS_PRODUCER; n++)
        mproc_process_free(self->producer_list[n]);
    for (int n = 0; n < NUMS_CONSUMER; n++)
        mproc_process_free(self->consumer_list[n]);
    mproc_queue_free(self->queue);
    mproc_queue_free(self->consumed);
}

int main(int argc, char **argv)
{
    /* Each line as it is printed, through a pipe too (Python on a terminal). */
    print_lines_whole();
    mproc_status_t st = mproc_init(argc, argv);
    if (!st && argc > 1)
        st = mproc_set_start_method(strcmp(argv[1], "fork") == 0 ? MPROC_METHOD_FORK
                                                                : MPROC_METHOD_SPAWN, 1);
    processor_t p;
    if (!st)
        st = processor_init(&p);
    if (st) {
        fprintf(stderr, "producer_consumer: %s (%s)\n", mproc_strerror(st), mproc_err_name(st));
        return 1;
    }
    st = processor_start(&p);
    if (st)
        fprintf(stderr, "producer_consumer: start: %s\n", mproc_strerror(st));
    processor_join(&p); /* also after a failed start: the consumers that run must stop */
    int ok = !st && check_consumed(&p);
    processor_free(&p);
    return ok ? 0 : 1;
}
