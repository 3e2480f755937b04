"""``lit-parallel align``: cross-language alignment of a model, an adapter or an SFT checkpoint.

Prints a per-layer table (means over language pairs), a per-pair summary and, with ``--compare``, the
per-layer differences from an earlier report; writes the JSON report and its plot beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lit_parallel.analysis.embedding import POOLINGS, ParallelPrograms, dataset_programs, measure_alignment
from lit_parallel.analysis.plot import plot_alignment
from lit_parallel.analysis.similarity import best_layer
from lit_parallel.checks import check_align
from lit_parallel.commands.common import DATASET_HELP, format_table
from lit_parallel.commands.model import add_model_arguments, check_model_arguments, load_inference_model
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
    for field in ("languages", "task_ids", "layers", "curves"):
        if not isinstance(other, dict) or field not in other:
            raise DataError(f"{path}: field {field!r} is missing: not a lit-parallel align report")
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


def run(args: argparse.Namespace) -> int:
    check_align(args)
    started = time.perf_counter()
    programs = dataset_programs(args.dataset, args.languages, args.split, args.limit)
    other = read_comparison(args.compare, programs) if args.compare else None
    check_model_arguments(args)
    model, spec = load_inference_model(args)
    source = spec.source
    report = measure_alignment(model, load_tokenizer(source), programs, args.pooling, args.batch_size, args.max_length)
    seconds = time.perf_counter() - started
    n, chance = report["groups"], report["chance"]
    print(layer_table(report))
    print()
    print(pair_table(report))
    print(f"\nchance among {n} groups: top1 {chance['top1']:.3f}, mrr {chance['mrr']:.3f}")
    if other is not None:
        print(f"\nthis run minus {args.compare}:")
        print(delta_table(report, other, args.compare))
    programs_count = n * len(report["languages"])
    print(f"\n{programs_count} programs ({', '.join(report['languages'])}) embedded and measured in {seconds:.0f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    what = {"model": source, "adapter": args.adapter, "checkpoint": args.checkpoint, "config": args.config}
    what["dataset"] = args.dataset
    args.output.write_text(json.dumps({**what, **report, "wall_time_s": round(seconds, 1)}, indent=1) + "\n")
    args.output.with_suffix(".png").write_bytes(
        plot_alignment(report, title=str(args.checkpoint or args.adapter or source))
    )
    print(f"report in {args.output}, plot in {args.output.with_suffix('.png')}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    al = sub.add_parser("align", help="cross-language retrieval and cosine similarity of hidden states, per layer")
    add_model_arguments(al)
    al.add_argument("--dataset", default="bundled", help=DATASET_HELP)
    al.add_argument("--split", default="eval", choices=["eval", "train", "all"], help="which problems of the dataset")
    al.add_argument("--languages", nargs="+", default=None, help="at least two (default: all the dataset has)")
    al.add_argument("--limit", type=int, default=None, help="first N complete parallel groups")
    al.add_argument("--pooling", nargs="+", default=list(POOLINGS), choices=POOLINGS)
    al.add_argument("--batch-size", type=int, default=8)
    al.add_argument("--max-length", type=int, default=512, help="tokens per program (longer ones are cut)")
    al.add_argument("--compare", type=Path, default=None, help="an earlier report: print this run minus it per layer")
    al.add_argument("--output", type=Path, default=Path("runs/align.json"), help="JSON report; the plot beside it")
    al.set_defaults(func=run)
