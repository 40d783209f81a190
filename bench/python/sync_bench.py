"""CPython's side of the synchronization figures:
  lock_pair       an uncontended multiprocessing.Lock acquire + release (s);
  event_pingpong  two processes take turns through two Events (s per round trip);
  value_incr      two processes add 1 to a Value('q') under its lock (incr/s).

Usage: sync_bench.py <figure> <iterations>
"""
import json
import multiprocessing
import statistics
import sys
import time


def windows(iterations, step):
    # As the C sides (bench.h): the median of the means of 20 equal windows.
    n = min(20, iterations)
    means = []
    for w in range(n):
        k = iterations // n if w < n - 1 else iterations - (n - 1) * (iterations // n)
        t0 = time.perf_counter()
        step(k)
        means.append((time.perf_counter() - t0) / k)
    return statistics.median(means)


def lock_pair(ctx, iterations):
    lock = ctx.Lock()

    def step(k):
        for _ in range(k):
            lock.acquire()
            lock.release()
    return windows(iterations, step)


def ponger(ping, pong, rounds):
    for _ in range(rounds):
        ping.wait()
        ping.clear()
        pong.set()


def event_pingpong(ctx, iterations):
    ping, pong = ctx.Event(), ctx.Event()
    p = ctx.Process(target=ponger, args=(ping, pong, iterations))
    p.start()

    def step(k):
        for _ in range(k):
            ping.set()
            pong.wait()
            pong.clear()
    value = windows(iterations, step)
    p.join()
    return value


def incrementer(v, count):
    for _ in range(count):
        with v.get_lock():
            v.value += 1


def value_incr(ctx, iterations):
    v = ctx.Value('q', 0)
    t0 = time.perf_counter()
    ps = [ctx.Process(target=incrementer, args=(v, iterations // 2)) for _ in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    return (iterations // 2 * 2) / (time.perf_counter() - t0)


FIGURES = {"lock_pair": ("s", lock_pair), "event_pingpong": ("s", event_pingpong),
           "value_incr": ("incr/s", value_incr)}


def main():
    figure, iterations = sys.argv[1], int(sys.argv[2])
    unit, fn = FIGURES[figure]
    value = fn(multiprocessing.get_context("fork"), iterations)
    print(json.dumps({"figure": figure, "unit": unit, "value": value}))


if __name__ == "__main__":
    main()
