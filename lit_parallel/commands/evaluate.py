"""``lit-parallel evaluate``: pass@k per language of a model, an adapter or a checkpoint, on held-out problems."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict
from functools import partial
from pathlib import Path

import torch

from lit_parallel import checks
from lit_parallel.commands.common import DATASET_HELP, format_table
from lit_parallel.commands.model import add_model_arguments, check_model_arguments, load_inference_model
from lit_parallel.execution import ExecutionSpec, Verdict
from lit_parallel.modeling import ModelSpec
from lit_parallel.problems.loading import parse_spec


def run(args: argparse.Namespace) -> int:
    from lit_parallel.evaluation import summarize  # here: the other commands need not import the sampler

    checks.check_evaluate(args)
    for spec in args.dataset:
        parse_spec(spec)
    check_model_arguments(args)
    started = time.perf_counter()
    shard = partial(evaluate_shard, args, world=args.devices)
    if args.devices == 1:
        shards = [shard(0)]
    else:  # fresh processes (a fork would inherit OpenMP threads that hang it), each loading the model
        with ProcessPoolExecutor(args.devices, mp_context=multiprocessing.get_context("spawn")) as pool:
            shards = list(pool.map(shard, range(args.devices)))
    _, model_spec, problems = shards[0]
    # Job i was process i % devices's (i // devices)-th: back in the order of the jobs.
    records = [shards[i % args.devices][0][i // args.devices] for i in range(sum(len(s[0]) for s in shards))]
    metrics = summarize(records, args.k, args.targets or ())
    seconds = time.perf_counter() - started
    header = ["language", "problems", *(f"pass@{k}" for k in args.k)]
    rows = [
        [lang, count, *(f"{metrics.get(f'pass@{k}/{lang}', float('nan')):.3f}" for k in args.k)]
        for lang, count in problems.items()
    ]
    print(format_table(header, rows))
    print(f"{len(records)} samples in {seconds:.0f} s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "metrics": metrics,
        "model": asdict(model_spec),
        "problems": problems,
        "wall_time_s": round(seconds, 1),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


def evaluate_shard(args: argparse.Namespace, rank: int, world: int) -> tuple[list[dict], ModelSpec, dict[str, int]]:
    """Process ``rank`` of ``world``: its records (every ``world``-th job from the ``rank``-th), the model's
    spec and the problems per language. Each process runs on its own GPU, or on CPU with its share of the
    cores: on 2 cores, two processes of one thread decoded 1.2x the tokens/s of one process with both
    threads (SmolLM2-135M, 60 greedy rows), whose Python between the kernels leaves a core idle."""
    # Imported here: Lightning and the sampler cost seconds that the other commands need not pay.
    from datamodules import ParallelMixtureDataModule
    from lit_parallel.evaluation import jobs_for, run_jobs
    from lit_parallel.generation import SamplingSpec, generate
    from lit_parallel.progress import Progress

    cuda = torch.cuda.is_available()
    if world > 1 and not cuda:
        torch.set_num_threads(max(1, torch.get_num_threads() // world))
    model, model_spec = load_inference_model(args, torch.device("cuda", rank) if cuda else "cpu")
    # Only the held-out (eval split) problems: the bundled corpus's train split is what SFT and RL saw.
    data = ParallelMixtureDataModule(
        datasets=args.dataset, eval_problems_per_language=args.limit, tokenizer=model_spec.source, chat=not args.plain
    )
    data.load()
    sets = data.eval_sets(args.languages or sorted({lang for p in data.eval_problems for lang in p.variants}))
    checks.nonempty_sets(sets, "--languages")
    spec = SamplingSpec(args.n, args.temperature, args.top_p, args.max_new_tokens, args.batch_size, args.seed)
    engine = partial(generate, model, data.tokenizer, spec=spec, add_special_tokens=args.plain)
    jobs = jobs_for(sets, spec.n)[rank::world]
    execution = ExecutionSpec.from_args(args)
    # One progress report (process 1's) when there are several: the others' shares are alike.
    label = "evaluate" if world == 1 else f"evaluate (process 1 of {world})"
    shown = Progress(label, len(jobs)) if rank == 0 else nullcontext()
    with execution.executor() as executor, shown as progress:
        records = run_jobs(jobs, engine, executor, spec, progress)
        errors = sum(r["verdict"] == Verdict.SANDBOX_ERROR.value for r in records)
        execution.check(errors, len(records), executor, "evaluate")
    return records, model_spec, {lang: len(items) for lang, items in sets.items()}


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
    ev.add_argument(
        "--devices",
        type=int,
        default=1,
        help="processes sharing the samples: one per GPU, or on CPU each with its share of the cores",
    )
    ev.add_argument("--plain", action="store_true", help="plain prompts (base models) instead of the chat template")
    ExecutionSpec.add_arguments(ev)
    ev.add_argument("--output", type=Path, default=Path("runs/evaluate.json"), help="JSON report; records beside it")
    ev.set_defaults(func=run)
