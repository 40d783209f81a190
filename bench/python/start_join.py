"""CPython's side of start_join_fork / start_join_spawn:
create a Process whose target does nothing, start, join; mean seconds
(median of window means, as the C sides).

Usage: start_join.py <start_join_fork|start_join_spawn> <iterations>
"""
import json
import multiprocessing
import sys

from timing import median_window


def empty():
    pass


def start_join(ctx, iterations):
    def one():
        p = ctx.Process(target=empty)
        p.start()
        p.join()
        p.close()
    return median_window(iterations, one)


def main():
    figure, iterations = sys.argv[1], int(sys.argv[2])
    ctx = multiprocessing.get_context(figure.removeprefix("start_join_"))
    # Same warm-up rule as bench.c; under spawn it also starts the resource tracker.
    start_join(ctx, max(1, min(20, iterations // 10)))
    value = start_join(ctx, iterations)
    print(json.dumps({"figure": figure, "unit": "s", "value": value}))


if __name__ == "__main__":
    main()
