"""The experiment's report: every number read back from the stages' own output files.

``report.md`` holds pass@1 per language for each arm and stage (mean and spread over seeds), the
transfer table (per target language: pass@1 after RL minus before RL, paired by seed), the same two
tables for the share of programs that run to their end, and the alignment summary;
``pass_at_1.png`` and ``alignment.png`` plot them; all of it also goes to TensorBoard under
``<output_dir>/tb``.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt

from lit_parallel.experiment.config import Arm, ExperimentConfig
from lit_parallel.experiment.pipeline import BASE, Stage, plan

POINTS = (BASE, "sft", "rl")


def spread(values: Sequence[float]) -> str:
    """``mean ± std (n=N)`` over seeds (the sample standard deviation), or the one value."""
    if len(values) < 2:
        return f"{values[0]:.3f}" if values else "-"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} (n={len(values)})"


def pass_at_1(metrics: dict[str, float]) -> dict[str, float]:
    """Language -> pass@1, from an evaluation's metrics."""
    return {
        name.split("/", 1)[1]: value
        for name, value in metrics.items()
        if name.startswith("pass@1/") and name != "pass@1/targets"
    }


def ran_to_completion(metrics: dict[str, float]) -> dict[str, float]:
    """Language -> share of programs that compiled and ran to their end (right or wrong output): a
    signal that moves before pass@1 does when a model is too small to solve the problems."""
    return {
        lang: sum(metrics.get(f"verdicts/{lang}/{verdict}", 0.0) for verdict in ("passed", "failed"))
        for lang in pass_at_1(metrics)
    }


def evaluations(stages: Sequence[Stage]) -> list[tuple[Stage, dict[str, float]]]:
    """Each finished evaluation stage with the metrics of its eval.json."""
    done = [s for s in stages if s.kind == "evaluate" and s.output.exists()]
    return [(stage, json.loads(stage.output.read_text())["metrics"]) for stage in done]


def collect(
    evaluated: Sequence[tuple[Stage, dict[str, float]]], measure: Callable[[dict], dict[str, float]] = pass_at_1
) -> dict:
    """(arm, point) -> language -> seed -> ``measure`` of each evaluation's metrics."""
    table: dict = defaultdict(lambda: defaultdict(dict))
    for stage, metrics in evaluated:
        for lang, value in measure(metrics).items():
            table[stage.arm, stage.point][lang][stage.seed] = value
    return table


def before_rl(arm: str, arms: dict[str, Arm]) -> str:
    """What RL started from: the arm's SFT model, or the base model for RL straight from it."""
    return "sft" if arms[arm].config else BASE


def transfer(table: dict, arm: str, language: str, arms: dict[str, Arm]) -> list[float]:
    """Per seed: pass@1 after RL minus before RL (seeds measured at both points only)."""
    start = before_rl(arm, arms)
    after = table.get((arm, "rl"), {}).get(language, {})
    before = table.get((arm if start == "sft" else BASE, start), {}).get(language, {})
    return [after[s] - before[s] for s in sorted(after) if s in before]


def pass_table(table: dict, rows: Sequence[tuple[str, str]], languages: Sequence[str]) -> list[str]:
    lines = ["| arm | stage | " + " | ".join(languages) + " |", "|---|---|" + "---|" * len(languages)]
    for arm, point in rows:
        cells = [spread(list(table[arm, point].get(lang, {}).values())) for lang in languages]
        lines.append(f"| {arm} | {point} | " + " | ".join(cells) + " |")
    return lines


def transfer_table(table: dict, experiment: ExperimentConfig) -> list[str]:
    targets = experiment.targets
    lines = [
        "| arm (RL from) | " + " | ".join(targets) + " | mean over targets |",
        "|---|" + "---|" * (len(targets) + 1),
    ]
    for arm in experiment.arms:
        deltas = {lang: transfer(table, arm, lang, experiment.arms) for lang in targets}
        per_seed = [statistics.mean(d) for d in zip(*deltas.values(), strict=False)] if all(deltas.values()) else []
        cells = [spread(deltas[lang]) for lang in targets]
        lines.append(f"| {arm} ({before_rl(arm, experiment.arms)}) | " + " | ".join(cells) + f" | {spread(per_seed)} |")
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


def plot_pass_at_1(table: dict, rows: Sequence[tuple[str, str]], languages: Sequence[str], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2 + 1.2 * len(languages), 4), dpi=100)
    width = 0.8 / max(len(rows), 1)
    for i, (arm, point) in enumerate(rows):
        values = [list(table[arm, point].get(lang, {}).values()) for lang in languages]
        means = [statistics.mean(v) if v else 0.0 for v in values]
        errors = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
        x = [j + (i - (len(rows) - 1) / 2) * width for j in range(len(languages))]
        ax.bar(x, means, width, yerr=errors, label=f"{arm}/{point}", capsize=2)
    ax.set_xticks(range(len(languages)), languages)
    ax.set_ylabel("pass@1")
    ax.legend(fontsize=7, ncol=2)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def plot_alignment(reports: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for (arm, point), found in reports.items():
        ax.plot(mean_curve(found, "top1"), marker=".", label=f"{arm}/{point}")
    ax.set_xlabel("layer")
    ax.set_ylabel("cross-language top-1 retrieval (mean pooling)")
    ax.legend(fontsize=7)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def write_report(experiment: ExperimentConfig, command: str, started: str, wall_s: float) -> Path:
    """report.md and the plots in the output directory, also logged to TensorBoard; the report's path."""
    out = Path(experiment.output_dir)
    stages = plan(experiment)
    evaluated = evaluations(stages)
    table = collect(evaluated)
    rows = [key for point in POINTS for key in table if key[1] == point]
    languages = sorted({lang for cells in table.values() for lang in cells})
    staged = sum(json.loads(s.marker.read_text())["seconds"] for s in stages if s.marker.exists())
    lines = [f"# Experiment `{experiment.name}`", "", f"- command: `{command}`", f"- started: {started}"]
    lines += [
        f"- wall time of this invocation: {wall_s / 60:.1f} min; of all stages, over every run: {staged / 60:.1f} min"
    ]
    lines += [f"- seeds: {experiment.seeds}; source language: {experiment.source_language}", ""]
    lines += ["## pass@1 per language (mean ± std over seeds)", "", *pass_table(table, rows, languages), ""]
    if experiment.rl_config:
        lines += ["## Transfer: pass@1 after RL minus before RL, paired by seed", ""]
        lines += [*transfer_table(table, experiment), ""]
    ran = collect(evaluated, ran_to_completion)
    lines += ["## Programs that compile and run to their end, right or wrong (share, mean ± std over seeds)", ""]
    lines += [*pass_table(ran, rows, languages), ""]
    if experiment.rl_config:
        lines += ["The same share, after RL minus before RL, paired by seed:", "", *transfer_table(ran, experiment), ""]
    reports = alignment_rows(stages)
    if reports:
        lines += ["## Alignment: cross-language retrieval, mean over language pairs (mean pooling)", ""]
        lines += [*alignment_table(reports), ""]
        plot_alignment(reports, out / "alignment.png")
    plot_pass_at_1(table, rows, languages, out / "pass_at_1.png")
    report = out / "report.md"
    report.write_text("\n".join(lines))
    log_to_tensorboard(out, report, table, experiment)
    return report


def log_to_tensorboard(out: Path, report: Path, table: dict, experiment: ExperimentConfig) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(out / "tb")) as writer:
        writer.add_text("report", report.read_text())
        for png in sorted(out.glob("*.png")):
            writer.add_image(png.stem, plt.imread(png)[..., :3], dataformats="HWC")
        for arm in experiment.arms:
            for lang in experiment.targets:
                deltas = transfer(table, arm, lang, experiment.arms)
                if deltas:
                    writer.add_scalar(f"transfer/{arm}/{lang}", statistics.mean(deltas))
