#!/usr/bin/env python3
"""Measure every figure on three sides in the same run: mproc, CPython's
multiprocessing and the raw OS. This machine kind is shared and noisy, so only
the ratios between sides measured together mean something.

Usage: run.py BUILD_DIR [--out FILE] [--windows MINGW_BUILD_DIR]
Writes BUILD_DIR/bench/results.json (or FILE) and prints a table. Exits 0 when
a goal is missed (benchmarks report, tests assert), 1 when a side fails to run.

--windows adds the Windows column: the mingw build's bench_mproc.exe under
Wine against the raw Win32 programs of bench/win32/ (bench_raw.exe), also
under Wine, in the same run. Wine is not Windows: its figures are reported as
"under Wine", and only the ratios count.

Load on the machine drifts within seconds, so the sides take turns: ROUNDS
rounds of mproc, CPython, raw, and each side's figure is its median round.

When libmproc-mpi was built (BUILD_DIR/bench/bench_mpi) a second table
compares the Pool on 2 MPI worker ranks with mpi4py.futures, the local Pool
and raw MPI, over TCP and over shared memory (MPI_FIGURES below).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import NamedTuple, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))


class Figure(NamedTuple):
    name: str
    unit: str                  # "s" for times (lower is better), ".../s" for rates
    mproc: Tuple[str, int]     # (program, iterations per round) for each side, see command()
    python: Tuple[str, int]
    raw: Optional[Tuple[str, int]]  # None: no OS floor to compare with
    # (side, factor): mproc no more than factor x worse than that side, or
    # ("absolute", value): a time at most, a rate at least, that value.
    goal: Optional[Tuple[str, float]]


# Iterations per round; the whole run stays well under 2 minutes on 2 cores.
FIGURES = [
    Figure("start_join_fork", "s",
           mproc=("bench_mproc", 300), python=("start_join.py", 50),
           raw=("bench_raw", 300), goal=("raw", 1.5)),
    Figure("start_join_spawn", "s",
           mproc=("bench_mproc", 200), python=("start_join.py", 8),
           raw=("bench_raw", 200), goal=("raw", 2.0)),
    Figure("pipe_rtt_64B", "s",
           mproc=("bench_mproc", 20000), python=("pipe_rtt.py", 5000),
           raw=("bench_raw", 20000), goal=("raw", 1.3)),
    # Issue goals: 64 B at least 10 M msg/s (35x the anchors' CPython; CPython
    # measured here is often slower, so the absolute figure is the goal), 1 MiB
    # at least 8 GB/s (about a quarter of this machine's memcpy through a ring).
    Figure("queue_64B", "msg/s",
           mproc=("bench_mproc", 5000000), python=("queue_bench.py", 200000),
           raw=("bench_raw", 5000000), goal=("absolute", 10e6)),
    Figure("queue_64KiB", "msg/s",
           mproc=("bench_mproc", 40000), python=("queue_bench.py", 10000),
           raw=("bench_raw", 40000), goal=None),
    Figure("queue_1MiB", "B/s",
           mproc=("bench_mproc", 3000), python=("queue_bench.py", 500),
           raw=("bench_raw", 3000), goal=("absolute", 8e9)),
    Figure("queue_4x4_64B", "msg/s",
           mproc=("bench_mproc", 2000000), python=("queue_bench.py", 200000),
           raw=None, goal=None),
    # Issue goals: map at least 10x CPython's items/s; apply round trip under 30 us
    # (no OS floor for a pool: the pipe round trip above is the nearest one).
    Figure("pool_map", "items/s",
           mproc=("bench_mproc", 1000000), python=("pool_bench.py", 1000000),
           raw=None, goal=("python", 1 / 10)),
    Figure("pool_apply_rtt", "s",
           mproc=("bench_mproc", 5000), python=("pool_bench.py", 2000),
           raw=None, goal=("absolute", 30e-6)),
    # Issue goals (synchronization): an uncontended Lock pair within 2x of a
    # pthread mutex pair; an Event round trip within 1.3x of a raw futex one;
    # Value increments under its lock by two processes at least 10x CPython.
    Figure("lock_pair", "s",
           mproc=("bench_mproc", 5000000), python=("sync_bench.py", 500000),
           raw=("bench_raw", 5000000), goal=("raw", 2.0)),
    Figure("event_pingpong", "s",
           mproc=("bench_mproc", 20000), python=("sync_bench.py", 5000),
           raw=("bench_raw", 20000), goal=("raw", 1.3)),
    Figure("value_incr", "incr/s",
           mproc=("bench_mproc", 2000000), python=("sync_bench.py", 100000),
           raw=("bench_raw", 2000000), goal=("python", 1 / 10)),
]
# The Windows column, all under Wine (no CPython for Windows here). Issue
# goals: pipe round trip within 1.5x raw Win32, start+join within 1.5x raw
# CreateProcessW+WaitForSingleObject, Pool apply within 3x the pipe round trip.
WINDOWS_FIGURES = [
    Figure("start_join_spawn", "s",
           mproc=("bench_mproc.exe", 40), python=None,
           raw=("bench_raw.exe", 40), goal=("raw", 1.5)),
    Figure("pipe_rtt_64B", "s",
           mproc=("bench_mproc.exe", 5000), python=None,
           raw=("bench_raw.exe", 5000), goal=("raw", 1.5)),
    Figure("pool_apply_rtt", "s",
           mproc=("bench_mproc.exe", 2000), python=None,
           raw=None, goal=("pipe_rtt_64B", 3.0)),
    Figure("queue_64B", "msg/s",
           mproc=("bench_mproc.exe", 500000), python=None,
           raw=("bench_raw.exe", 500000), goal=None),
    Figure("queue_1MiB", "B/s",
           mproc=("bench_mproc.exe", 300), python=None,
           raw=("bench_raw.exe", 300), goal=None),
]
SIDES = ("mproc", "python", "raw")
ROUNDS = 7
WINDOWS_ROUNDS = 5
# How a .exe side runs: set by main() for --windows.
WINE = {"argv": ["wine"], "env": None}


def command(build_dir, figure, side):
    """Every side runs as `<program> <figure> <iterations>`: a .py program is a
    script in bench/python/ run by python3 from PATH, anything else a binary
    built into BUILD_DIR/bench/."""
    program, iterations = getattr(figure, side)
    if program.endswith(".py"):
        argv = ["python3", os.path.join(HERE, "python", program)]
    elif program.endswith(".exe"):
        argv = WINE["argv"] + [os.path.join(build_dir, "bench", program)]
    else:
        argv = [os.path.join(build_dir, "bench", program)]
    return argv + [figure.name, str(iterations)]


def run_side(build_dir, figure, side):
    if getattr(figure, side) is None:
        return None
    return run_argv(command(build_dir, figure, side), figure.name, figure.unit, side)


def run_argv(argv, name, unit, side, env=None):
    """Run one side once; its figure from the JSON line it prints last."""
    try:
        if env is None and argv[0] == WINE["argv"][0]:
            env = WINE["env"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True,
                             env=env)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
        detail = getattr(e, "stderr", None) or ""
        print(f"{name} [{side}]: {' '.join(argv)} failed: {e} {detail}".strip(),
              file=sys.stderr)
        return None
    if result.get("figure") != name or result.get("unit") != unit:
        print(f"{name} [{side}]: unexpected answer {result}", file=sys.stderr)
        return None
    return float(result["value"])


def is_time(unit):
    return unit == "s"


def slowdown(unit, mproc, other):
    """How many times worse mproc is than `other` (< 1: better), for either unit."""
    return mproc / other if is_time(unit) else other / mproc


def ratio(a, b):
    return a / b if a is not None and b else None


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


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def verdict(figure, row, others):
    """The goal in words and whether it is met; `others` maps figure names to
    their rows, for a goal relative to another figure's mproc value."""
    if not figure.goal:
        return "", ""
    side, factor = figure.goal
    if side in others:
        goal = f"within {factor:g}x of {side}"
        other = others[side]["mproc"]
        if row["mproc"] is None or not other:
            return goal, "no figure"
        met = slowdown(figure.unit, row["mproc"], other) <= factor
        return goal, f"goal met ({row['mproc'] / other:.2f}x)" if met else \
            f"goal missed ({row['mproc'] / other:.2f}x)"
    if side == "absolute":
        goal = ("under " if is_time(figure.unit) else "at least ") + fmt_value(figure.unit, factor)
        if row["mproc"] is None:
            return goal, "no figure"
        met = slowdown(figure.unit, row["mproc"], factor) <= 1
        return goal, "goal met" if met else "goal missed"
    goal = f"within {factor:g}x of {side}" if factor >= 1 else f"{1 / factor:g}x {side} or more"
    if row["mproc"] is None or not row[side]:
        return goal, "no figure"
    met = slowdown(figure.unit, row["mproc"], row[side]) <= factor
    return goal, "goal met" if met else "goal missed"


def print_table(rows, raw_name="raw"):
    header = ("figure", "mproc", "CPython", raw_name, f"mproc/{raw_name}", "python/mproc", "goal", "")
    others = {figure.name: row for figure, row in rows}
    lines = [header]
    for figure, row in rows:
        lines.append((figure.name,
                      *(fmt_value(figure.unit, row[s]) for s in SIDES),
                      fmt_ratio(ratio(row["mproc"], row["raw"])),
                      fmt_ratio(ratio(row["python"], row["mproc"])),
                      *verdict(figure, row, others)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    print(f"\nEach value is the median of its interleaved rounds."
          "\nTimes (unit s): lower is better; mproc/raw lower is better (1.00 is the OS floor),"
          "\npython/mproc higher is better (above 1: mproc is faster than CPython)."
          "\nRates (unit .../s): higher is better, so both ratio directions flip.")


def measure(build_dir, figures, nrounds, only):
    """Each figure's sides taken in turns for nrounds rounds; the median of each."""
    rows = []
    for figure in figures:
        if only and not figure.name.startswith(tuple(only)):
            continue
        print(f"running {figure.name} ...", file=sys.stderr, flush=True)
        rounds = {side: [] for side in SIDES}
        for _ in range(nrounds):
            for side in SIDES:
                rounds[side].append(run_side(build_dir, figure, side))
        rows.append((figure, {side: None if None in values else statistics.median(values)
                              for side, values in rounds.items()}))
    return rows


# ---- MPI: the Pool on 2 worker ranks (libmproc-mpi), issue goals: map of small
# items at least 10x mpi4py.futures, 1 MiB items within 1.3x of raw MPI_Send/Recv.

class MpiFigure(NamedTuple):
    name: str      # the figure bench_mpi and mpi_pool_bench.py measure
    btl: str       # Open MPI's transport: tcp, or vader (shared memory)
    unit: str
    n: int
    raw: bool      # a raw MPI_Send/Recv side exists
    goal: Tuple[str, float]


MPI_FIGURES = [
    MpiFigure("pool_map", "tcp", "items/s", 1000000, False, ("mpi4py", 1 / 10)),
    MpiFigure("mpi_map_1MiB", "tcp", "B/s", 1000, True, ("raw_mpi", 1.3)),
    MpiFigure("pool_map", "vader", "items/s", 1000000, False, ("mpi4py", 1 / 10)),
    MpiFigure("mpi_map_1MiB", "vader", "B/s", 1000, True, ("raw_mpi", 1.3)),
]
MPI_SIDES = ("mproc_mpi", "mpi4py", "mproc_local", "raw_mpi")
MPI_ROUNDS = 3
# Debian's mpi4py is installed for the system python, not the first on PATH.
MPI4PY_PYTHON = "/usr/bin/python3"


def mpi_env():
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def mpi_command(build_dir, fig, side):
    mpiexec = ["mpiexec", "-n", "3", "--oversubscribe", "--mca", "pml", "ob1",
               "--mca", "btl", f"{fig.btl},self"]
    bench_mpi = os.path.join(build_dir, "bench", "bench_mpi")
    args = [fig.name, str(fig.n)]
    if side == "mproc_mpi":
        return mpiexec + [bench_mpi] + args + ["mpi"]
    if side == "mproc_local":
        return [bench_mpi] + args + ["local"]
    if side == "raw_mpi":
        return mpiexec + [bench_mpi] + args + ["raw"] if fig.raw else None
    return mpiexec + [MPI4PY_PYTHON, "-m", "mpi4py.futures",
                      os.path.join(HERE, "python", "mpi_pool_bench.py")] + args


def mpi_available(build_dir):
    if not os.path.exists(os.path.join(build_dir, "bench", "bench_mpi")):
        return False
    probe = subprocess.run([MPI4PY_PYTHON, "-c", "import mpi4py.futures"], capture_output=True)
    if probe.returncode:
        print("MPI figures: no mpi4py for /usr/bin/python3 (scripts/install-deps.sh mpi)",
              file=sys.stderr)
    return probe.returncode == 0


def run_mpi(build_dir):
    rows = []
    for fig in MPI_FIGURES:
        print(f"running {fig.name} over {fig.btl} ...", file=sys.stderr, flush=True)
        rounds = {side: [] for side in MPI_SIDES}
        for _ in range(MPI_ROUNDS):
            for side in MPI_SIDES:
                argv = mpi_command(build_dir, fig, side)
                rounds[side].append(run_argv(argv, fig.name, fig.unit, side, mpi_env())
                                    if argv else None)
        rows.append((fig, {side: None if None in values else statistics.median(values)
                           for side, values in rounds.items()}))
    return rows


def print_mpi_table(rows):
    header = ("figure", "btl", *MPI_SIDES, "goal", "")
    lines = [header]
    for fig, row in rows:
        side, factor = fig.goal
        goal = f"within {factor:g}x of {side}" if factor >= 1 else f"{1 / factor:g}x {side} or more"
        met = "no figure"
        if row["mproc_mpi"] and row[side]:
            met = "goal met" if slowdown(fig.unit, row["mproc_mpi"], row[side]) <= factor \
                else "goal missed"
        lines.append((fig.name, fig.btl, *(fmt_value(fig.unit, row[s]) for s in MPI_SIDES),
                      goal, met))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    print(f"\nMPI figures: 2 workers (mpiexec -n 3, or the local Pool(2)), median of "
          f"{MPI_ROUNDS} rounds; rates, higher is better.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--out", help="results file (default BUILD_DIR/bench/results.json)")
    parser.add_argument("--only", nargs="+", metavar="PREFIX",
                        help="run only the figures whose names start with one of these")
    parser.add_argument("--windows", metavar="MINGW_BUILD_DIR",
                        help="also run the Windows figures of this mingw build under Wine")
    parser.add_argument("--wineprefix", default=os.environ.get(
        "MPROC_WINEPREFIX", os.path.join(os.path.dirname(HERE), "build", "_deps", "wineprefix")),
        help="the Wine prefix for --windows")
    args = parser.parse_args()
    build_dir = os.path.abspath(args.build_dir)
    out = args.out or os.path.join(build_dir, "bench", "results.json")

    rows = measure(build_dir, FIGURES, ROUNDS, args.only)
    results = [{"figure": fig.name, "unit": fig.unit, **row} for fig, row in rows]
    mpi_rows = []
    if (not args.only or any("mpi".startswith(p) or p.startswith("mpi") for p in args.only)) \
            and mpi_available(build_dir):
        mpi_rows = run_mpi(build_dir)
        results += [{"figure": fig.name, "btl": fig.btl, "unit": fig.unit, **row}
                    for fig, row in mpi_rows]
    win_rows = []
    if args.windows:
        WINE["env"] = dict(os.environ, WINEPREFIX=os.path.abspath(args.wineprefix), WINEDEBUG="-all")
        win_rows = measure(os.path.abspath(args.windows), WINDOWS_FIGURES, WINDOWS_ROUNDS, args.only)
        results += [{"figure": fig.name, "unit": fig.unit, "platform": "windows-under-wine", **row}
                    for fig, row in win_rows]

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    if rows:
        print_table(rows)
    if mpi_rows:
        print_mpi_table(mpi_rows)
    if win_rows:
        print("\nWindows: the mingw build under Wine, against raw Win32 programs under Wine"
              "\n(Wine is not Windows: absolute figures mean little, the ratios count).\n")
        print_table(win_rows, raw_name="raw Win32")
    print(f"\nresults: {out}")
    failed = any(row[side] is None and getattr(fig, side) is not None
                 for fig, row in rows + win_rows for side in SIDES) or \
        any(row[side] is None and (side != "raw_mpi" or fig.raw)
            for fig, row in mpi_rows for side in MPI_SIDES)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
