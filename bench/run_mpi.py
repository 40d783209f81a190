#!/usr/bin/env python3
"""The MPI figures: the Pool on 2 worker ranks (libmproc-mpi, docs/mpi.md)
against mpi4py.futures' MPIPoolExecutor.map, the local Pool and raw
MPI_Send/Recv, over TCP and over shared memory, in the same run.

Usage: run_mpi.py BUILD_DIR [--out FILE] [--only FIGURE] [--rounds N]
Needs BUILD_DIR/bench/bench_mpi (built when MPI is found) and Debian's
python3-mpi4py for /usr/bin/python3 (scripts/install-deps.sh mpi); without
them it says so and exits 0. Writes FILE (default
BUILD_DIR/bench/results_mpi.json) and prints a table, and for a figure with a
raw side, mproc's slowdown against raw MPI in each round (the sides of a
round run one after another, so a loaded machine disturbs a round's pair
less than it moves the medians). Exits 1 when a side fails to run, 0
otherwise (benchmarks report, tests assert).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import NamedTuple, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))

from run import fmt_value, is_time  # noqa: E402  (bench/run.py, beside this file)


def run_argv(argv, name, unit, side, env=None):
    """Run one side once; its figure from the JSON line it prints last."""
    try:
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


def slowdown(unit, mproc, other):
    """How many times worse mproc is than `other` (< 1: better), for either unit."""
    return mproc / other if is_time(unit) else other / mproc


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


def run_mpi(build_dir, only=None, nrounds=MPI_ROUNDS):
    rows = []
    for fig in MPI_FIGURES:
        if only and fig.name != only:
            continue
        print(f"running {fig.name} over {fig.btl} ...", file=sys.stderr, flush=True)
        rounds = {side: [] for side in MPI_SIDES}
        for _ in range(nrounds):
            for side in MPI_SIDES:
                argv = mpi_command(build_dir, fig, side)
                rounds[side].append(run_argv(argv, fig.name, fig.unit, side, mpi_env())
                                    if argv else None)
        rows.append((fig, {side: None if None in values else statistics.median(values)
                           for side, values in rounds.items()}))
        if fig.raw:
            paired = [slowdown(fig.unit, m, r) for m, r in zip(rounds["mproc_mpi"], rounds["raw_mpi"])
                      if m and r]
            print(f"{fig.name} over {fig.btl}: mproc / raw MPI in each round: "
                  + ", ".join(f"{x:.2f}x" for x in paired), file=sys.stderr, flush=True)
    return rows


def print_mpi_table(rows, nrounds=MPI_ROUNDS):
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
          f"{nrounds} rounds; rates, higher is better.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--out")
    parser.add_argument("--only", choices=sorted({fig.name for fig in MPI_FIGURES}),
                        help="run this figure only (both transports)")
    parser.add_argument("--rounds", type=int, default=MPI_ROUNDS,
                        help=f"rounds of every side (default {MPI_ROUNDS}); the figure is their median")
    args = parser.parse_args()
    build_dir = os.path.abspath(args.build_dir)
    out = os.path.abspath(args.out or os.path.join(build_dir, "bench", "results_mpi.json"))
    if not mpi_available(build_dir):
        print("MPI figures: skipped (no bench_mpi or no mpi4py)", file=sys.stderr)
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    rows = run_mpi(build_dir, args.only, args.rounds)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump([{"figure": fig.name, "btl": fig.btl, "unit": fig.unit, **row}
                   for fig, row in rows], f, indent=2)
        f.write("\n")
    print_mpi_table(rows, args.rounds)
    print(f"\nresults: {out}")
    failed = any(row[side] is None and (side != "raw_mpi" or fig.raw)
                 for fig, row in rows for side in MPI_SIDES)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
