"""Intervals and verdicts of an experiment: a bootstrap over problems, every difference paired per problem.

The unit of every interval is the problem (``task_id``): the question is how the arms would compare on
other problems like these. A cell's per-problem score is the mean of a measure (passed: pass@1) over
its records, and over the seeds of the cell (**seeds pooled**: each seed's score of a problem first,
then their mean), so a cell, a transfer or an arm difference is one number per problem, and its
interval is the percentile bootstrap of the mean of those numbers. A difference is always formed per
problem before resampling (**paired**): transfer is the same problem after RL minus before RL (and
the same seed), an arm difference is the same problem in both arms. The spread between seeds of one
arm is inside each problem's score and is not resampled: with two or three seeds it could not be.

A verdict is read off an interval mechanically: ``better`` when it lies above 0, ``worse`` below,
``cannot tell`` when it holds 0. Pure functions: no files, no models.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
"""The bootstrap's defaults: every interval of a report is drawn from this seed, so it is reproducible."""

BETTER, WORSE, CANNOT_TELL = "better", "worse", "cannot tell"

Scores = dict[str, float]
"""task_id -> a per-problem score."""


@dataclass(frozen=True)
class Interval:
    """A mean over problems and its bootstrap interval."""

    mean: float
    low: float
    high: float
    problems: int

    def format(self, signed: bool = False) -> str:
        """``0.250 [0.125, 0.375]`` (``+0.250 [...]`` for a difference)."""
        spec = "+.3f" if signed else ".3f"
        mean, low, high = (round(x, 3) + 0.0 for x in (self.mean, self.low, self.high))  # no "-0.000"
        return f"{mean:{spec}} [{low:{spec}}, {high:{spec}}]"


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


def pool(parts: Sequence[Scores]) -> Scores:
    """Per problem, the mean over ``parts`` (the seeds of a cell, or the targets of a macro mean); only
    the problems every part measured."""
    if not parts:
        return {}
    shared = set.intersection(*(set(scores) for scores in parts))
    return {task: float(np.mean([scores[task] for scores in parts])) for task in sorted(shared)}


def subtract(a: Scores, b: Scores) -> Scores:
    """Per problem, ``a - b``: the paired difference over the problems both measured."""
    return {task: a[task] - b[task] for task in sorted(a.keys() & b.keys())}


def resample_means(values: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The means of ``resamples`` bootstrap resamples (problems drawn with replacement) of ``values``."""
    array = np.asarray(values, dtype=float)
    rows = np.random.default_rng(seed).integers(0, len(array), size=(resamples, len(array)))
    return array[rows].mean(axis=1)


def percentile_interval(values: Sequence[float], means: np.ndarray, level: float = LEVEL) -> Interval:
    """The mean of ``values`` and the central ``level`` share of its bootstrap ``means``."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(np.mean(values)), float(low), float(high), len(values))


def interval(scores: Scores | Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> Interval | None:
    """The mean over problems and its 95% percentile bootstrap interval; None without problems. Problems
    are taken in task_id order, so the interval depends on the scores, not on the order they were read in."""
    values = [scores[task] for task in sorted(scores)] if isinstance(scores, dict) else list(scores)
    if not values:
        return None
    return percentile_interval(values, resample_means(values, resamples, seed))


def verdict(difference: Interval | None) -> str:
    """``better`` when the whole interval is above 0, ``worse`` when below, else ``cannot tell``."""
    if difference is None:
        return CANNOT_TELL
    if difference.low > 0:
        return BETTER
    if difference.high < 0:
        return WORSE
    return CANNOT_TELL


def agree(verdicts: Sequence[str]) -> str:
    """The verdict all comparisons share, else ``cannot tell`` (better than one arm and not another is
    no answer to the question)."""
    return verdicts[0] if verdicts and len(set(verdicts)) == 1 else CANNOT_TELL
