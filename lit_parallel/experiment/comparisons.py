"""What an experiment compares, per seed and per problem: cells, RL's change, and the treatment minus each
other arm, with the primary endpoint picked out and floors found. ``statistics`` turns each into an interval.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lit_parallel.experiment.config import MEAN, MEASURES, Arm, ExperimentConfig
from lit_parallel.experiment.pipeline import BASE, WARM, Stage
from lit_parallel.experiment.statistics import (
    LEVEL,
    Estimate,
    Scores,
    at_floor,
    clusters_of,
    estimate,
    machinery_failures,
    passed,
    pool,
    problem_scores,
    subtract,
)

PerSeed = dict[int, Scores]
"""seed -> task_id -> a per-problem score (or paired difference) at that seed."""
Cells = dict[tuple[str, str], dict[int, dict[str, Scores]]]
"""(arm, point) -> seed -> language -> per-problem scores of that evaluation."""


def start_of(arm: str, arms: dict[str, Arm]) -> tuple[str, str]:
    """What RL started from: the arm's SFT model, or the base model for RL straight from it."""
    return (arm, "sft") if arms[arm].config else (BASE, BASE)


def paired(a: PerSeed, b: PerSeed) -> PerSeed:
    """Per seed both have, per problem both measured: ``a - b``."""
    return {seed: subtract(a[seed], b[seed]) for seed in sorted(a.keys() & b.keys())}


def mean_over(parts: Sequence[PerSeed]) -> PerSeed:
    """Per seed every part has, per problem: the mean over ``parts`` (targets), problems in all of them."""
    seeds = set.intersection(*(set(part) for part in parts)) if parts else set()
    return {seed: pool([part[seed] for part in parts]) for seed in sorted(seeds)}


@dataclass
class Measured:
    """One measure's per-problem scores in every evaluation, the clusters of their problems, and the
    records each arm's evaluations left out as machinery failures."""

    cells: Cells = field(default_factory=lambda: defaultdict(dict))
    clusters: dict[str, str] = field(default_factory=dict)
    dropped: Counter = field(default_factory=Counter)

    def seeds(self, arm: str, point: str, language: str) -> PerSeed:
        """The cell (arm, point) in ``language`` at each seed that measured it."""
        found = self.cells.get((arm, point), {})
        return {seed: scores[language] for seed, scores in found.items() if language in scores}

    def start(self, arm: str, arms: dict[str, Arm]) -> tuple[str, str]:
        """What RL started from: the arm's SFT model; for RL straight from the start of every arm, the warm
        start's model when there is one, else the base model."""
        found = start_of(arm, arms)
        return (WARM, WARM) if found == (BASE, BASE) and (WARM, WARM) in self.cells else found

    def transfer(self, arm: str, language: str, arms: dict[str, Arm]) -> PerSeed:
        """Per seed and problem: after RL minus before RL at the same seed. A base model measured once
        (greedy decoding draws nothing from the seed) stands for every seed."""
        start = self.start(arm, arms)
        after, before = self.seeds(arm, "rl", language), self.seeds(*start, language)
        if start == (BASE, BASE) and len(before) == 1:
            before = dict.fromkeys(after, next(iter(before.values())))
        return paired(after, before)

    def estimate(self, per_seed: PerSeed, level: float = LEVEL) -> Estimate | None:
        return estimate(per_seed, self.clusters, level)

    def most(self, languages: Sequence[str]) -> int:
        """The most problems one evaluation measured in every one of ``languages``: an interval behind fewer
        says so."""
        sizes = [
            len(set.intersection(*(set(scores.get(lang, {})) for lang in languages)))
            for per_seed in self.cells.values()
            for scores in per_seed.values()
        ]
        return max(sizes, default=0)

    def arm_seeds(self, arm: str) -> list[int]:
        """The seeds at which ``arm`` was measured after RL."""
        return sorted(self.cells.get((arm, "rl"), {}))


def collect(evaluated: Sequence[tuple[Stage, list[dict]]], measure: Callable[[dict], float] = passed) -> Measured:
    """Each evaluation's per-problem ``measure`` per language, keyed by arm, point and seed."""
    found = Measured()
    for stage, records in evaluated:
        found.cells[stage.arm, stage.point][stage.seed] = problem_scores(records, measure)
        found.clusters.update(clusters_of(records))
        found.dropped[stage.arm] += machinery_failures(records)
    return found


@dataclass(frozen=True)
class Comparison:
    """The treatment minus ``other`` in one measure and one column (a target, or the mean over targets)."""

    other: str
    measure: str
    """A key of ``MEASURES``."""
    column: str
    """A target language or ``MEAN``."""
    per_seed: PerSeed
    floors: tuple[str, ...] = ()
    """The targets left out because an arm was at a floor there; all of them: the comparison is a floor."""
    targets: tuple[str, ...] = ()
    """The targets the comparison averages (one for a target's column)."""

    @property
    def floor(self) -> bool:
        return not self.targets

    def describe(self, treatment: str) -> str:
        column = "mean over targets" if self.column == MEAN else self.column
        return f"{treatment} - {self.other}, {MEASURES[self.measure]}, {column}"


def floor_targets(measured: Measured, arms: Sequence[str], targets: Sequence[str], all_arms: dict) -> list[str]:
    """The targets where one of ``arms`` scored 0 before RL on every problem at every seed."""
    return [
        lang
        for lang in targets
        if any(at_floor(measured.seeds(*measured.start(arm, all_arms), lang).values()) for arm in arms)
    ]


def comparisons(measured: Measured, experiment: ExperimentConfig) -> list[Comparison]:
    """The treatment minus each compared arm: per measure, per target and the mean over targets. Transfer
    leaves out the targets where either arm sat at a floor before RL."""
    ours, arms, targets = experiment.treatment, experiment.arms, experiment.targets
    found = []
    for other in experiment.comparisons:
        floors = floor_targets(measured, (ours, other), targets, arms)
        by_measure = {
            "transfer": {
                t: paired(measured.transfer(ours, t, arms), measured.transfer(other, t, arms)) for t in targets
            },
            "final": {t: paired(measured.seeds(ours, "rl", t), measured.seeds(other, "rl", t)) for t in targets},
        }
        for measure, per_target in by_measure.items():
            left_out = tuple(floors) if measure == "transfer" else ()
            kept = tuple(t for t in targets if t not in left_out)
            for target in targets:
                floored = target in left_out
                cut = ((target,), ()) if floored else ((), (target,))
                found.append(Comparison(other, measure, target, per_target[target], *cut))
            found.append(Comparison(other, measure, MEAN, mean_over([per_target[t] for t in kept]), left_out, kept))
    return found


def primary(found: Sequence[Comparison], experiment: ExperimentConfig) -> Comparison | None:
    """The experiment's primary endpoint among its comparisons (None when the treatment is compared with none)."""
    endpoint = experiment.primary
    wanted = (experiment.primary_against, endpoint.measure, endpoint.target)
    return next((c for c in found if (c.other, c.measure, c.column) == wanted), None)
