"""The experiment's report: every number read back from the stages' own output files.

``report.md`` holds pass@1 per language for each arm and stage, the transfer table (per target
language: pass@1 after RL minus before RL), the treatment's differences from the other arms (transfer
and final pass@1) with a verdict per target language and overall, the SFT and RL budgets and reward
from the training logs, a pass@1 table (and RL's change) for each further evaluation (``also_evaluate``:
held-out families, another corpus, another language), the same cell and transfer tables for the share of
programs that run to their end, and the alignment summary. Every cell is a mean over problems with its
95% bootstrap interval, computed per problem from the evaluations' records (``eval.jsonl``) by ``statistics``.
``pass_at_1.png`` and ``alignment.png`` plot them; all of it also goes to TensorBoard under
``<output_dir>/tb``.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from lit_parallel.experiment import training_logs
from lit_parallel.experiment.config import Arm, ExperimentConfig
from lit_parallel.experiment.pipeline import BASE, Stage, cpu_share, flags, plan
from lit_parallel.experiment.statistics import (
    LEVEL,
    RESAMPLES,
    SEED,
    Scores,
    agree,
    interval,
    passed,
    pool,
    problem_scores,
    ran_to_end,
    subtract,
    verdict,
)
from lit_parallel.figures import plt, png_bytes, png_to_rgb

POINTS = (BASE, "sft", "rl")
MEAN = "mean over targets"
Cells = dict[tuple[str, str], dict[int, dict[str, Scores]]]
"""(arm, point) -> seed -> language -> per-problem scores of that evaluation."""

METHOD = (
    f"Every cell: the mean over problems and its {LEVEL:.0%} percentile bootstrap interval over problems "
    f"({RESAMPLES} resamples, seed {SEED}). Seeds pooled: a problem's score is its mean over the cell's seeds "
    "(and samples). Differences are paired per problem: transfer is a problem's score after RL minus before "
    "RL at the same seed; an arm difference is the same problem in both arms. A verdict is `better` when the "
    "interval lies above 0, `worse` below, `cannot tell` when it holds 0. A mean over targets averages each "
    "problem over the targets first (problems measured in every target only). A cell where every problem scores "
    "the same (all 0, say) has a zero-width interval: the bootstrap cannot see past the problems measured."
)


def evaluations(stages: Sequence[Stage], measure: str = "") -> list[tuple[Stage, list[dict]]]:
    """Each finished evaluation stage of ``measure`` (the main one by default) with its per-sample records."""
    done = [s for s in stages if s.kind == "evaluate" and s.measure == measure and s.output.exists()]
    return [(stage, read_records(stage.output.with_suffix(".jsonl"))) for stage in done]


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def collect(evaluated: Sequence[tuple[Stage, list[dict]]], measure: Callable[[dict], float] = passed) -> Cells:
    """Each evaluation's per-problem ``measure`` per language, keyed by arm, point and seed."""
    cells: Cells = defaultdict(dict)
    for stage, records in evaluated:
        cells[stage.arm, stage.point][stage.seed] = problem_scores(records, measure)
    return cells


def cell(cells: Cells, arm: str, point: str, language: str) -> Scores:
    """Per problem, the mean over the seeds of (arm, point)."""
    return pool([scores[language] for scores in cells.get((arm, point), {}).values() if language in scores])


def start_of(arm: str, arms: dict[str, Arm]) -> tuple[str, str]:
    """What RL started from: the arm's SFT model, or the base model for RL straight from it."""
    return (arm, "sft") if arms[arm].config else (BASE, BASE)


def transfer(cells: Cells, arm: str, language: str, arms: dict[str, Arm]) -> Scores:
    """Per problem: after RL minus before RL at the same seed, then the mean over seeds. A base model
    measured once (greedy decoding draws nothing from the seed) stands for every seed."""
    start = start_of(arm, arms)
    after, before = cells.get((arm, "rl"), {}), cells.get(start, {})
    once = next(iter(before.values())) if start == (BASE, BASE) and len(before) == 1 else None
    pairs = [(after[seed], before.get(seed, once)) for seed in sorted(after)]
    return pool([subtract(a[language], b[language]) for a, b in pairs if b and language in a and language in b])


def text(scores: Scores, signed: bool = False) -> str:
    found = interval(scores)
    return found.format(signed) if found else "-"


def with_mean(per_language: dict[str, Scores]) -> dict[str, Scores]:
    """The per-language scores and, per problem, their mean over the languages (problems in all of them)."""
    return {**per_language, MEAN: pool(list(per_language.values()))}


def pass_table(cells: Cells, rows: Sequence[tuple[str, str]], languages: Sequence[str]) -> list[str]:
    lines = ["| arm | stage | seeds | " + " | ".join(languages) + " |", "|---|---|---|" + "---|" * len(languages)]
    for arm, point in rows:
        texts = [text(cell(cells, arm, point, lang)) for lang in languages]
        lines.append(f"| {arm} | {point} | {len(cells[arm, point])} | " + " | ".join(texts) + " |")
    return lines


def problem_counts(cells: Cells, languages: Sequence[str]) -> str:
    """How many problems each language's cells average over (the most any evaluation measured)."""
    evaluated = [scores for per_seed in cells.values() for scores in per_seed.values()]
    most = {lang: max(len(scores.get(lang, {})) for scores in evaluated) for lang in languages}
    return "Problems per language: " + ", ".join(f"{lang} {n}" for lang, n in most.items()) + "."


def transfer_table(cells: Cells, experiment: ExperimentConfig, languages: Sequence[str]) -> list[str]:
    """Per arm: RL's change in the source language (what it trained on) and in each other language of
    ``languages`` (transfer), with their mean."""
    source = experiment.source_language
    own = [source] if source in languages else []
    others = [lang for lang in languages if lang != source]
    columns = [f"{source} (RL's own)" for _ in own] + others + ([MEAN] if others else [])
    lines = ["| arm (RL from) | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for arm in experiment.arms:
        changes = {lang: transfer(cells, arm, lang, experiment.arms) for lang in languages}
        shown = [changes[lang] for lang in own]
        if others:
            shown += with_mean({lang: changes[lang] for lang in others}).values()
        texts = [text(scores, signed=True) for scores in shown]
        lines.append(f"| {arm} ({start_of(arm, experiment.arms)[1]}) | " + " | ".join(texts) + " |")
    return lines


def measured_languages(cells: Cells) -> list[str]:
    return sorted({lang for per_seed in cells.values() for scores in per_seed.values() for lang in scores})


def rows_of(cells: Cells) -> list[tuple[str, str]]:
    """(arm, point) of every cell, base first, then SFT, then RL."""
    return [key for point in POINTS for key in cells if key[1] == point]


def further_lines(stages: Sequence[Stage], experiment: ExperimentConfig) -> list[str]:
    """A pass@1 table (and RL's change) for each evaluation of ``also_evaluate``."""
    lines = []
    for measure, options in experiment.also_evaluate.items():
        cells = collect(evaluations(stages, measure))
        if not cells:
            continue
        languages = measured_languages(cells)
        lines += [f"## pass@1 on `{measure}`: `{' '.join(flags(options))}`", ""]
        lines += [*pass_table(cells, rows_of(cells), languages), "", problem_counts(cells, languages), ""]
        if experiment.rl_config:
            change = transfer_table(cells, experiment, languages)
            lines += ["After RL minus before RL, paired per problem:", "", *change, ""]
    return lines


def arm_differences(cells: Cells, experiment: ExperimentConfig, other: str) -> dict[str, dict[str, Scores]]:
    """Measure -> target (and their mean) -> per problem, the treatment's value minus ``other``'s."""
    ours, arms, targets = experiment.treatment, experiment.arms, experiment.targets
    moved = {lang: subtract(transfer(cells, ours, lang, arms), transfer(cells, other, lang, arms)) for lang in targets}
    final = {lang: subtract(cell(cells, ours, "rl", lang), cell(cells, other, "rl", lang)) for lang in targets}
    return {"transfer": with_mean(moved), "pass@1 after RL": with_mean(final)}


def verdict_lines(cells: Cells, experiment: ExperimentConfig) -> list[str]:
    """The treatment minus each other arm, per target, with intervals; the verdict per target (from the
    transfer differences: better or worse than every other arm, else cannot tell) and overall."""
    ours, others, columns = experiment.treatment, experiment.comparisons, [*experiment.targets, MEAN]
    found = {
        (other, measure): {column: interval(scores) for column, scores in per_column.items()}
        for other in others
        for measure, per_column in arm_differences(cells, experiment, other).items()
    }
    lines = ["| difference | measure | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for (other, measure), intervals in found.items():
        texts = [f"{iv.format(signed=True)} {verdict(iv)}" if iv else "-" for iv in intervals.values()]
        lines.append(f"| {ours} - {other} | {measure} | " + " | ".join(texts) + " |")
    lines += ["", "| target | " + " | ".join(f"transfer vs {o}" for o in others) + " | verdict |"]
    lines.append("|---|" + "---|" * (len(others) + 1))
    for column in columns:
        verdicts = [verdict(found[other, "transfer"][column]) for other in others]
        name = "**overall** (mean over targets)" if column == MEAN else column
        lines.append(f"| {name} | " + " | ".join(verdicts) + f" | **{agree(verdicts)}** |")
    overall = agree([verdict(found[other, "transfer"][MEAN]) for other in others])
    lines += ["", f"**Verdict: does RL on {experiment.source_language} transfer better after {ours}? {overall}.**"]
    evidence = [f"{ours} - {o}: {iv.format(signed=True)}" for o in others if (iv := found[o, "transfer"][MEAN])]
    lines += [
        "",
        "Transfer, mean over targets: " + ("; ".join(evidence) or "no problem measured in every target") + ".",
    ]
    return lines


def alignment_rows(stages: Sequence[Stage]) -> dict[tuple[str, str], list[dict]]:
    """(arm, point) -> the align.json reports of its seeds."""
    reports: dict = defaultdict(list)
    for stage in stages:
        if stage.kind == "align" and stage.output.exists():
            reports[stage.arm, stage.point].append(json.loads(stage.output.read_text()))
    return reports


def mean_curve(reports: Sequence[dict], metric: str, pooling: str = "mean") -> list[float]:
    """A metric per layer, averaged over language pairs (by ``align``) and then over seeds."""
    curves = [r["curves"][pooling]["mean"][metric] for r in reports]
    return [statistics.mean(values) for values in zip(*curves, strict=True)]


def alignment_table(reports: dict) -> list[str]:
    lines = ["| arm | stage | best layer | top-1 there | MRR there | top-1 last layer | cosine gap last layer |"]
    lines.append("|---|---|---|---|---|---|---|")
    for (arm, point), found in reports.items():
        top1, mrr, gap = (mean_curve(found, m) for m in ("top1", "mrr", "cos_gap"))
        best = max(range(len(top1)), key=top1.__getitem__)
        lines.append(
            f"| {arm} | {point} | {best} | {top1[best]:.3f} | {mrr[best]:.3f} | {top1[-1]:.3f} | {gap[-1]:.3f} |"
        )
    return lines


def plot_pass_at_1(cells: Cells, rows: Sequence[tuple[str, str]], languages: Sequence[str], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2 + 1.2 * len(languages), 4), dpi=100)
    width = 0.8 / max(len(rows), 1)
    for i, (arm, point) in enumerate(rows):
        found = [interval(cell(cells, arm, point, lang)) for lang in languages]
        means = [iv.mean if iv else 0.0 for iv in found]
        errors = [[iv.mean - iv.low if iv else 0.0 for iv in found], [iv.high - iv.mean if iv else 0.0 for iv in found]]
        x = [j + (i - (len(rows) - 1) / 2) * width for j in range(len(languages))]
        ax.bar(x, means, width, yerr=errors, label=f"{arm}/{point}", capsize=2)
    ax.set_xticks(range(len(languages)), languages)
    ax.set_ylabel(f"pass@1 ({LEVEL:.0%} bootstrap interval over problems)")
    ax.legend(fontsize=7, ncol=2)
    path.write_bytes(png_bytes(fig))


def plot_alignment_curves(reports: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for (arm, point), found in reports.items():
        ax.plot(mean_curve(found, "top1"), marker=".", label=f"{arm}/{point}")
    ax.set_xlabel("layer")
    ax.set_ylabel("cross-language top-1 retrieval (mean pooling)")
    ax.legend(fontsize=7)
    path.write_bytes(png_bytes(fig))


def stage_time(stages: list[Stage]) -> str:
    """The stages' summed wall time, and their CPU use where their records have it."""
    records = [json.loads(s.marker.read_text()) for s in stages if s.marker.exists()]
    line = f"of all stages, over every run: {sum(r['seconds'] for r in records) / 60:.1f} min"
    timed = [r for r in records if "cpu_seconds" in r]
    if timed:
        line += f", CPU {cpu_share(timed):.0%} over the {len(timed)} stages that recorded it"
    return line


def write_report(experiment: ExperimentConfig, command: str, started: str, wall_s: float) -> Path:
    """report.md and the plots in the output directory, also logged to TensorBoard; the report's path."""
    out = Path(experiment.output_dir)
    stages = plan(experiment)
    evaluated = evaluations(stages)
    cells = collect(evaluated)
    rows, languages = rows_of(cells), measured_languages(cells)
    transferred = [experiment.source_language, *experiment.targets]
    lines = [f"# Experiment `{experiment.name}`", "", f"- command: `{command}`", f"- started: {started}"]
    lines += [f"- wall time of this invocation: {wall_s / 60:.1f} min; {stage_time(stages)}"]
    lines += [f"- seeds: {experiment.seeds}; source language: {experiment.source_language}", "", METHOD, ""]
    lines += ["## pass@1 per language", "", *pass_table(cells, rows, languages), "", problem_counts(cells, languages)]
    lines += [""]
    if experiment.rl_config:
        lines += ["## Transfer: pass@1 after RL minus before RL, paired per problem", ""]
        lines += [*transfer_table(cells, experiment, transferred), ""]
    if experiment.rl_config and experiment.comparisons:
        lines += [f"## {experiment.treatment} against the other arms, paired per problem", ""]
        lines += [*verdict_lines(cells, experiment), ""]
    lines += further_lines(stages, experiment)
    lines += budget_lines(stages, experiment)
    ran = collect(evaluated, ran_to_end)
    lines += ["## Programs that compile and run to their end, right or wrong (share)", ""]
    lines += [*pass_table(ran, rows, languages), ""]
    if experiment.rl_config:
        lines += ["The same share, after RL minus before RL, paired per problem:", ""]
        lines += [*transfer_table(ran, experiment, transferred), ""]
    reports = alignment_rows(stages)
    if reports:
        lines += ["## Alignment: cross-language retrieval, mean over language pairs (mean pooling)", ""]
        lines += [*alignment_table(reports), ""]
        plot_alignment_curves(reports, out / "alignment.png")
    plot_pass_at_1(cells, rows, languages, out / "pass_at_1.png")
    report = out / "report.md"
    report.write_text("\n".join(lines))
    log_to_tensorboard(out, report, cells, experiment)
    return report


def budget_lines(stages: Sequence[Stage], experiment: ExperimentConfig) -> list[str]:
    """The SFT tokens per arm and the RL stages' reward and group spread, from their own logs."""
    sft = training_logs.sft_budget_lines(stages, experiment.treatment)
    rl = training_logs.rl_lines(stages)
    if not sft and not rl:
        return []
    lines = ["## Budgets and reward, from the training logs", ""]
    if sft:
        lines += [*sft, ""]
    if rl:
        lines += ["Every RL stage runs the same RL config and arguments (the budget is the same by construction).", ""]
        lines += [*rl, ""]
    return lines


def log_to_tensorboard(out: Path, report: Path, cells: Cells, experiment: ExperimentConfig) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(out / "tb")) as writer:
        writer.add_text("report", report.read_text())
        for png in sorted(out.glob("*.png")):
            writer.add_image(png.stem, png_to_rgb(png.read_bytes()), dataformats="HWC")
        for arm in experiment.arms:
            for lang in experiment.targets:
                deltas = transfer(cells, arm, lang, experiment.arms)
                if deltas:
                    writer.add_scalar(f"transfer/{arm}/{lang}", statistics.mean(deltas.values()))
