"""CPython's side of pipe_rtt_64B: send 64 bytes over a duplex Pipe, a child
echoes them back; mean seconds per round trip (median of window means).

Usage: pipe_rtt.py pipe_rtt_64B <iterations>
"""
import json
import multiprocessing
import statistics
import sys
import time


def echo(conn):
    # A fork child holds a copy of the parent's end too, so EOF never comes
    # (CPython's documented trap): an empty message says "stop".
    while True:
        msg = conn.recv_bytes()
        if not msg:
            break
        conn.send_bytes(msg)


def main():
    figure, iterations = sys.argv[1], int(sys.argv[2])
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe(duplex=True)
    p = ctx.Process(target=echo, args=(theirs,))
    p.start()
    theirs.close()
    msg = bytes(64)
    # As the C sides (bench.h, bench_median_window): the median of the mean
    # round trips of 20 equal windows, so host stalls do not decide the figure.
    windows = min(20, iterations)
    means = []
    for w in range(windows):
        k = iterations // windows if w < windows - 1 else iterations - (windows - 1) * (iterations // windows)
        t0 = time.perf_counter()
        for _ in range(k):
            mine.send_bytes(msg)
            mine.recv_bytes()
        means.append((time.perf_counter() - t0) / k)
    value = statistics.median(means)
    mine.send_bytes(b"")
    p.join()
    mine.close()
    print(json.dumps({"figure": figure, "unit": "s", "value": value}))


if __name__ == "__main__":
    main()
