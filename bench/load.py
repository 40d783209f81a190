"""How contended the machine was while a side ran: the share of the wall
time in which some runnable task waited for a CPU (Linux's pressure stall
information, /proc/pressure/cpu "some"). run.py records it with every round
(results.json, rounds.load) so that a figure's rounds can be read against the
load; it does not enter the statistic: a side's own processes add to it too
(a ping-pong whose two ends share a CPU waits more and runs faster), so it
does not tell a disturbed round from a well-placed one.
None where PSI is not there (not Linux, or a kernel without it)."""
import time

PSI = "/proc/pressure/cpu"


def _stalled_seconds():
    try:
        with open(PSI) as f:
            some = f.readline().split()
    except OSError:
        return None
    total = [x for x in some if x.startswith("total=")]
    return int(total[0][6:]) * 1e-6 if total else None


def snapshot():
    return time.monotonic(), _stalled_seconds()


def pressure(before, after=None):
    """Share (0..1) of the time between two snapshots in which some task
    waited for a CPU; None without PSI or when no time passed."""
    after = after or snapshot()
    wall = after[0] - before[0]
    if before[1] is None or after[1] is None or wall <= 0:
        return None
    return max(0.0, min(1.0, (after[1] - before[1]) / wall))
