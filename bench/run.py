#!/usr/bin/env python3
"""Measure every figure on three sides in the same run: mproc, CPython's
multiprocessing and a raw floor (hand-written C doing the same work with no
library in the way). This machine kind is shared and noisy, so only the ratios
between sides measured together mean something, and every goal is a ratio.

Usage: run.py BUILD_DIR [--out FILE] [--windows MINGW_BUILD_DIR] [--only PREFIX...]
              [--pin split|same|none] [--no-sweeps] [--budget SECONDS]
Writes BUILD_DIR/bench/results.json (or FILE), the sweeps' plots (SVG, with
gnuplot) beside it, and prints a table. Exits 0 when a goal is missed
(benchmarks report, tests assert), 1 when a side fails to run.

--windows adds the Windows column: the mingw build's bench_mproc.exe under
Wine against the raw Win32 programs of bench/win32/ (bench_raw.exe), also
under Wine, in the same run. Wine is not Windows: only the ratios count.

Load on the machine drifts within seconds and only ever slows a side down,
so the sides take turns: a round runs mproc and the floor back to back (in
alternating order) and CPython. Where both sides time windows of calls, a
side's figure is its good quartile over the rounds (stats.py) of its
low-window figures (bench.h: the 3rd fastest of its 20 window means), so
disturbed windows and rounds drop out, and mproc/floor is the ratio of the
two sides' good quartiles; for whole-run figures it is the geometric mean of
the middle half of the rounds' paired ratios (stats.paired_midmean). Each
with its 90% bootstrap interval.
Rounds are added until that interval is within +-10% (or the time is up).
results.json keeps every round (with the CPU pressure while each side ran,
load.py, under rounds.load), and the old statistic (median of the rounds'
ratios, *_median) beside the new one.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import NamedTuple, Optional, Tuple

import load
import plots
import stats

HERE = os.path.dirname(os.path.abspath(__file__))


class Side(NamedTuple):
    program: str          # a .py script in bench/python/, or a binary in BUILD_DIR/bench/
    iterations: int
    figure: Optional[str] = None  # the program's figure name, when not the row's
    params: Tuple[int, ...] = ()


class Figure(NamedTuple):
    name: str
    unit: str                  # "s" for times (lower is better), ".../s" for rates
    mproc: Side
    python: Optional[Side]
    raw: Optional[Side]        # the floor
    # Each goal (kind, factor): ("raw", f) a time at most f x the floor's, a
    # rate at least f x the floor's; ("python", f) at least f x faster than
    # CPython; ("figure:NAME", f) a time at most f x figure NAME's mproc time.
    goals: Tuple[Tuple[str, float], ...] = ()
    rounds: Optional[int] = None  # default ROUNDS
    max_rounds: Optional[int] = None  # default MAX_ROUNDS
    raw_alt: Optional[Side] = None  # a second floor, reported beside the first
    pin: Optional[str] = None  # MPROC_BENCH_PIN for this figure's sides, else --pin's


B, P, R = "bench_mproc", "bench_raw", "bench_mproc.exe"
FIGURES = [
    Figure("start_join_fork", "s", Side(B, 300), Side("start_join.py", 50), Side(P, 300),
           goals=(("raw", 1.3),)),
    Figure("start_join_spawn", "s", Side(B, 150), Side("start_join.py", 6), Side(P, 150),
           goals=(("raw", 1.5),)),
    Figure("pipe_rtt_64B", "s", Side(B, 20000), Side("pipe_rtt.py", 5000), Side(P, 20000),
           goals=(("raw", 1.1),)),
    # The 1x1 queue figures: enough messages that each of the 20 windows
    # lasts longer than a scheduler tick on the floor.
    Figure("queue_64B", "msg/s", Side(B, 20000000), Side("queue_bench.py", 100000),
           Side(P, 20000000), goals=(("raw", 0.8),)),
    Figure("queue_64KiB", "msg/s", Side(B, 60000), Side("queue_bench.py", 5000),
           Side(P, 60000), goals=(("raw", 0.8),)),
    Figure("queue_1MiB", "B/s", Side(B, 3000), Side("queue_bench.py", 300), Side(P, 3000),
           goals=(("raw", 0.8),)),
    # Eight processes on two CPUs: each side's whole-run rate moves 2-5x
    # between rounds, independently of the other's, so the ratio needs more
    # rounds than the others to settle (docs/performance.md, profile 7); a
    # round takes about half a second.
    Figure("queue_4x4_64B", "msg/s", Side(B, 1000000), Side("queue_bench.py", 100000),
           Side(P, 1000000), goals=(("raw", 0.7),), max_rounds=50),
    # The floor is the same work chunked over socketpairs; the shared-array
    # floor (no copy at all) is reported beside it.
    Figure("pool_map", "items/s", Side(B, 1000000), Side("pool_bench.py", 1000000),
           Side(P, 1000000), goals=(("raw", 0.5), ("python", 10)),
           raw_alt=Side(P, 1000000, figure="pool_map_shm")),
    # The same map with a chunk task (fn(in, out, n) once per chunk), what a
    # user writes when an item's work is tiny. No CPython side: Python has no
    # such call, and its per-item map is pool_map's comparison.
    Figure("pool_map_chunks", "items/s", Side(B, 1000000, figure="pool_map", params=(2, 0, 1)),
           None, Side(P, 1000000, figure="pool_map"), goals=(("raw", 0.5),),
           raw_alt=Side(P, 1000000, figure="pool_map_shm")),
    Figure("pool_apply_rtt", "s", Side(B, 4000), Side("pool_bench.py", 1000), Side(P, 4000),
           goals=(("raw", 1.5),)),
]
# The Windows column, all under Wine (no CPython for Windows here).
WINDOWS_FIGURES = [
    Figure("start_join_spawn", "s", Side(R, 40), None, Side("bench_raw.exe", 40),
           goals=(("raw", 1.5),)),
    # Unpinned, as the Pool apply it is the goal of: under Wine each message
    # also wakes the wineserver, and sides pinned to two CPUs took 1.7x as
    # long per round trip (both sides alike).
    Figure("pipe_rtt_64B", "s", Side(R, 5000), None, Side("bench_raw.exe", 5000),
           goals=(("raw", 1.5),), pin="none"),
    Figure("pool_apply_rtt", "s", Side(R, 2000), None, None,
           goals=(("figure:pipe_rtt_64B", 3.0),)),
    # As many messages as on Linux: with 500,000 (300 of 1 MiB) a window
    # lasted about half a millisecond on the floor, shorter than a scheduler
    # tick, and the floor's rounds moved 2x. The 64-byte sides' rounds still
    # move 2-3x with the machine's load: more rounds (a few seconds each).
    Figure("queue_64B", "msg/s", Side(R, 20000000), None, Side("bench_raw.exe", 20000000),
           goals=(("raw", 0.8),), rounds=9),
    Figure("queue_1MiB", "B/s", Side(R, 3000), None, Side("bench_raw.exe", 3000),
           goals=(("raw", 0.8),)),
]
SIDES = ("mproc", "python", "raw", "raw_alt")
ROUNDS = 7
WINDOWS_ROUNDS = 5
# More rounds while a figure's ratio is not settled (stats.py), up to these
# many, within its share of --budget seconds; CPython runs in the first few
# rounds only (its ratio is far from any goal's edge, and its runs are slow).
MAX_ROUNDS = 25
PYTHON_ROUNDS = 5
BUDGET = 190
# How a .exe side runs: set by main() for --windows.
WINE = {"argv": ["wine"], "env": None}
# Where the 1x1 queue sides put producer and consumer (bench_pin in bench.c).
PIN = {"how": "split"}


def command(build_dir, figure, side):
    """A side runs as `<program> <figure> <iterations> [params...]`."""
    if side.program.endswith(".py"):
        argv = ["python3", os.path.join(HERE, "python", side.program)]
    elif side.program.endswith(".exe"):
        argv = WINE["argv"] + [os.path.join(build_dir, "bench", side.program)]
    else:
        argv = [os.path.join(build_dir, "bench", side.program)]
    return argv + [side.figure or figure.name, str(side.iterations)] + [str(p) for p in side.params]


def run_side(build_dir, figure, side, pin=None, timeout=300):
    """The side's figure, or None (reported on stderr) when it fails or
    outlasts `timeout` seconds."""
    return _run_side(build_dir, figure, side, pin, timeout)[0]


def run_side_loaded(build_dir, figure, side, pin=None, timeout=300):
    """(run_side's figure, the figure from its low window or None (bench.h),
    the CPU pressure while it ran: load.py)."""
    before = load.snapshot()
    value, low = _run_side(build_dir, figure, side, pin, timeout)
    return value, low, load.pressure(before)


def _run_side(build_dir, figure, side, pin, timeout):
    if side is None:
        return None, None
    argv = command(build_dir, figure, side)
    env = WINE["env"] if argv[0] == WINE["argv"][0] else dict(os.environ)
    env["MPROC_BENCH_PIN"] = pin or PIN["how"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True,
                             env=env)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
        detail = getattr(e, "stderr", None) or ""
        print(f"{figure.name} [{' '.join(argv)}] failed: {e} {detail}".strip(), file=sys.stderr)
        return None, None
    if result.get("figure") != (side.figure or figure.name) or result.get("unit") != figure.unit:
        print(f"{figure.name}: unexpected answer {result}", file=sys.stderr)
        return None, None
    return float(result["value"]), None if "low" not in result else float(result["low"])


is_time = stats.is_time


def vs(mproc, other):
    """mproc against `other` as a plain ratio: time/time or rate/rate."""
    return mproc / other if mproc is not None and other else None


def spread(values):
    """(max - min) / median: how much a figure moved between rounds."""
    values = [v for v in values if v is not None]
    if len(values) < 2 or not statistics.median(values):
        return None
    return (max(values) - min(values)) / statistics.median(values)


def median(values):
    return None if not values or None in values else statistics.median(values)


def windowed(rounds, side):
    """True when mproc and `side` both have a low-window figure (bench.h) in
    every round."""
    low = rounds["low"]
    return bool(low["mproc"] and low[side] and None not in low["mproc"] + low[side])


def compared(rounds, side):
    """The rounds of mproc and `side` that stand for them in their ratio:
    their low-window figures when windowed(), else their figures."""
    if windowed(rounds, side):
        return rounds["low"]["mproc"], rounds["low"][side]
    return rounds["mproc"], rounds[side]


def summarize(figure, rounds):
    """A figure's row from its rounds. Where both sides have low windows:
    each side's good quartile of them and the ratio of those (stats.ratio);
    else (whole-run figures, nothing filtered inside a run): each side's
    median and the geometric mean of the middle half of the paired rounds'
    ratios (stats.paired_midmean). Each ratio with half its 90% interval
    (_ci) and its rounds' spread; the old statistic (median of the paired
    whole-run ratios, *_median) beside it."""
    unit = figure.unit
    row = {}
    for side, key in (("raw", "vs_floor"), ("raw_alt", "vs_floor_alt"), ("python", "vs_python")):
        pairs = [vs(m, o) for m, o in zip(rounds["mproc"], rounds[side])]
        if not pairs:
            continue
        series = compared(rounds, side)
        if windowed(rounds, side):
            row[key] = stats.ratio(*series, unit)
            row[key + "_ci"] = stats.half_width(*series, unit)
        else:
            row[key] = stats.paired_midmean(*series)
            row[key + "_ci"] = stats.paired_half_width(*series)
        row[key + "_spread"] = spread([vs(m, o) for m, o in zip(*series)])
        row[key + "_median"] = median(pairs)  # the old statistic
        row[key + "_median_spread"] = spread(pairs)
    row["low_window"] = windowed(rounds, "raw")
    for side in SIDES:
        if rounds[side]:
            values = compared(rounds, side if side != "mproc" else "raw")[side != "mproc"]
            row[side] = stats.good_quantile(values, unit) if row["low_window"] else median(values)
    if not rounds["raw"] and windowed(rounds, "mproc"):
        # No floor, but low windows (a figure whose goal is another figure's
        # time): the same statistic as the windowed figures it is set beside,
        # so that a goal compares like with like.
        row["low_window"] = True
        row["mproc"] = stats.good_quantile(rounds["low"]["mproc"], unit)
    row["median"] = {side: median(rounds[side]) for side in SIDES if rounds[side]}
    row["mproc_spread"] = spread(rounds["mproc"])
    shares = [x for x in rounds["load"]["mproc"] + rounds["load"]["raw"] if x is not None]
    row["pressure"] = median(shares) if shares else None  # load.py: the rounds' median
    # The ratio of each side's single best round: one more estimate.
    best = min if is_time(unit) else max
    done = {side: [v for v in rounds[side] if v is not None] for side in ("mproc", "raw")}
    row["vs_floor_best"] = vs(best(done["mproc"]), best(done["raw"])) \
        if done["mproc"] and done["raw"] else None
    row["faster_than_cpython"] = None if row.get("vs_python") is None else (
        1 / row["vs_python"] if is_time(unit) else row["vs_python"])
    row["statistic"] = (f"good quartile (q={stats.QUARTILE}) of each side's low windows over "
                        "the rounds, and their ratio" if row["low_window"] else
                        "each side's median, and the geometric mean of the middle half of the "
                        "rounds' paired ratios")
    row["rounds"] = {side: values for side, values in rounds.items() if values}
    return row


def run_round(build_dir, figure, sides, rounds, n):
    """One round: mproc and the floors back to back, in the order that
    alternates from round to round (so neither side always runs just after
    CPython or always first), then CPython for its first PYTHON_ROUNDS.
    Each side's CPU pressure (load.py) goes to rounds["load"][side]."""
    order = ("mproc", "raw", "raw_alt") if n % 2 == 0 else ("raw_alt", "raw", "mproc")
    for side in order + ("python",):
        if sides[side] is not None and (side != "python" or n < PYTHON_ROUNDS):
            value, low, share = run_side_loaded(build_dir, figure, sides[side], figure.pin)
            rounds[side].append(value)
            rounds["low"][side].append(low)
            rounds["load"][side].append(share)


def measure(build_dir, figures, nrounds, only, budget=None):
    """Each figure's sides taken in turns: at least its rounds, then more
    (up to its max_rounds or MAX_ROUNDS) until the ratio to the floor is settled
    (stats.settled) or the figure's share of what is left of `budget`
    seconds is spent: time a figure that settles early leaves to the next."""
    rows = []
    chosen = [f for f in figures if not only or f.name.startswith(tuple(only))]
    start = time.monotonic()
    for i, figure in enumerate(chosen):
        print(f"running {figure.name} ...", file=sys.stderr, flush=True)
        sides = {side: getattr(figure, side) for side in SIDES}
        rounds = {side: [] for side in SIDES}
        rounds["low"] = {side: [] for side in SIDES}
        rounds["load"] = {side: [] for side in SIDES}
        t0 = time.monotonic()
        share = None if budget is None else (budget - (t0 - start)) / (len(chosen) - i)
        n = 0
        while n < (figure.rounds or nrounds) or (
                n < (figure.max_rounds or MAX_ROUNDS) and sides["raw"] is not None
                and not stats.settled(*compared(rounds, "raw"), figure.unit,
                                       paired=not windowed(rounds, "raw"))
                and (share is None or time.monotonic() - t0 < share)):
            run_round(build_dir, figure, sides, rounds, n)
            n += 1
        row = summarize(figure, rounds)
        row["seconds"] = round(time.monotonic() - t0, 1)
        rows.append((figure, row))
    return rows


def check_goal(figure, row, goal, others):
    """(goal in words, met: True/False/None for no figure)."""
    kind, factor = goal
    if kind == "python":
        value = row.get("faster_than_cpython")
        return f"{factor:g}x faster than CPython", None if value is None else value >= factor
    if kind.startswith("figure:"):
        name = kind.split(":", 1)[1]
        other = others.get(name, {}).get("mproc")
        value = vs(row.get("mproc"), other)
        return f"time within {factor:g}x {name}", None if value is None else value <= factor
    value = row.get("vs_floor")
    if is_time(figure.unit):
        return f"time within {factor:g}x floor", None if value is None else value <= factor
    return f"rate at least {factor:g}x floor", None if value is None else value >= factor


def judge(rows):
    """Adds each row's goals and verdicts."""
    others = {figure.name: row for figure, row in rows}
    for figure, row in rows:
        row["goals"] = []
        for goal in figure.goals:
            text, met = check_goal(figure, row, goal, others)
            row["goals"].append({"goal": text, "met": met})


def fmt_value(unit, v):
    if v is None:
        return "-"
    if is_time(unit):
        for scale, suffix in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if v >= scale:
                return f"{v / scale:.3g} {suffix}"
        return f"{v * 1e9:.3g} ns"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:.3g} {suffix}{unit}"
    return f"{v:.3g} {unit}"


def fmt_ratio(r, half=None):
    """A ratio, and with `half` (a relative half width) its +-."""
    if r is None:
        return "-"
    return f"{r:.3g}x" + ("" if half is None else f" ±{100 * half:.0f}%")


def fmt_percent(s):
    return "-" if s is None else f"{100 * s:.0f}%"


def fmt_goals(row):
    words = {True: "met", False: "MISSED", None: "no figure"}
    return "; ".join(f"{g['goal']}: {words[g['met']]}" for g in row["goals"])


def table_lines(rows, floor_name):
    header = ("figure", "mproc", "CPython", floor_name,
              f"mproc/{floor_name} (±90% interval)", "spread of the rounds' ratios", "rounds",
              "x faster than CPython", "goal")
    lines = [header]
    for figure, row in rows:
        lines.append((figure.name, *(fmt_value(figure.unit, row.get(s)) for s in SIDES[:3]),
                      fmt_ratio(row.get("vs_floor"), row.get("vs_floor_ci")),
                      fmt_percent(row.get("vs_floor_spread")),
                      str(len(row["rounds"].get("mproc", []))),
                      fmt_ratio(row.get("faster_than_cpython")), fmt_goals(row)))
    return lines


STATISTIC = ("Where both sides time windows of calls (start+join, round trips, 1x1 queues),"
             "\na side's figure in a round is its low window (the 3rd fastest of 20 window"
             "\nmeans), the mproc and floor columns are each side's good quartile of those over"
             "\nthe interleaved rounds (lower quartile of times, upper of rates), and mproc/floor"
             "\nis their ratio: load only slows a side, so disturbed windows and rounds drop out"
             "\ninstead of being averaged in. Elsewhere (whole-run rates: queue_4x4, pool_map)"
             "\nthe columns are medians and mproc/floor the geometric mean of the middle half"
             "\nof the rounds' paired ratios (their lowest and highest quarter dropped)."
             "\nA windowed figure without a floor (the Windows Pool apply, whose goal names the"
             "\npipe round trip) is its good quartile of low windows too, as the figure it is"
             "\nset beside."
             "\ntime/time: lower is better; rate/rate: higher is better. ± is half the ratio's"
             f"\n90% bootstrap interval; rounds are added (up to {MAX_ROUNDS}, 50 for queue_4x4)"
             f"\nuntil it is within ±{100 * stats.TARGET:.0f}% or the figure's time is up."
             "\nspread: (max - min) / median of the single rounds' ratios. x faster than"
             "\nCPython: the same middle half of the rounds' paired whole-run ratios; above 1,"
             "\nmproc is faster.")


def markdown_table(rows, floor_name="floor"):
    """The table as Markdown, for docs/performance.md."""
    lines = table_lines(rows, floor_name)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + " --- |" * len(lines[0])]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out) + "\n"


def print_table(rows, floor_name="floor"):
    lines = table_lines(rows, floor_name)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    for figure, row in rows:
        if row.get("raw_alt") is not None:
            print(f"{figure.name}: second floor ({figure.raw_alt.figure}) "
                  f"{fmt_value(figure.unit, row['raw_alt'])}, mproc at "
                  f"{fmt_ratio(row['vs_floor_alt'], row['vs_floor_alt_ci'])} of it")
    print("\n" + STATISTIC)


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "?")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "system": platform.platform(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "pin": PIN["how"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--out", help="results file (default BUILD_DIR/bench/results.json)")
    parser.add_argument("--only", nargs="+", metavar="PREFIX",
                        help="run only the figures and sweeps whose names start with one of these")
    parser.add_argument("--windows", metavar="MINGW_BUILD_DIR",
                        help="also run the Windows figures of this mingw build under Wine")
    parser.add_argument("--wineprefix", default=os.environ.get(
        "MPROC_WINEPREFIX", os.path.join(os.path.dirname(HERE), "build", "_deps", "wineprefix")),
        help="the Wine prefix for --windows")
    parser.add_argument("--pin", choices=("split", "same", "none"), default="split",
                        help="1x1 queue figures: producer and consumer on CPUs 0 and 1 (split), "
                             "both on CPU 0 (same), or where the scheduler puts them (none)")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the sweeps and plots")
    parser.add_argument("--budget", type=float, default=BUDGET, metavar="SECONDS",
                        help="seconds the figures may take together, extra rounds included "
                             "(each figure gets an equal share for its extra rounds)")
    args = parser.parse_args()
    PIN["how"] = args.pin
    build_dir = os.path.abspath(args.build_dir)
    out = os.path.abspath(args.out or os.path.join(build_dir, "bench", "results.json"))

    rows = measure(build_dir, FIGURES, ROUNDS, args.only, args.budget)
    judge(rows)
    win_rows = []
    if args.windows:
        WINE["env"] = dict(os.environ, WINEPREFIX=os.path.abspath(args.wineprefix), WINEDEBUG="-all")
        win_rows = measure(os.path.abspath(args.windows), WINDOWS_FIGURES, WINDOWS_ROUNDS,
                           args.only, budget=0)  # Wine is slow: no extra rounds
        judge(win_rows)
    sweeps = {} if args.no_sweeps else plots.run_sweeps(
        lambda fig, side, pin=None: run_side(build_dir, fig, side, pin, timeout=plots.POINT_TIMEOUT),
        Figure, Side, args.only)

    results = {"machine": machine(),
               "figures": [{"figure": f.name, "unit": f.unit, **row} for f, row in rows],
               "windows_under_wine": [{"figure": f.name, "unit": f.unit, **row}
                                      for f, row in win_rows],
               "sweeps": sweeps}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    with open(os.path.splitext(out)[0] + ".md", "w") as f:
        m = results["machine"]
        f.write(f"{m['nproc']} CPUs, {m['cpu']}, {m['date']}, 1x1 queue sides pinned: {m['pin']}\n\n")
        f.write(markdown_table(rows))
        f.write("\n" + STATISTIC.replace("\n", " ") + "\n")
        if win_rows:
            f.write("\nWindows (mingw build and raw Win32, both under Wine):\n\n")
            f.write(markdown_table(win_rows, floor_name="raw Win32"))
    print_table(rows)
    if win_rows:
        print("\nWindows: the mingw build under Wine, against raw Win32 programs under Wine"
              "\n(Wine is not Windows: absolute figures mean little, the ratios count).\n")
        print_table(win_rows, floor_name="raw Win32")
    if sweeps:
        plots.print_sweeps(sweeps, fmt_value)
        for path in plots.write_plots(sweeps, os.path.dirname(out), results["machine"]):
            print(f"plot: {path}")
    print(f"\nresults: {out}")
    failed = any(row.get(side) is None and getattr(fig, side) is not None
                 for fig, row in rows + win_rows for side in SIDES)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
