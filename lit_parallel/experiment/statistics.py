"""Intervals and verdicts of an experiment: per seed and paired per problem, then across seeds.

A problem's score in one evaluation is the mean of a measure over its samples (``passed``: pass@1). Every
comparison, a cell, a transfer or an arm difference, is first formed **per seed and per problem** (paired:
transfer is a problem after RL minus the same problem before RL at the same seed; an arm difference is the
same problem in both arms at the same seed), over the problems measured at every seed it uses. Problems come
in **clusters** (a synthetic family or composition; a problem that names none is its own): outcomes within
a cluster move together, so the cluster, not the problem, is the unit of sampling.

- **Per seed**: the mean over problems, with a percentile bootstrap interval that resamples clusters.
- **Across seeds** (2 or more): the mean of the per-seed means. Its variance, read off the seeds x clusters
  table of cluster means (a two-way random-effects layout), has two parts. *Run to run*: the variance of
  the per-seed means over S, the Hartung-Knapp random-effects variance with equal weights, on S - 1 degrees
  of freedom. *The shared problems*: every seed measures the same problems, so what they happen to favour is
  common to all seeds and absent from the seeds' spread; its part is (MS_clusters - MS_residual) / (S C)
  when positive, on C - 1 degrees of freedom. The interval's half-width is the root sum of squares of each
  part's t half-width: the t interval on S - 1 degrees of freedom when the second part is 0, and on the
  safe side otherwise (simulated in tests/test_statistics.py: false verdicts at or below the nominal rate).

A verdict is read off an interval: ``better`` above 0, ``worse`` below, ``cannot tell`` when it holds 0, and
no verdict below ``min_seeds`` seeds. Pure functions on numbers: no files, no models.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
"""The per-seed bootstrap's defaults: every interval of a report is drawn from this seed, so it is reproducible."""

BETTER, WORSE, CANNOT_TELL = "better", "worse", "cannot tell"
TOO_FEW = "too few seeds for a verdict"
FLOOR = "floor: not comparable"

Scores = dict[str, float]
"""task_id -> a per-problem score."""
Clusters = Mapping[str, str]
"""task_id -> its cluster; a task missing here is its own cluster."""


@dataclass(frozen=True)
class Interval:
    """A mean and its interval."""

    mean: float
    low: float
    high: float

    def format(self, signed: bool = False) -> str:
        """``0.250 [0.125, 0.375]`` (``+0.250 [...]`` for a difference)."""
        spec = "+.3f" if signed else ".3f"
        mean, low, high = (round(x, 3) + 0.0 for x in (self.mean, self.low, self.high))  # no "-0.000"
        return f"{mean:{spec}} [{low:{spec}}, {high:{spec}}]"


@dataclass(frozen=True)
class Estimate(Interval):
    """A comparison over seeds: its interval, what it rests on, and each seed's own estimate."""

    seeds: tuple[int, ...]
    problems: int
    """Problems measured at every seed: the ones behind the interval."""
    clusters: int
    per_seed: tuple[Interval, ...]
    """Each seed's mean and its cluster-bootstrap interval, in the order of ``seeds``."""
    parts: tuple[float, float] | None
    """The half-widths from run-to-run variance and from the shared problems (``combine``); None with one seed:
    its cluster-bootstrap interval, runs not included."""


def passed(record: dict) -> float:
    """pass@1 of one sample: its program passed every test."""
    return float(record["passed"])


def ran_to_end(record: dict) -> float:
    """The program compiled and ran to its end, right or wrong: a signal that moves before pass@1 does."""
    return float(record["verdict"] in ("passed", "failed"))


MACHINERY_VERDICTS = frozenset({"sandbox_error"})
"""Verdicts that say the sandbox failed, not the program: such records are no evidence about the model."""


def problem_scores(records: Iterable[dict], measure: Callable[[dict], float] = passed) -> dict[str, Scores]:
    """language -> task_id -> mean of ``measure`` over the problem's samples (one evaluation's records);
    records the machinery failed on are left out."""
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record["verdict"] not in MACHINERY_VERDICTS:
            sums[record["language"]][record["task_id"]].append(measure(record))
    return {lang: {task: float(np.mean(v)) for task, v in tasks.items()} for lang, tasks in sums.items()}


def clusters_of(records: Iterable[dict]) -> dict[str, str]:
    """task_id -> the cluster its records name (records written before clusters name none: the task's own)."""
    return {record["task_id"]: record.get("cluster") or record["task_id"] for record in records}


def machinery_failures(records: Iterable[dict]) -> int:
    """How many records the machinery failed on: left out of every score."""
    return sum(record["verdict"] in MACHINERY_VERDICTS for record in records)


def pool(parts: Sequence[Scores]) -> Scores:
    """Per problem, the mean over ``parts`` (the targets of a macro mean); only the problems every part measured."""
    if not parts:
        return {}
    shared = set.intersection(*(set(scores) for scores in parts))
    return {task: float(np.mean([scores[task] for scores in parts])) for task in sorted(shared)}


def subtract(a: Scores, b: Scores) -> Scores:
    """Per problem, ``a - b``: the paired difference over the problems both measured."""
    return {task: a[task] - b[task] for task in sorted(a.keys() & b.keys())}


def at_floor(before: Iterable[Scores]) -> bool:
    """Every seed's cell scores 0 on every problem: an arm there cannot lose what it does not have, so its
    change cannot be compared with one that can."""
    cells = list(before)
    return bool(cells) and all(scores and not any(scores.values()) for scores in cells)


def cluster_codes(tasks: Sequence[str], clusters: Clusters) -> np.ndarray:
    """Each task's cluster as 0 .. C-1, in order of first appearance."""
    names = [clusters.get(task, task) for task in tasks]
    index = {name: i for i, name in enumerate(dict.fromkeys(names))}
    return np.array([index[name] for name in names])


def cluster_means(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(..., S, P) per-problem values -> (..., S, C): each cluster's sum times C / P, so that a seed's mean
    over clusters is its mean over problems, whatever the clusters' sizes."""
    count = int(codes.max()) + 1
    members = np.zeros((codes.size, count))
    members[np.arange(codes.size), codes] = 1.0
    return values @ members * (count / codes.size)


@dataclass(frozen=True)
class Combined:
    """Intervals over seeds, one per leading index of the values combined."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    runs: np.ndarray
    """The half-width from run-to-run variance alone."""
    problems: np.ndarray
    """The half-width from the shared problems alone."""


def mean_squares(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The seeds', clusters' and residual mean squares of (..., S, C) cluster means, each over S C: the
    variance the grand mean would have from each source alone."""
    seeds, count = z.shape[-2:]
    by_seed, by_cluster, grand = z.mean(-1), z.mean(-2), z.mean((-2, -1))
    seed_ms = count * by_seed.var(-1, ddof=1)
    if count < 2:  # one cluster: nothing is shared beyond the seeds' spread
        zero = np.zeros_like(seed_ms)
        return seed_ms / (seeds * count), zero, zero
    cluster_ms = seeds * by_cluster.var(-1, ddof=1)
    residual = z - by_seed[..., :, None] - by_cluster[..., None, :] + grand[..., None, None]
    residual_ms = (residual**2).sum((-2, -1)) / ((seeds - 1) * (count - 1))
    return seed_ms / (seeds * count), cluster_ms / (seeds * count), residual_ms / (seeds * count)


def half_widths(
    seed_part: np.ndarray, cluster_part: np.ndarray, residual_part: np.ndarray, seeds: int, clusters: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """The interval's half-widths from each source: run to run, ``t(S-1)`` times the per-seed means' standard
    error; the shared problems, ``t(C-1)`` times the square root of their part of the variance (cluster minus
    residual, counted when positive). The interval's half-width is their root sum of squares: exactly the
    t interval on S-1 degrees of freedom without the second part, and conservative with it (a sum of the two
    is nearer normal than either)."""
    from scipy import stats  # here: every command imports this module, and scipy costs a second

    quantile = 0.5 + level / 2
    runs = stats.t.ppf(quantile, seeds - 1) * np.sqrt(seed_part)
    shared = np.maximum(cluster_part - residual_part, 0.0)
    problems = stats.t.ppf(quantile, max(clusters - 1, 1)) * np.sqrt(shared)
    return runs, problems


def combine(values: np.ndarray, codes: np.ndarray, level: float = LEVEL) -> Combined:
    """The mean over seeds and problems of (..., S, P) paired per-problem values (S >= 2) and its interval,
    with run-to-run and shared-problem variance; ``codes``: each problem's cluster (``cluster_codes``)."""
    z = cluster_means(np.asarray(values, dtype=float), codes)
    seeds, count = z.shape[-2:]
    runs, problems = half_widths(*mean_squares(z), seeds, count, level)
    half = np.hypot(runs, problems)
    mean = z.mean((-2, -1))
    return Combined(mean, mean - half, mean + half, runs, problems)


def seed_interval(values: np.ndarray, codes: np.ndarray, level: float = LEVEL) -> Interval:
    """One seed's mean over problems and its percentile bootstrap interval, clusters drawn with replacement."""
    count = int(codes.max()) + 1
    totals = np.bincount(codes, weights=values, minlength=count)
    sizes = np.bincount(codes, minlength=count)
    rows = np.random.default_rng(SEED).integers(0, count, size=(RESAMPLES, count))
    means = totals[rows].sum(axis=1) / sizes[rows].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(values.mean()), float(low), float(high))


def estimate(per_seed: Mapping[int, Scores], clusters: Clusters, level: float = LEVEL) -> Estimate | None:
    """A comparison's per-problem values at each seed -> its estimate over the problems measured at every seed
    (None without any): per-seed intervals, and over 2 or more seeds the interval of ``combine``."""
    seeds = sorted(seed for seed, scores in per_seed.items() if scores)
    shared = sorted(set.intersection(*(set(per_seed[seed]) for seed in seeds))) if seeds else []
    if not shared:
        return None
    values = np.array([[per_seed[seed][task] for task in shared] for seed in seeds])
    codes = cluster_codes(shared, clusters)
    each = tuple(seed_interval(row, codes, level) for row in values)
    found, parts = each[0], None
    if len(seeds) > 1:
        combined = combine(values, codes, level)
        found = Interval(float(combined.mean), float(combined.low), float(combined.high))
        parts = (float(combined.runs), float(combined.problems))
    clusters_behind = int(codes.max()) + 1
    return Estimate(found.mean, found.low, found.high, tuple(seeds), len(shared), clusters_behind, each, parts)


def verdict(found: Estimate | None, min_seeds: int) -> str:
    """``better`` when the whole interval is above 0, ``worse`` when below, else ``cannot tell``; no verdict
    from fewer than ``min_seeds`` seeds."""
    if found is None:
        return CANNOT_TELL
    if len(found.seeds) < min_seeds:
        return TOO_FEW
    if found.low > 0:
        return BETTER
    if found.high < 0:
        return WORSE
    return CANNOT_TELL


def bonferroni(level: float, comparisons: int) -> float:
    """The level of each of ``comparisons`` intervals that hold together with at least ``level`` (Bonferroni)."""
    return 1 - (1 - level) / max(comparisons, 1)
