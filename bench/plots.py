"""The sweeps of run.py (how cost grows with message size, producers and
consumers, workers and chunk size; and where the 1x1 queue sides are placed),
each point measured on mproc and its raw floor in turns, and their plots: SVG
files written by gnuplot (scripts/install-deps.sh bench), skipped with a note
when gnuplot is missing."""
import os
import shutil
import statistics
import subprocess
import sys
from typing import NamedTuple, Optional, Tuple

MiB = 1 << 20
SWEEP_ROUNDS = 3
# Seconds a sweep point's side may take (each takes a few): a hang costs this
# much of make bench's 10 minutes, not run.py's 300 s.
POINT_TIMEOUT = 60


class Point(NamedTuple):
    label: str
    figure: str
    params: Tuple[int, ...]
    iterations: int
    pin: Optional[str] = None  # MPROC_BENCH_PIN for this point (None: run.py's --pin)


def clamp(v, lo, hi):
    return int(max(lo, min(hi, v)))


def size_label(size):
    for unit, scale in (("MiB", MiB), ("KiB", 1024)):
        if size >= scale:
            return f"{size // scale} {unit}"
    return f"{size} B"


QUEUE_SIZES = (64, 1024, 16384, 65536, 262144, MiB, 4 * MiB, 8 * MiB, 16 * MiB, 32 * MiB)
PIPE_SIZES = (64, 1024, 16384, 65536, 262144, MiB, 4 * MiB, 16 * MiB)
PLACED = (("queue_64B", 10000000), ("queue_64KiB", 30000), ("queue_1MiB", 2000))
# name: (title, unit, x axis label, log x, points)
SWEEPS = {
    "queue_size": ("Queue, one producer to the parent: bytes/s by message size", "B/s",
                   "message size", True,
                   [Point(size_label(s), "queue_size", (s,), clamp(256 * MiB / s, 12, 2000000))
                    for s in QUEUE_SIZES]),
    "pipe_size": ("Pipe round trip by message size", "s", "message size", True,
                  [Point(size_label(s), "pipe_size", (s,), clamp(64 * MiB / s, 10, 20000))
                   for s in PIPE_SIZES]),
    "queue_pc": ("Queue, 64-byte messages: producers x consumers", "msg/s",
                 "producers x consumers", False,
                 [Point(f"{p}x{c}", "queue_pc", (p, c), 1000000)
                  for p, c in ((1, 1), (1, 2), (2, 1), (2, 2), (1, 4), (4, 1), (4, 4))]),
    "pool_workers": ("Pool map of 1 M integers: items/s by workers (default chunksize)",
                     "items/s", "workers", False,
                     [Point(str(w), "pool_map", (w,), 1000000) for w in (1, 2, 4)]),
    "pool_chunksize": ("Pool(2) map of 1 M integers: items/s by chunksize", "items/s",
                       "chunksize", True,
                       [Point(str(c), "pool_map", (2, c), 1000000)
                        for c in (100, 1000, 10000, 125000, 500000)]),
    "queue_placement": ("1x1 queue figures by placement of producer and consumer: mproc/floor",
                        "ratio", "figure, placement", False,
                        [Point(f"{f[6:]} {pin}", f, (), n, pin) for f, n in PLACED
                         for pin in ("none", "same", "split")]),
}


def run_point(run, Figure, Side, unit, point):
    figure = Figure(point.figure, unit if unit != "ratio" else unit_of(point.figure),
                    Side("bench_mproc", point.iterations, params=point.params), None,
                    Side("bench_raw", point.iterations, params=point.params))
    values = {"mproc": [], "raw": []}
    for _ in range(SWEEP_ROUNDS):
        for side in values:
            values[side].append(run(figure, getattr(figure, side), point.pin))
    pairs = [m / r for m, r in zip(values["mproc"], values["raw"]) if m and r]
    med = {side: statistics.median(v) if None not in v else None for side, v in values.items()}
    return {"label": point.label, "params": list(point.params), "pin": point.pin,
            "unit": figure.unit, **med,
            "ratio": statistics.median(pairs) if pairs else None,
            "ratio_spread": (max(pairs) - min(pairs)) / statistics.median(pairs)
            if len(pairs) > 1 else None,
            "rounds": values}


def unit_of(figure):
    return "B/s" if figure == "queue_1MiB" else "msg/s"


def run_sweeps(run, Figure, Side, only):
    """{sweep name: [point results]} for the sweeps `only` selects (None: all)."""
    sweeps = {}
    for name, (title, unit, xlabel, logx, points) in SWEEPS.items():
        if only and not name.startswith(tuple(only)):
            continue
        print(f"sweeping {name} ...", file=sys.stderr, flush=True)
        sweeps[name] = {"title": title, "unit": unit, "xlabel": xlabel, "logx": logx,
                        "points": [run_point(run, Figure, Side, unit, p) for p in points]}
    return sweeps


def print_sweeps(sweeps, fmt_value):
    for name, sweep in sweeps.items():
        print(f"\n{sweep['title']} ({name}; medians of {SWEEP_ROUNDS} rounds)")
        for p in sweep["points"]:
            ratio = "-" if p["ratio"] is None else f"{p['ratio']:.3g}x"
            if p["ratio_spread"] is not None:
                ratio += f" ±{50 * p['ratio_spread']:.0f}%"
            print(f"  {p['label']:<22} mproc {fmt_value(p['unit'], p['mproc']):<12} "
                  f"floor {fmt_value(p['unit'], p['raw']):<12} mproc/floor {ratio}")


def gnuplot_script(name, sweep, data, svg, machine):
    ratio = sweep["unit"] == "ratio"
    ylabel = "mproc / floor" if ratio else (
        "round trip (s)" if sweep["unit"] == "s" else sweep["unit"])
    lines = ["set terminal svg size 720,420 dynamic font 'sans,11' background '#ffffff'",
             f"set output '{svg}'",
             f"set title \"{sweep['title']}\\n{machine}\" noenhanced",
             f"set xlabel '{sweep['xlabel']}'", f"set ylabel '{ylabel}'",
             "set termoption noenhanced", "set grid", "set key top left",
             "set style data linespoints"]
    if ratio:
        lines += ["set style data histogram", "set style fill solid 0.6", "set yrange [0:*]",
                  "set xtics rotate by 30 right offset 0,-0.6 nomirror", "set key off", "set format y '%.2f'",
                  "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2",
                  f"plot '{data}' using 3:xtic(1) title 'mproc/floor'"]
        return "\n".join(lines) + "\n"
    if sweep["logx"]:
        lines.append("set logscale x 2" if sweep["xlabel"] == "message size" else "set logscale x")
    if sweep["logx"] or sweep["unit"] == "s":
        lines += ["set logscale y", "set format y '%.0s %c'"]
    else:
        lines += ["set yrange [0:*]", "set format y '%.1s %c'"]
    x = "2" if sweep["logx"] else "0"
    lines.append(f"plot '{data}' using {x}:3:xtic(1) title 'mproc' pt 7, "
                 f"'' using {x}:4 title 'raw floor' pt 5")
    return "\n".join(lines) + "\n"


def write_plots(sweeps, out_dir, machine):
    """One SVG per sweep in out_dir; returns their paths (none without gnuplot)."""
    if not shutil.which("gnuplot"):
        print("plots skipped: no gnuplot (scripts/install-deps.sh bench)", file=sys.stderr)
        return []
    where = f"{machine['nproc']} CPUs, {machine['cpu']}, {machine['date']}"
    paths = []
    for name, sweep in sweeps.items():
        data = os.path.join(out_dir, f"{name}.dat")
        with open(data, "w") as f:
            for p in sweep["points"]:
                x = p["params"][-1] if p["params"] else 0
                value = p["ratio"] if sweep["unit"] == "ratio" else p["mproc"]
                floor = 1 if sweep["unit"] == "ratio" else p["raw"]
                cols = ["NaN" if v is None else repr(v) for v in (value, floor, p["ratio"])]
                f.write(f"\"{p['label']}\" {x} {' '.join(cols[:2])} {cols[2]}\n")
        svg = os.path.join(out_dir, f"{name}.svg")
        script = gnuplot_script(name, sweep, data, svg, where)
        done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if done.returncode:
            print(f"plot {name}: gnuplot failed: {done.stderr}", file=sys.stderr)
            continue
        paths.append(svg)
    return paths
