"""The experiment's report: every number read back from the stages' own output files.

``report.md`` holds the **primary endpoint**'s verdict (the headline) and every other comparison of the
treatment with the other arms as a secondary result (``verdicts``), pass@1 per language for each arm and
stage, RL's change per arm (its own language and each target), the SFT and RL budgets and reward from the
training logs, a pass@1 table (and RL's change) for each further evaluation (``also_evaluate``), the same
cell and change tables for the share of programs that run to their end, and the alignment summary. Every
interval is ``statistics.estimate`` of per-seed, per-problem scores from the evaluations' records
(``eval.jsonl``). ``pass_at_1.png`` and ``alignment.png`` plot them; all of it also goes to TensorBoard under
``<output_dir>/tb``.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from lit_parallel.experiment import training_logs
from lit_parallel.experiment.comparisons import Measured, PerSeed, collect, mean_over
from lit_parallel.experiment.config import ExperimentConfig
from lit_parallel.experiment.pipeline import BASE, WARM, Stage, cpu_share, flags, plan
from lit_parallel.experiment.statistics import FLOOR, LEVEL, RESAMPLES, SEED, ran_to_end
from lit_parallel.experiment.verdicts import MEAN_COLUMN, comparison_lines, shown
from lit_parallel.figures import plt, png_bytes, png_to_rgb

POINTS = (BASE, WARM, "sft", "rl")


def method(experiment: ExperimentConfig) -> str:
    """How every interval and verdict below is made."""
    return (
        "Every comparison is formed per seed and per problem, then combined over seeds. Paired: transfer is a "
        "problem's score after RL minus the same problem's before RL at the same seed; an arm difference is the "
        "same problem in both arms at the same seed; a mean over targets averages each problem over the targets "
        "first. Only problems measured at every seed of a comparison count. **Per seed**: the mean over problems "
        f"with a {LEVEL:.0%} percentile bootstrap interval that resamples clusters (a problem's family or "
        f"composition; a problem naming none is its own; {RESAMPLES} resamples, seed {SEED}). **Over seeds**: the "
        "mean of the per-seed means; its interval's half-width is the root sum of squares of two t half-widths: "
        "run to run (the per-seed means' variance over S, Hartung-Knapp's random-effects variance with equal "
        "weights, on S-1 degrees of freedom) and the shared problems (every seed measures the same problems: "
        "the clusters' minus the residual mean square of the seeds x clusters table over S C, when positive, on "
        "C-1 degrees of freedom). A cell of one seed has its bootstrap interval only: run-to-run variance is "
        "not in it. A verdict is `better` when the interval lies above 0, "
        f"`worse` below, `cannot tell` when it holds 0, and needs {experiment.min_seeds} seeds. The primary "
        "endpoint's verdict is the answer; every other comparison is secondary, its interval at the Bonferroni "
        "level. An arm that scores 0 before RL in a target at every seed cannot lose there: its transfer there is "
        f"a `{FLOOR}` and is left out."
    )


def evaluations(stages: Sequence[Stage], measure: str = "") -> list[tuple[Stage, list[dict]]]:
    """Each finished evaluation stage of ``measure`` (the main one by default) with its per-sample records."""
    done = [s for s in stages if s.kind == "evaluate" and s.measure == measure and s.output.exists()]
    return [(stage, read_records(stage.output.with_suffix(".jsonl"))) for stage in done]


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pass_table(measured: Measured, rows: Sequence[tuple[str, str]], languages: Sequence[str]) -> list[str]:
    lines = ["| arm | stage | seeds | " + " | ".join(languages) + " |", "|---|---|---|" + "---|" * len(languages)]
    for arm, point in rows:
        texts = [
            shown(measured.estimate(measured.seeds(arm, point, lang)), measured.most([lang])) for lang in languages
        ]
        lines.append(f"| {arm} | {point} | {len(measured.cells[arm, point])} | " + " | ".join(texts) + " |")
    return lines


def problem_counts(measured: Measured, languages: Sequence[str]) -> str:
    """How many problems (and clusters) each language's cells rest on, at most; the records left out."""
    counts = []
    for lang in languages:
        tasks = {t for per_seed in measured.cells.values() for s in per_seed.values() for t in s.get(lang, {})}
        clusters = len({measured.clusters.get(task, task) for task in tasks})
        counts.append(f"{lang} {measured.most([lang])} ({clusters} clusters)")
    dropped = ", ".join(f"{arm} {n}" for arm, n in measured.dropped.items())
    return (
        f"Problems per language: {', '.join(counts)}. "
        f"Records left out as machinery failures (sandbox_error), per arm: {dropped}."
    )


def transfer_table(measured: Measured, experiment: ExperimentConfig, languages: Sequence[str]) -> list[str]:
    """Per arm: RL's change in the source language (what it trained on) and in each other language of
    ``languages`` (transfer), with their mean; descriptive, no verdict."""
    source = experiment.source_language
    own = [source] if source in languages else []
    others = [lang for lang in languages if lang != source]
    columns = [f"{source} (RL's own)" for _ in own] + others + ([MEAN_COLUMN] if others else [])
    lines = ["| arm (RL from) | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for arm in experiment.arms:
        changes = {lang: measured.transfer(arm, lang, experiment.arms) for lang in languages}
        shown_columns: list[tuple[PerSeed, list[str]]] = [(changes[lang], [lang]) for lang in [*own, *others]]
        if others:
            shown_columns.append((mean_over([changes[lang] for lang in others]), others))
        texts = [shown(measured.estimate(per_seed), measured.most(langs), True) for per_seed, langs in shown_columns]
        lines.append(f"| {arm} ({measured.start(arm, experiment.arms)[1]}) | " + " | ".join(texts) + " |")
    return lines


def measured_languages(measured: Measured) -> list[str]:
    return sorted({lang for per_seed in measured.cells.values() for scores in per_seed.values() for lang in scores})


def rows_of(measured: Measured) -> list[tuple[str, str]]:
    """(arm, point) of every cell, base first, then SFT, then RL."""
    return [key for point in POINTS for key in measured.cells if key[1] == point]


def further_lines(stages: Sequence[Stage], experiment: ExperimentConfig) -> list[str]:
    """A pass@1 table (and RL's change) for each evaluation of ``also_evaluate``."""
    lines = []
    for name, options in experiment.also_evaluate.items():
        measured = collect(evaluations(stages, name))
        if not measured.cells:
            continue
        languages = measured_languages(measured)
        lines += [f"## pass@1 on `{name}`: `{' '.join(flags(options))}`", ""]
        lines += [*pass_table(measured, rows_of(measured), languages), "", problem_counts(measured, languages), ""]
        if experiment.rl_config:
            change = transfer_table(measured, experiment, languages)
            lines += ["After RL minus before RL, paired per problem:", "", *change, ""]
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


def plot_pass_at_1(measured: Measured, rows: Sequence[tuple[str, str]], languages: Sequence[str], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2 + 1.2 * len(languages), 4), dpi=100)
    width = 0.8 / max(len(rows), 1)
    for i, (arm, point) in enumerate(rows):
        found = [measured.estimate(measured.seeds(arm, point, lang)) for lang in languages]
        means = [iv.mean if iv else 0.0 for iv in found]
        errors = [[iv.mean - iv.low if iv else 0.0 for iv in found], [iv.high - iv.mean if iv else 0.0 for iv in found]]
        x = [j + (i - (len(rows) - 1) / 2) * width for j in range(len(languages))]
        ax.bar(x, means, width, yerr=errors, label=f"{arm}/{point}", capsize=2)
    ax.set_xticks(range(len(languages)), languages)
    ax.set_ylabel(f"pass@1 ({LEVEL:.0%} interval over seeds and clusters)")
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
    measured = collect(evaluated)
    rows, languages = rows_of(measured), measured_languages(measured)
    transferred = [experiment.source_language, *experiment.targets]
    lines = [f"# Experiment `{experiment.name}`", "", f"- command: `{command}`", f"- started: {started}"]
    lines += [f"- wall time of this invocation: {wall_s / 60:.1f} min; {stage_time(stages)}"]
    lines += [f"- seeds: {experiment.seeds}; source language: {experiment.source_language}", ""]
    lines += [method(experiment), ""]
    if experiment.rl_config and experiment.comparisons:
        lines += comparison_lines(measured, experiment)
    lines += ["## pass@1 per language", "", *pass_table(measured, rows, languages), ""]
    lines += [problem_counts(measured, languages), ""]
    if experiment.rl_config:
        lines += ["## Transfer: pass@1 after RL minus before RL, paired per problem (descriptive)", ""]
        lines += [*transfer_table(measured, experiment, transferred), ""]
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
    plot_pass_at_1(measured, rows, languages, out / "pass_at_1.png")
    report = out / "report.md"
    report.write_text("\n".join(lines))
    log_to_tensorboard(out, report, measured, experiment)
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


def log_to_tensorboard(out: Path, report: Path, measured: Measured, experiment: ExperimentConfig) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(out / "tb")) as writer:
        writer.add_text("report", report.read_text())
        for png in sorted(out.glob("*.png")):
            writer.add_image(png.stem, png_to_rgb(png.read_bytes()), dataformats="HWC")
        for arm in experiment.arms:
            for lang in experiment.targets:
                found = measured.estimate(measured.transfer(arm, lang, experiment.arms))
                if found is not None:
                    writer.add_scalar(f"transfer/{arm}/{lang}", found.mean)
