"""``lit-parallel evaluate``: pass@k per language of a model, an adapter or a checkpoint, on held-out problems."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

from lit_parallel import checks
from lit_parallel.commands.common import DATASET_HELP, format_table
from lit_parallel.commands.model import add_model_arguments, check_model_arguments, load_inference_model
from lit_parallel.execution import ExecutionSpec, Verdict
from lit_parallel.problems.loading import parse_spec


def run(args: argparse.Namespace) -> int:
    # Imported here: Lightning and the sampler cost seconds that the other commands need not pay.
    from datamodules import ParallelMixtureDataModule
    from lit_parallel.evaluation import jobs_for, run_jobs, summarize
    from lit_parallel.generation import SamplingSpec, generate
    from lit_parallel.progress import Progress

    checks.check_evaluate(args)
    for spec in args.dataset:
        parse_spec(spec)
    check_model_arguments(args)
    started = time.perf_counter()
    model, model_spec = load_inference_model(args)
    source = model_spec.source
    # Only the held-out (eval split) problems: the bundled corpus's train split is what SFT and RL saw.
    data = ParallelMixtureDataModule(
        datasets=args.dataset, eval_problems_per_language=args.limit, tokenizer=source, chat=not args.plain
    )
    data.load()
    sets = data.eval_sets(args.languages or sorted({lang for p in data.eval_problems for lang in p.variants}))
    checks.nonempty_sets(sets, "--languages")
    spec = SamplingSpec(args.n, args.temperature, args.top_p, args.max_new_tokens, args.batch_size, args.seed)
    engine = partial(generate, model, data.tokenizer, spec=spec, add_special_tokens=args.plain)
    jobs = jobs_for(sets, spec.n)
    execution = ExecutionSpec.from_args(args)
    with execution.executor() as executor, Progress("evaluate", len(jobs)) as progress:
        records = run_jobs(jobs, engine, executor, spec, progress)
        errors = sum(r["verdict"] == Verdict.SANDBOX_ERROR.value for r in records)
        execution.check(errors, len(records), executor, "evaluate")
    metrics = summarize(records, args.k, args.targets or ())
    seconds = time.perf_counter() - started
    header = ["language", "problems", *(f"pass@{k}" for k in args.k)]
    rows = [
        [lang, len(items), *(f"{metrics.get(f'pass@{k}/{lang}', float('nan')):.3f}" for k in args.k)]
        for lang, items in sets.items()
    ]
    print(format_table(header, rows))
    print(f"{len(records)} samples in {seconds:.0f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "metrics": metrics,
        "model": asdict(model_spec),
        "problems": {lang: len(items) for lang, items in sets.items()},
        "wall_time_s": round(seconds, 1),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="pass@k per language of a model, an adapter or a checkpoint")
    add_model_arguments(ev)
    ev.add_argument("--dataset", nargs="+", default=["bundled"], help=DATASET_HELP + "; its eval split is evaluated")
    ev.add_argument("--languages", nargs="+", default=None, help="evaluated languages (default: all)")
    ev.add_argument("--targets", nargs="+", default=None, help="languages averaged as pass@k/targets")
    ev.add_argument("--limit", type=int, default=None, help="first N problems per language")
    ev.add_argument("--n", type=int, default=1, help="samples per problem")
    ev.add_argument("--k", type=int, nargs="+", default=[1], help="the k of pass@k (each <= n)")
    ev.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    ev.add_argument("--top-p", type=float, default=1.0)
    ev.add_argument("--max-new-tokens", type=int, default=256)
    ev.add_argument("--batch-size", type=int, default=8)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--plain", action="store_true", help="plain prompts (base models) instead of the chat template")
    ExecutionSpec.add_arguments(ev)
    ev.add_argument("--output", type=Path, default=Path("runs/evaluate.json"), help="JSON report; records beside it")
    ev.set_defaults(func=run)
