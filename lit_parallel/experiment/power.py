"""How many seeds and problems an experiment needs: the power of ``statistics.combine``'s interval, sized
from a pilot.

A pilot's per-seed, per-problem values of the primary endpoint (paired differences, as the report forms
them) give three variance components under the two-way random-effects layout that ``combine`` reads
(seeds x clusters of cluster means): a *run*'s shift of the endpoint (the same on every problem of a seed),
a *cluster*'s shift (the same at every seed), and the *within-seed* noise of one problem beyond both. From
them, the chance that the interval excludes 0 at a true effect follows from its sampling distribution:
the grand mean is normal; the seeds', clusters' and residual mean squares are independent scaled
chi-squares on S-1, C-1 and (S-1)(C-1) degrees of freedom; the chance that the mean lies beyond the
half-width is integrated over the three (midpoints of ``GRID`` quantiles each). tests/test_statistics.py
checks the integral against 1,000 simulated experiments of the method itself.

With a pilot of 2 seeds the run component rests on one degree of freedom: size on it as an estimate, and
say so. Pure functions on numbers: no files, no models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lit_parallel.experiment.statistics import LEVEL, cluster_codes, cluster_means, half_widths, mean_squares

GRID = 40
"""Quantiles of each mean square's chi-square the power integral is taken over."""
POWER = 0.8


@dataclass(frozen=True)
class Spread:
    """The standard deviations of a paired endpoint's parts, each in the endpoint's units."""

    run: float
    """A training run's (seed's) shift, shared by its problems: run-to-run spread."""
    cluster: float
    """A cluster's shift, the same at every seed: what the shared problems happen to favour."""
    problem: float
    """One problem's noise at one seed beyond both shifts: the within-seed spread."""


def spread_of(values: np.ndarray, tasks: list[str], clusters: Mapping[str, str]) -> tuple[Spread, float]:
    """A pilot's (S, P) per-seed, per-problem paired values (S >= 2) -> its spread (moment estimates of the
    mean squares, negative parts at 0) and its problems per cluster."""
    codes = cluster_codes(tasks, clusters)
    z = cluster_means(np.asarray(values, dtype=float), codes)
    seeds, count = z.shape
    seed_part, cluster_part, residual_part = (part * seeds * count for part in mean_squares(z))
    per_cluster = len(tasks) / count
    spread = Spread(
        run=float(np.sqrt(max(seed_part - residual_part, 0.0) / count)),
        cluster=float(np.sqrt(max(cluster_part - residual_part, 0.0) / seeds)),
        problem=float(np.sqrt(residual_part * per_cluster)),
    )
    return spread, per_cluster


def pilot_spread(per_seed: Mapping[int, Mapping[str, float]], clusters: Mapping[str, str]) -> tuple[Spread, float]:
    """A pilot's comparison as the report forms it (seed -> task -> paired value, e.g. the primary endpoint's
    ``per_seed``) -> ``spread_of`` over the problems every seed measured."""
    tasks = sorted(set.intersection(*(set(scores) for scores in per_seed.values())))
    values = np.array([[per_seed[seed][task] for task in tasks] for seed in sorted(per_seed)])
    return spread_of(values, tasks, clusters)


def power(
    effect: float,
    seeds: int,
    clusters: int,
    spread: Spread,
    per_cluster: float = 1.0,
    level: float = LEVEL,
    shared: bool = True,
) -> float:
    """The chance that ``combine``'s interval over ``seeds`` seeds and ``clusters`` clusters of ``per_cluster``
    problems excludes 0 at a true ``effect``; ``shared=False`` leaves the shared-problem part out (the t
    interval on S-1 degrees of freedom alone, whose power is the noncentral t's)."""
    from scipy import stats  # here: every command imports this module, and scipy costs a second

    noise = spread.problem**2 / per_cluster  # of a cluster's mean at one seed, beyond its shifts
    cells = seeds * clusters
    expected = [
        (clusters * spread.run**2 + noise) / cells,
        (seeds * spread.cluster**2 + noise) / cells,
        noise / cells,
    ]
    sd = np.sqrt(spread.run**2 / seeds + spread.cluster**2 / clusters + noise / cells)
    midpoints = (np.arange(GRID) + 0.5) / GRID
    dfs = (seeds - 1, max(clusters - 1, 1), (seeds - 1) * max(clusters - 1, 1))
    grids = [e * stats.chi2.ppf(midpoints, df) / df for e, df in zip(expected, dfs, strict=True)]
    runs, problems = half_widths(*np.meshgrid(*grids, indexing="ij"), seeds, clusters, level)
    half = np.hypot(runs, problems) if shared else runs
    return float(np.mean(stats.norm.cdf((effect - half) / sd) + stats.norm.cdf((-effect - half) / sd)))


def smallest_effect(
    spread: Spread, seeds: int, clusters: int, per_cluster: float = 1.0, target: float = POWER, level: float = LEVEL
) -> float:
    """The smallest effect detected with chance ``target`` (bisection; power grows with the effect)."""
    low, high = 0.0, 1.0
    for _ in range(20):  # to 1e-6
        middle = (low + high) / 2
        low, high = (
            (low, middle) if power(middle, seeds, clusters, spread, per_cluster, level) >= target else (middle, high)
        )
    return high


@dataclass(frozen=True)
class Design:
    """Seeds and problems of an experiment, its power at the effect it was sized for, and what it costs."""

    seeds: int
    problems: int
    power: float
    smallest_effect: float
    """The effect it detects with 80% power."""
    seconds: float


def designs(
    spread: Spread,
    per_cluster: float,
    seconds_per_seed: float,
    seconds_per_problem: float,
    seeds: Iterable[int] = range(3, 17),
    problems: Iterable[int] = (100, 200, 300, 400, 500, 750, 1000),
    effect: float = 0.0,
) -> list[Design]:
    """Every (seeds, problems) with its power at ``effect``, its 80%-power effect and its cost: a seed's training
    (``seconds_per_seed``) and evaluation (``seconds_per_problem`` for each problem, every arm and point)."""
    found = []
    for s in seeds:
        for p in problems:
            clusters = max(round(p / per_cluster), 2)
            found.append(
                Design(
                    s,
                    p,
                    power(effect, s, clusters, spread, per_cluster),
                    smallest_effect(spread, s, clusters, per_cluster),
                    s * (seconds_per_seed + p * seconds_per_problem),
                )
            )
    return found


def cheapest(found: Iterable[Design], target: float = POWER) -> Design | None:
    """The cheapest design with at least ``target`` power (None when none has it)."""
    able = [design for design in found if design.power >= target]
    return min(able, key=lambda design: (design.seconds, design.seeds), default=None)


def most_sensitive(found: Iterable[Design], budget_seconds: float) -> Design | None:
    """Within ``budget_seconds``, the design with the smallest 80%-power effect (None when none fits)."""
    fitting = [design for design in found if design.seconds <= budget_seconds]
    return min(fitting, key=lambda design: (design.smallest_effect, design.seconds), default=None)
