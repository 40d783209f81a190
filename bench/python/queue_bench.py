"""CPython's side of the queue figures: producers put N messages of a size on a
multiprocessing.Queue (fork), consumers get them. With the parent consuming,
the rate comes from the median of window means of its gets, as the C sides;
else from before the first producer starts to the last consumer joined.

Usage: queue_bench.py <queue_64B|queue_64KiB|queue_1MiB|queue_4x4_64B> <messages>
"""
import json
import multiprocessing
import sys
import time

from timing import median_window

SHAPES = {  # figure: (message size, producers, consumers (0: the parent), unit)
    "queue_64B": (64, 1, 0, "msg/s"),
    "queue_64KiB": (64 * 1024, 1, 0, "msg/s"),
    "queue_1MiB": (1024 * 1024, 1, 0, "B/s"),
    "queue_4x4_64B": (64, 4, 4, "msg/s"),
}


def produce(q, size, count):
    msg = bytes(size)
    for _ in range(count):
        q.put(msg)


def consume(q, count):
    for _ in range(count):
        q.get()


def main():
    figure, total = sys.argv[1], int(sys.argv[2])
    size, producers, consumers, unit = SHAPES[figure]
    total -= total % 4
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=produce, args=(q, size, total // producers))
             for _ in range(producers)]
    procs += [ctx.Process(target=consume, args=(q, total // consumers))
              for _ in range(consumers)]
    for p in procs:
        p.start()
    if not consumers:  # as the C sides: the median of window means of the gets
        per = median_window(total, q.get)
    for p in procs[producers:]:
        p.join()
    if consumers:
        per = (time.perf_counter() - t0) / total
    for p in procs[:producers]:
        p.join()
    value = 1 / per if unit == "msg/s" else size / per
    print(json.dumps({"figure": figure, "unit": unit, "value": value}))


if __name__ == "__main__":
    main()
