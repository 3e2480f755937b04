"""``lit-parallel data verify|stats``: a dataset's reference solutions judged, and its shape counted."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from lit_parallel.commands.common import DATASET_HELP, format_table
from lit_parallel.execution import Executor, Limits
from lit_parallel.modeling import PACKAGED, load_tokenizer
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import reference_programs


def run_verify(args: argparse.Namespace) -> int:
    programs = reference_programs(load_problems(args.dataset, args.languages))
    with Executor(workers=args.workers, limits=Limits(timeout_s=args.timeout)) as executor:
        results = executor.run(programs)
    totals: Counter[str] = Counter(r.language for r in results)
    passed: Counter[str] = Counter(r.language for r in results if r.passed)
    rows = [[lang, passed[lang], totals[lang]] for lang in sorted(totals)]
    print(format_table(["language", "passed", "total"], rows))
    for r in results:
        if not r.passed:
            print(f"FAILED {r.id} [{r.language}]: {r.verdict.value}", file=sys.stderr)
    return 0 if sum(passed.values()) == len(results) else 1


def run_stats(args: argparse.Namespace) -> int:
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
    print(f"\n{len(problems)} problems ({Counter(p.split for p in problems)['eval']} eval); parallel-group sizes:")
    print(format_table(["solutions per problem", "problems"], sorted(sizes.items(), reverse=True)))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="datasets of problems").add_subparsers(dest="data_command", required=True)
    verify = data.add_parser("verify", help="run every reference solution of a dataset against its tests")
    stats = data.add_parser("stats", help="problems, splits, parallel groups and tokens per language")
    for cmd in (verify, stats):
        cmd.add_argument("--dataset", required=True, help=DATASET_HELP)
        cmd.add_argument("--languages", nargs="+", default=None, help="only these languages (default: all)")
    verify.add_argument("--workers", type=int, default=None)
    verify.add_argument("--timeout", type=float, default=Limits.timeout_s, help="wall-clock seconds per test run")
    verify.set_defaults(func=run_verify)
    stats.add_argument("--tokenizer", default=PACKAGED, help="model source whose tokenizer counts tokens")
    stats.set_defaults(func=run_stats)
