/*
 * Python's
 *
 *   def f(l, i):
 *       l.acquire()
 *       try:
 *           print('hello world', i)
 *       finally:
 *           l.release()
 *
 *   if __name__ == '__main__':
 *       lock = Lock()
 *       for num in range(10):
 *           Process(target=f, args=(lock, num)).start()
 *
 * in C: ten processes take turns printing under one Lock.
 */
#include <mproc/mproc.h>
#include <stdio.h>

static int f(const mproc_args_t *args)
{
    mproc_lock_t *l;
    int64_t i;
    if (mproc_args_get_lock(args, 0, &l) || mproc_args_get_int(args, 1, &i))
        return 1;
    mproc_status_t st = mproc_lock_acquire(l, 1, MPROC_FOREVER);
    if (st != MPROC_OK && st != MPROC_EOWNERDEAD)
        return 1;
    printf("hello world %lld\n", (long long)i);
    fflush(stdout);
    mproc_lock_release(l);
    mproc_lock_free(l);
    return 0;
}
MPROC_TARGET(f)

int main(int argc, char **argv)
{
    mproc_lock_t *lock = NULL;
    mproc_process_t *p[10] = {0};
    mproc_status_t st = mproc_init(argc, argv);
    if (!st)
        st = mproc_lock_create(&lock);
    for (int num = 0; num < 10 && !st; num++) {
        mproc_args_t *args = NULL;
        st = mproc_args_create(&args);
        if (!st) st = mproc_args_add_lock(args, lock);
        if (!st) st = mproc_args_add_int(args, num);
        if (!st) st = mproc_process_create(&p[num], f, args, NULL);
        if (!st) st = mproc_process_start(p[num]);
        mproc_args_free(args);
    }
    for (int num = 0; num < 10; num++) {
        if (p[num])
            mproc_process_join(p[num], MPROC_FOREVER);
        mproc_process_free(p[num]);
    }
    mproc_lock_free(lock);
    if (st) {
        fprintf(stderr, "%s\n", mproc_strerror(st));
        return 1;
    }
    return 0;
}
