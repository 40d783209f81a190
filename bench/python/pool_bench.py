"""CPython's side of pool_map (Pool(2).map(square, range(n)), default
chunksize, items/s) and pool_apply_rtt (Pool(2).apply(identity, (i,)) in a
loop, mean seconds, median of window means as the C sides).

Usage: pool_bench.py <pool_map|pool_apply_rtt> <n>
"""
import json
import multiprocessing
import sys
import time

from timing import median_window


def square(x):
    return x * x


def identity(x):
    return x


def main():
    figure, n = sys.argv[1], int(sys.argv[2])
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.apply(identity, (0,))  # workers started and warm
        t0 = time.perf_counter()
        if figure == "pool_map":
            pool.map(square, range(n))
            value, unit = n / (time.perf_counter() - t0), "items/s"
        else:
            value, unit = median_window(n, lambda: pool.apply(identity, (1,))), "s"
    print(json.dumps({"figure": figure, "unit": unit, "value": value}))


if __name__ == "__main__":
    main()
