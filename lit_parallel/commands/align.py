"""``lit-parallel align``: cross-language alignment of a model, an adapter or an SFT checkpoint.

Prints a per-layer table (means over language pairs), a per-pair summary and, with ``--compare``, the
per-layer differences from an earlier report; writes the JSON report and its plot beside it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lit_parallel import checks
from lit_parallel.analysis.embedding import POOLINGS, ParallelPrograms, dataset_programs, measure_alignment
from lit_parallel.analysis.plot import plot_alignment
from lit_parallel.analysis.similarity import best_layer
from lit_parallel.commands.arguments import Command
from lit_parallel.commands.common import format_table
from lit_parallel.commands.model import ModelChoice, load_inference_model
from lit_parallel.errors import DataError
from lit_parallel.modeling import load_tokenizer

TABLE_METRICS = (("top1", "top1"), ("mrr", "mrr"), ("cos_pos", "cos+"), ("cos_neg", "cos-"), ("cos_gap", "gap"))
"""(metric, column name) of the per-layer table."""


def layer_table(report: dict) -> str:
    """Layer x (pooling, metric), each the mean over language pairs."""
    header = ["layer", *(f"{p}:{name}" for p in report["curves"] for _, name in TABLE_METRICS)]
    rows = [
        [layer, *(f"{curves['mean'][m][layer]:.3f}" for curves in report["curves"].values() for m, _ in TABLE_METRICS)]
        for layer in range(report["layers"])
    ]
    return format_table(header, rows)


def pair_table(report: dict) -> str:
    """Per pair and pooling: the layer of best top-1, its top-1 and MRR, and top-1 and gap at the last layer."""
    rows = []
    for pooling, curves in report["curves"].items():
        for pair, curve in curves.items():
            best = best_layer(curve)
            top1, mrr, gap = curve["top1"], curve["mrr"], curve["cos_gap"]
            values = (top1[best], mrr[best], top1[-1], gap[-1])
            rows.append([pair, pooling, best, *(f"{v:.3f}" for v in values)])
    return format_table(["pair", "pooling", "best layer", "top1", "mrr", "last top1", "last gap"], rows)


def read_comparison(path: Path, programs: ParallelPrograms) -> dict:
    """An earlier report to compare with, checked before any work: it must cover the same programs."""
    try:
        other = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable JSON report ({exc})") from None
    for key in ("languages", "task_ids", "layers", "curves"):
        if not isinstance(other, dict) or key not in other:
            raise DataError(f"{path}: field {key!r} is missing: not a lit-parallel align report")
    if other["languages"] != programs.languages or other["task_ids"] != list(programs.task_ids):
        raise DataError(f"{path}: field 'languages' or 'task_ids' differs from this run's: the reports do not compare")
    return other


def delta_table(report: dict, other: dict, other_path: Path) -> str:
    """Per layer, this report's means over pairs minus ``other``'s."""
    if report["layers"] != other["layers"]:
        raise DataError(f"{other_path}: field 'layers' is {other['layers']}, this model has {report['layers']}")
    poolings = [p for p in report["curves"] if p in other["curves"]]
    metrics = [(m, name) for m, name in TABLE_METRICS if m in ("top1", "mrr", "cos_gap")]
    header = ["layer", *(f"{p}:d{name}" for p in poolings for _, name in metrics)]
    rows = [
        [
            layer,
            *(
                f"{report['curves'][p]['mean'][m][layer] - other['curves'][p]['mean'][m][layer]:+.3f}"
                for p in poolings
                for m, _ in metrics
            ),
        ]
        for layer in range(report["layers"])
    ]
    return format_table(header, rows)


@dataclass
class AlignConfig:
    """Cross-language retrieval and cosine similarity of hidden states, per layer, of a model, an adapter
    or a checkpoint. Programs are embedded as they are, without a prompt."""

    model: ModelChoice = field(default_factory=ModelChoice)
    """The model measured (its ``chat`` and ``system_prompt`` are unused: no prompt is rendered)."""
    dataset: str = "bundled"
    """A dataset SPEC (see ``data verify``)."""
    split: Literal["eval", "train", "all"] = "eval"
    """Which problems of the dataset."""
    languages: list[str] | None = None
    """At least two (default: all the dataset has); data-only languages too (nothing runs)."""
    limit: int | None = None
    """The first N complete parallel groups."""
    pooling: list[str] = field(default_factory=lambda: list(POOLINGS))
    """How token states become one vector: mean, last, or both."""
    batch_size: int = 8
    """Programs embedded together."""
    max_length: int = 512
    """Tokens per program (longer ones are cut)."""
    compare: Path | None = None
    """An earlier report: print this run minus it per layer."""
    output: Path = Path("runs/align.json")
    """The JSON report; the plot beside it as .png."""

    def __post_init__(self) -> None:
        checks.at_least(self.limit, 2, "limit")
        checks.choices(self.pooling, POOLINGS, "pooling")
        checks.at_least(self.batch_size, 1, "batch_size")
        checks.at_least(self.max_length, 2, "max_length")


def run(config: AlignConfig) -> int:
    checks.languages(config.languages, "languages")
    checks.existing_file(config.compare, "compare")
    checks.output_file(config.output, "output")
    started = time.perf_counter()
    programs = dataset_programs(config.dataset, config.languages, config.split, config.limit)
    other = read_comparison(config.compare, programs) if config.compare else None
    config.model.check()
    model, spec = load_inference_model(config.model)
    source = spec.source
    report = measure_alignment(
        model, load_tokenizer(source), programs, config.pooling, config.batch_size, config.max_length
    )
    seconds = time.perf_counter() - started
    n, chance = report["groups"], report["chance"]
    print(layer_table(report))
    print()
    print(pair_table(report))
    print(f"\nchance among {n} groups: top1 {chance['top1']:.3f}, mrr {chance['mrr']:.3f}")
    if other is not None:
        print(f"\nthis run minus {config.compare}:")
        print(delta_table(report, other, config.compare))
    programs_count = n * len(report["languages"])
    print(f"\n{programs_count} programs ({', '.join(report['languages'])}) embedded and measured in {seconds:.0f} s")
    config.output.parent.mkdir(parents=True, exist_ok=True)
    choice = config.model
    what = {"model": source, "adapter": choice.adapter, "checkpoint": choice.checkpoint, "config": choice.fit_config}
    what["dataset"] = config.dataset
    config.output.write_text(json.dumps({**what, **report, "wall_time_s": round(seconds, 1)}, indent=1) + "\n")
    config.output.with_suffix(".png").write_bytes(
        plot_alignment(report, title=str(choice.checkpoint or choice.adapter or source))
    )
    print(f"report in {config.output}, plot in {config.output.with_suffix('.png')}")
    return 0


COMMAND = Command(
    "align", "cross-language retrieval and cosine similarity of hidden states, per layer", AlignConfig, run
)
