"""The report's answer: the primary endpoint's verdict, then every other comparison of the treatment as a
secondary result at the Bonferroni level, floors labelled, and the seeds each comparison rests on."""

from __future__ import annotations

from collections.abc import Sequence

from lit_parallel.experiment.comparisons import Comparison, Measured, comparisons, primary
from lit_parallel.experiment.config import MEAN, MEASURES, ExperimentConfig
from lit_parallel.experiment.power import POWER, pilot_spread, smallest_effect
from lit_parallel.experiment.statistics import FLOOR, LEVEL, Estimate, bonferroni, verdict

MEAN_COLUMN = "mean over targets"


def shown(found: Estimate | None, most: int, signed: bool = False) -> str:
    """An estimate's text, with the problems and clusters behind it when fewer than the most measured."""
    if found is None:
        return "-"
    behind = f" ({found.problems} problems, {found.clusters} clusters)" if found.problems < most else ""
    return found.format(signed) + behind


def question(found: Comparison, experiment: ExperimentConfig) -> str:
    """The primary endpoint as a question."""
    where = "the targets on average" if found.column == MEAN else found.column
    if found.measure == "transfer":
        return (
            f"does RL on {experiment.source_language} transfer better to {where} after {experiment.treatment} "
            f"than after {found.other}?"
        )
    return f"is pass@1 in {where} after RL higher after {experiment.treatment} than after {found.other}?"


def floor_note(found: Comparison) -> str:
    """Which targets a comparison left out as floors."""
    if not found.floors:
        return ""
    return f" ({FLOOR} in {', '.join(found.floors)}: an arm scored 0 there before RL at every seed)"


def per_seed_line(found: Estimate) -> str:
    each = "; ".join(f"seed {s} {iv.format(signed=True)}" for s, iv in zip(found.seeds, found.per_seed, strict=True))
    return f"Per seed (clusters resampled within the seed): {each}."


def primary_lines(measured: Measured, experiment: ExperimentConfig, endpoint: Comparison) -> list[str]:
    """The headline: the primary endpoint's verdict, its interval over seeds and each seed's estimate."""
    declared = "declared in the experiment" if experiment.primary.against else "the default"
    lines = [f"Primary endpoint ({declared}): {endpoint.describe(experiment.treatment)}{floor_note(endpoint)}.", ""]
    found = None if endpoint.floor else measured.estimate(endpoint.per_seed)
    word = FLOOR if endpoint.floor else verdict(found, experiment.min_seeds)
    lines += [f"**Verdict: {question(endpoint, experiment)} {word}.**", ""]
    if found is not None:
        parts = "one seed: clusters resampled, runs not included"
        if found.parts is not None:
            parts = f"half-width from runs ±{found.parts[0]:.3f}, from the shared problems ±{found.parts[1]:.3f}"
        seeds = ", ".join(map(str, found.seeds))
        lines += [
            f"{endpoint.describe(experiment.treatment)}: {found.format(signed=True)} ({LEVEL:.0%}; {parts}; "
            f"seeds {seeds}; {found.problems} problems, {found.clusters} clusters).",
            "",
            per_seed_line(found),
            "",
        ]
    if found is not None and found.parts is not None:
        lines += [detectable_line(measured, endpoint, found), ""]
    return lines


def detectable_line(measured: Measured, endpoint: Comparison, found: Estimate) -> str:
    """The effect this design detects with 80% power, from the spread of its own per-seed values."""
    shared = {seed: endpoint.per_seed[seed] for seed in found.seeds}
    spread, per_cluster = pilot_spread(shared, measured.clusters)
    effect = smallest_effect(spread, len(found.seeds), found.clusters, per_cluster)
    return (
        f"Minimum detectable effect of this design ({len(found.seeds)} seeds, {found.clusters} clusters): "
        f"±{effect:.3f} at {POWER:.0%} power, from its own spread (run to run ±{spread.run:.3f}, cluster "
        f"±{spread.cluster:.3f}, a problem within a seed ±{spread.problem:.3f}; the run part rests on "
        f"{len(found.seeds) - 1} degrees of freedom): lit_parallel.experiment.power."
    )


def secondary_lines(measured: Measured, experiment: ExperimentConfig, found: Sequence[Comparison]) -> list[str]:
    """Every other comparison at the Bonferroni level, floors labelled, the primary's cell pointing up."""
    main = primary(found, experiment)
    counted = [c for c in found if c is not main and not c.floor]
    level = bonferroni(LEVEL, len(counted))
    columns = [*experiment.targets, MEAN]
    lines = [
        f"Secondary: Bonferroni over the {len(counted)} comparisons that are neither the primary nor floors, "
        f"each interval at {level:.2%} (together at least {LEVEL:.0%}); a verdict needs {experiment.min_seeds} seeds.",
        "",
        "| difference | measure | " + " | ".join(t if t != MEAN else MEAN_COLUMN for t in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for other in experiment.comparisons:
        for measure, name in MEASURES.items():
            row = {c.column: c for c in found if (c.other, c.measure) == (other, measure)}
            texts = [secondary_text(measured, experiment, row[column], main, level) for column in columns]
            lines.append(f"| {experiment.treatment} - {other} | {name} | " + " | ".join(texts) + " |")
    notes = [
        f"Mean over targets of {c.describe(experiment.treatment)}{floor_note(c)}."
        for c in found
        if c.floors and not c.floor and c.column == MEAN
    ]
    return lines + (["", *notes] if notes else [])


def secondary_text(
    measured: Measured, experiment: ExperimentConfig, found: Comparison, main: Comparison | None, level: float
) -> str:
    if found is main:
        return "**primary** (above)"
    if found.floor:
        return FLOOR
    estimated = measured.estimate(found.per_seed, level)
    if estimated is None:
        return "-"
    most = measured.most(found.targets)
    return f"{shown(estimated, most, signed=True)} {verdict(estimated, experiment.min_seeds)}"


def seed_lines(measured: Measured, experiment: ExperimentConfig) -> list[str]:
    """The seeds each arm has after RL; a comparison uses the seeds both arms have, and says so when they differ."""
    arms = [experiment.treatment, *experiment.comparisons]
    have = {arm: measured.arm_seeds(arm) for arm in arms}
    lines = [
        "Seeds measured after RL: "
        + "; ".join(f"{a} {', '.join(map(str, s)) or 'none'}" for a, s in have.items())
        + "."
    ]
    for other in experiment.comparisons:
        ours = have[experiment.treatment]
        if ours != have[other]:
            shared = sorted(set(ours) & set(have[other]))
            lines.append(
                f"**Unequal seeds**: {experiment.treatment} - {other} is compared on the seeds both have, "
                f"{', '.join(map(str, shared)) or 'none'}."
            )
    return lines


def comparison_lines(measured: Measured, experiment: ExperimentConfig) -> list[str]:
    """The primary endpoint (the answer), then the secondary comparisons, then the seeds they rest on."""
    found = comparisons(measured, experiment)
    endpoint = primary(found, experiment)
    lines = ["## The primary question", ""]
    lines += (
        primary_lines(measured, experiment, endpoint) if endpoint else ["No primary endpoint: nothing compared.", ""]
    )
    lines += [f"## Secondary: {experiment.treatment} against the other arms, paired per problem", ""]
    lines += [*secondary_lines(measured, experiment, found), "", *seed_lines(measured, experiment), ""]
    return lines
