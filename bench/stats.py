"""The statistic of run.py's headline figures, and how sure it is.

Load on this machine only ever slows a side down, and it comes and goes in
bursts of seconds. So a side's figure is its good quartile over the rounds:
the lower quartile of its times, or the upper quartile of its rates (with 7
rounds, between its 2nd and 3rd best). A disturbed round falls out of it
instead of being averaged in, and unlike the single best round it is not
decided by one lucky round either. mproc/floor is the ratio of the two sides'
good quartiles, taken over the same interleaved rounds.

For whole-run figures (nothing inside a run filters a stall, and the two
sides' rounds vary independently, so the good quartile moved more there)
run.py takes paired_midmean(): the rounds' paired ratios, their lowest and
highest quarter dropped, averaged on a log scale. Like the median it ignores
disturbed rounds, and it uses the middle half of them rather than one or two:
resampling a quiet run of queue_4x4, two runs of 25 rounds differed by more
than 20% half as often as with the median; under load, as often
(docs/performance.md, profile 7).

How sure: a bootstrap (rounds drawn again with replacement: each side on its
own for ratio(), the pairs together for paired_midmean()) gives the 90%
interval; run.py adds rounds until it is within +-TARGET of the ratio, or
the figure's time is up.
"""
import math
import random
import statistics

QUARTILE = 0.25
TARGET = 0.10       # the interval's half width, relative to the ratio
RESAMPLES = 400
_RANDOM = random.Random(15)  # the same draws in every run: the interval repeats too


def is_time(unit):
    return unit == "s"


def good_quantile(values, unit, q=QUARTILE):
    """The q-quantile of `values` counted from the good end (the fastest
    times, the highest rates), interpolated; None without values."""
    values = sorted((v for v in values if v is not None), reverse=not is_time(unit))
    if not values:
        return None
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def ratio(mproc, other, unit):
    """mproc/other of the two sides' good quartiles."""
    a, b = good_quantile(mproc, unit), good_quantile(other, unit)
    return a / b if a is not None and b else None


def interval(mproc, other, unit):
    """(low, high) of the 90% bootstrap interval of ratio(); None with fewer
    than 3 rounds on a side."""
    mproc = [v for v in mproc if v is not None]
    other = [v for v in other if v is not None]
    if len(mproc) < 3 or len(other) < 3:
        return None
    draws = []
    for _ in range(RESAMPLES):
        r = ratio(_RANDOM.choices(mproc, k=len(mproc)), _RANDOM.choices(other, k=len(other)), unit)
        if r is not None:
            draws.append(r)
    if len(draws) < 2:
        return None
    cuts = statistics.quantiles(draws, n=20)
    return cuts[0], cuts[-1]


def half_width(mproc, other, unit):
    """Half of the 90% interval, relative to the ratio (0.1: +-10%); None
    when there is no interval yet."""
    r, ci = ratio(mproc, other, unit), interval(mproc, other, unit)
    if r is None or ci is None:
        return None
    return (ci[1] - ci[0]) / 2 / r


def paired_midmean(mproc, other):
    """The rounds' paired ratios mproc/other (rounds where both ran), the
    lowest and highest quarter of them dropped, the rest's geometric mean;
    None without any."""
    logs = sorted(math.log(m / o) for m, o in zip(mproc, other) if m and o)
    if not logs:
        return None
    cut = len(logs) // 4
    middle = logs[cut:len(logs) - cut]
    return math.exp(sum(middle) / len(middle))


def paired_half_width(mproc, other):
    """Half of paired_midmean()'s 90% bootstrap interval (the rounds drawn
    again with replacement, pairs kept together), relative to it."""
    pairs = [(m, o) for m, o in zip(mproc, other) if m and o]
    r = paired_midmean(mproc, other)
    if len(pairs) < 3 or r is None:
        return None
    draws = []
    for _ in range(RESAMPLES):
        drawn = _RANDOM.choices(pairs, k=len(pairs))
        draws.append(paired_midmean(*zip(*drawn)))
    cuts = statistics.quantiles(draws, n=20)
    return (cuts[-1] - cuts[0]) / 2 / r


def settled(mproc, other, unit, paired=False):
    """True when the ratio's interval (of paired_midmean() when `paired`,
    else of ratio()) is within +-TARGET."""
    h = paired_half_width(mproc, other) if paired else half_width(mproc, other, unit)
    return h is not None and h <= TARGET
