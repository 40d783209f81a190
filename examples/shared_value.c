/*
 * Python's
 *
 *   def f(n, a):
 *       n.value = 3.1415927
 *       for i in range(len(a)):
 *           a[i] = -a[i]
 *
 *   if __name__ == '__main__':
 *       num = Value('d', 0.0)
 *       arr = Array('i', range(10))
 *       p = Process(target=f, args=(num, arr))
 *       p.start()
 *       p.join()
 *       print(num.value)
 *       print(arr[:])
 *
 * in C: a child writes shared memory that the parent then reads.
 */
#include <mproc/mproc.h>
#include <stdio.h>

static int f(const mproc_args_t *args)
{
    mproc_value_t *n;
    mproc_array_t *a;
    if (mproc_args_get_value(args, 0, &n) || mproc_args_get_array(args, 1, &a))
        return 1;
    *(double *)mproc_value_ptr(n) = 3.1415927;
    int *data = mproc_array_ptr(a);
    for (size_t i = 0; i < mproc_array_len(a); i++)
        data[i] = -data[i];
    mproc_value_free(n);
    mproc_array_free(a);
    return 0;
}
MPROC_TARGET(f)

int main(int argc, char **argv)
{
    mproc_value_t *num = NULL;
    mproc_array_t *arr = NULL;
    mproc_args_t *args = NULL;
    mproc_process_t *p = NULL;
    mproc_status_t st = mproc_init(argc, argv);
    if (!st) st = mproc_value_create(&num, 'd', 1);
    if (!st) st = mproc_array_create(&arr, 'i', 10, 1);
    if (!st) {
        int *data = mproc_array_ptr(arr);
        for (int i = 0; i < 10; i++)
            data[i] = i;
    }
    if (!st) st = mproc_args_create(&args);
    if (!st) st = mproc_args_add_value(args, num);
    if (!st) st = mproc_args_add_array(args, arr);
    if (!st) st = mproc_process_create(&p, f, args, NULL);
    if (!st) st = mproc_process_start(p);
    if (!st) st = mproc_process_join(p, MPROC_FOREVER);
    if (!st) {
        /* Python prints a float with the fewest digits that read back the same. */
        printf("%.8g\n", *(double *)mproc_value_ptr(num));
        const int *data = mproc_array_ptr(arr);
        printf("[");
        for (size_t i = 0; i < mproc_array_len(arr); i++)
            printf(i ? ", %d" : "%d", data[i]);
        printf("]\n");
    }
    mproc_process_free(p);
    mproc_args_free(args);
    mproc_value_free(num);
    mproc_array_free(arr);
    if (st) {
        fprintf(stderr, "%s\n", mproc_strerror(st));
        return 1;
    }
    return 0;
}
