"""``lit-parallel data verify|stats|translate``: a dataset's reference solutions judged, its shape counted,
and its solutions translated into other languages (the logic in ``lit_parallel.translation``)."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

import yaml

from lit_parallel import checks
from lit_parallel.commands.common import DATASET_HELP, format_table, report_sandbox_errors
from lit_parallel.commands.model import add_model_arguments, check_model_arguments
from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionSpec, Executor, Limits
from lit_parallel.modeling import PACKAGED, check_source, load_tokenizer
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import reference_programs
from lit_parallel.problems.synthetic.stats import set_table
from lit_parallel.progress import Progress


def run_verify(args: argparse.Namespace) -> int:
    checks.check_data(args)
    programs = reference_programs(load_problems(args.dataset, args.languages))
    with ExecutionSpec.from_args(args).executor() as executor, Progress("verify", len(programs)) as progress:
        results = executor.run(programs, progress)
    totals: Counter[str] = Counter(r.language for r in results)
    passed: Counter[str] = Counter(r.language for r in results if r.passed)
    rows = [[lang, passed[lang], totals[lang]] for lang in sorted(totals)]
    print(format_table(["language", "passed", "total"], rows))
    for r in results:
        if not r.passed:
            print(f"FAILED {r.id} [{r.language}]: {r.verdict.value}", file=sys.stderr)
    return report_sandbox_errors(results) or (0 if sum(passed.values()) == len(results) else 1)


def run_stats(args: argparse.Namespace) -> int:
    checks.check_data(args)
    with checks.prefixed("--tokenizer"):
        check_source(args.tokenizer, needs="tokenizer_config.json")
    problems = load_problems(args.dataset, args.languages)
    tokenizer = load_tokenizer(args.tokenizer)
    languages = sorted({lang for p in problems for lang in p.variants})
    rows = []
    for lang in languages:
        variants = [p.variants[lang] for p in problems if lang in p.variants]
        solutions = [v.full_code(v.solution) for v in variants if v.solution is not None]
        tokens = (
            sum(len(ids) for ids in tokenizer(solutions, add_special_tokens=False)["input_ids"]) if solutions else 0
        )
        splits = Counter(p.split for p in problems if lang in p.variants)
        tested = sum(v.has_tests for v in variants)
        mean = tokens // len(solutions) if solutions else "-"
        rows.append([lang, len(variants), splits["train"], splits["eval"], len(solutions), tested, tokens, mean])
    header = ["language", "problems", "train", "eval", "solutions", "tested", "solution tokens", "mean"]
    print(format_table(header, rows))
    sizes = Counter(len(p.parallel_group()) for p in problems)
    clusters = len({p.cluster for p in problems})
    evaluated = Counter(p.split for p in problems)["eval"]
    print(f"\n{len(problems)} problems ({evaluated} eval) in {clusters} clusters; parallel-group sizes:")
    print(format_table(["solutions per problem", "problems"], sorted(sizes.items(), reverse=True)))
    sets = set_table(problems)
    if sets:
        print("\nper set (synthetic), distinct programs whitespace-normalised:\n" + format_table(*sets))
    return 0


def run_translate(args: argparse.Namespace) -> int:
    from lit_parallel import translation as tr

    started = time.perf_counter()
    apply_translate_config(args)
    checks.check_translate(args)
    if not args.candidates:
        check_model_arguments(args)
    problems = load_problems(args.dataset, args.languages)
    targets, [source] = checks.languages(args.to, "--to"), checks.languages([args.source], "--from")
    selection = tr.select(problems, source, targets, args.include_eval, args.limit)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    ledger = tr.Ledger(tr.ledger_path(args.output))
    before = len(ledger.records)
    with Executor(workers=args.workers, limits=Limits(timeout_s=args.timeout)) as executor:
        if args.candidates:
            ignored = tr.translate_from_file(args.candidates, problems, selection.pairs, executor, ledger)
            selection.skipped.update({f"candidates for {reason}": n for reason, n in ignored.items()})
        else:
            tr.translate_with_model(selection.pairs, translation_model(args), executor, ledger)
    tr.write_jsonl(args.output, tr.output_records(problems, tr.kept(selection.pairs, ledger)))
    header, rows = tr.summary(selection.pairs, ledger)
    print(format_table(header, rows))
    print("pairs left out: " + (", ".join(f"{n} {why}" for why, n in selection.skipped.items()) or "nothing"))
    print(
        f"{len(ledger.records) - before} candidates judged now, {before} by earlier runs, in "
        f"{time.perf_counter() - started:.0f} s; problems in {args.output}, judgements in {ledger.path}"
    )
    if retry := sum(row[header.index("retry")] for row in rows):
        print(f"lit-parallel: {retry} pairs met only sandbox errors: run again to judge them", file=sys.stderr)
    return 1 if retry else 0


TRANSLATE_DEFAULTS = {
    "dataset": None,
    "to": None,
    "from": "python",
    "output": None,
    "candidates": None,
    "languages": None,
    "include_eval": False,
    "limit": None,
    "samples": 1,
    "temperature": 0.0,
    "top_p": 1.0,
    "max_new_tokens": 512,
    "batch_size": 8,
    "seed": 0,
    "plain": False,
    "workers": None,
    "timeout": Limits.timeout_s,
    "device": "auto",
}
"""Options of ``data translate`` a config's ``translate:`` section may set (flags override it), and their defaults."""


def apply_translate_config(args: argparse.Namespace) -> None:
    """Fill the options not given on the command line from ``--config``'s ``translate:`` section, else defaults."""
    section = {}
    if args.config:
        section = (yaml.safe_load(Path(args.config).read_text()) or {}).get("translate") or {}
        if unknown := set(section) - set(TRANSLATE_DEFAULTS):
            raise DataError(f"{args.config}: field 'translate.{min(unknown)}': not an option of data translate")
    for key, default in TRANSLATE_DEFAULTS.items():
        dest = "source" if key == "from" else key
        if getattr(args, dest) is None:
            setattr(args, dest, section.get(key, default))
    for key in ("dataset", "to", "output"):
        if getattr(args, key) is None:
            raise DataError(f"data translate: --{key} is required (or translate.{key} in --config)")
    args.output, args.candidates = Path(args.output), args.candidates and Path(args.candidates)


def translation_model(args: argparse.Namespace) -> object:
    """The model of ``data translate``'s arguments, loaded only when there are samples to draw."""
    import torch

    from lit_parallel.commands.model import load_inference_model
    from lit_parallel.generation import SamplingSpec, generate
    from lit_parallel.prompts import PromptStyle
    from lit_parallel.translation import Model

    spec = SamplingSpec(args.samples, args.temperature, args.top_p, args.max_new_tokens, args.batch_size, args.seed)

    def load() -> tuple:
        device = args.device if args.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
        model, model_spec = load_inference_model(args, device)
        tokenizer = load_tokenizer(model_spec.source)
        engine = partial(generate, model, tokenizer, spec=spec, add_special_tokens=args.plain)
        return engine, tokenizer, PromptStyle(chat=not args.plain)

    def progress(done: int, total: int) -> None:
        print(f"{done}/{total} candidates generated and judged", file=sys.stderr, flush=True)

    by = (f"config:{args.config}" if args.config else args.model) + (f"+adapter:{args.adapter}" if args.adapter else "")
    by = f"checkpoint:{args.checkpoint}" if args.checkpoint else by
    return Model(by, spec, load, progress=progress)


def add_translate_parser(data: argparse._SubParsersAction) -> None:
    tr = data.add_parser("translate", help="translate solutions into other languages, keep the ones that pass")
    add_model_arguments(tr)
    tr.add_argument("--dataset", help=DATASET_HELP)
    tr.add_argument("--to", nargs="+", help="target languages")
    tr.add_argument("--from", dest="source", help="the language translated from (default: python)")
    tr.add_argument("--output", help="the project's JSONL with the kept translations; judgements beside it")
    tr.add_argument("--candidates", help='JSONL of {"task_id", "language", "code"} to judge instead of a model')
    tr.add_argument("--languages", nargs="+", help="read only these languages of the dataset (default: all)")
    tr.add_argument("--include-eval", action="store_true", default=None, help="translate eval-split problems too")
    tr.add_argument("--limit", type=int, help="only the first N problems with a source solution")
    tr.add_argument("--samples", type=int, help="k: candidates drawn per problem and language (default: 1)")
    tr.add_argument("--temperature", type=float, help="0: greedy (the default)")
    tr.add_argument("--top-p", type=float)
    tr.add_argument("--max-new-tokens", type=int, help="token budget of one candidate (default: 512)")
    tr.add_argument("--batch-size", type=int, help="prompts generated together (default: 8)")
    tr.add_argument("--seed", type=int, help="sample i of a pair draws from a seed of (seed, pair, i)")
    tr.add_argument("--plain", action="store_true", default=None, help="plain prompts (base models), no chat template")
    tr.add_argument("--workers", type=int, help="programs judged at once (default: CPU count)")
    tr.add_argument("--timeout", type=float, help="wall-clock seconds per test run")
    tr.add_argument("--device", help="where the model runs: cpu, cuda, cuda:N or auto (the default: a GPU if any)")
    tr.set_defaults(func=run_translate)


def add_parser(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="datasets of problems").add_subparsers(dest="data_command", required=True)
    verify = data.add_parser("verify", help="run every reference solution of a dataset against its tests")
    stats = data.add_parser("stats", help="problems, splits, parallel groups and tokens per language")
    for cmd in (verify, stats):
        cmd.add_argument("--dataset", required=True, help=DATASET_HELP)
        cmd.add_argument("--languages", nargs="+", default=None, help="only these languages (default: all)")
    ExecutionSpec.add_arguments(verify)
    verify.set_defaults(func=run_verify)
    stats.add_argument("--tokenizer", default=PACKAGED, help="model source whose tokenizer counts tokens")
    stats.set_defaults(func=run_stats)
    add_translate_parser(data)
