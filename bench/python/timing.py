"""The statistic of the C sides (bench.h, bench_median_window): the median of
the mean times of 20 equal windows of calls, so that a few host stalls do not
decide a figure."""
import statistics
import time


def median_window(iterations, step):
    windows = min(20, iterations)
    per = iterations // windows
    means = []
    for w in range(windows):
        k = per if w < windows - 1 else iterations - (windows - 1) * per
        t0 = time.perf_counter()
        for _ in range(k):
            step()
        means.append((time.perf_counter() - t0) / k)
    return statistics.median(means)
