"""CPython's side of pipe_rtt_64B: send 64 bytes over a duplex Pipe, a child
echoes them back; mean seconds per round trip (median of window means).

Usage: pipe_rtt.py pipe_rtt_64B <iterations>
"""
import json
import multiprocessing
import sys

from timing import median_window


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

    def round_trip():
        mine.send_bytes(msg)
        mine.recv_bytes()
    value = median_window(iterations, round_trip)
    mine.send_bytes(b"")
    p.join()
    mine.close()
    print(json.dumps({"figure": figure, "unit": "s", "value": value}))


if __name__ == "__main__":
    main()
