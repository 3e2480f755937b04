"""``lit-parallel data verify|stats``: a dataset's reference solutions judged, and its shape counted
(``data translate`` is ``commands/translate.py``)."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

from lit_parallel import checks
from lit_parallel.commands.arguments import Command
from lit_parallel.commands.common import format_table, report_sandbox_errors
from lit_parallel.execution import ExecutionSpec
from lit_parallel.modeling import PACKAGED, check_source, load_tokenizer
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import reference_programs
from lit_parallel.problems.synthetic.stats import set_table
from lit_parallel.progress import Progress


@dataclass
class VerifyConfig:
    """Run every reference solution of a dataset against its tests."""

    dataset: str
    """A dataset SPEC: bundled, synthetic[:N][@SEED][#SPLITS], PATH.jsonl (the project's format), or
    FORMAT:SOURCE of a public format (see the README)."""
    languages: list[str] | None = None
    """Only these languages (default: all); each must run here."""
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    """Limits per test run and programs judged at once."""


@dataclass
class StatsConfig:
    """Problems, splits, parallel groups and tokens per language of a dataset."""

    dataset: str
    """A dataset SPEC, as ``data verify`` takes it."""
    languages: list[str] | None = None
    """Only these languages (default: all)."""
    tokenizer: str = PACKAGED
    """The model source whose tokenizer counts tokens."""


def run_verify(config: VerifyConfig) -> int:
    checks.languages(config.languages, "languages", runnable=True)
    programs = reference_programs(load_problems(config.dataset, config.languages))
    with config.execution.executor() as executor, Progress("verify", len(programs)) as progress:
        results = executor.run(programs, progress)
    totals: Counter[str] = Counter(r.language for r in results)
    passed: Counter[str] = Counter(r.language for r in results if r.passed)
    rows = [[lang, passed[lang], totals[lang]] for lang in sorted(totals)]
    print(format_table(["language", "passed", "total"], rows))
    for r in results:
        if not r.passed:
            print(f"FAILED {r.id} [{r.language}]: {r.verdict.value}", file=sys.stderr)
    return report_sandbox_errors(results) or (0 if sum(passed.values()) == len(results) else 1)


def run_stats(args: StatsConfig) -> int:
    checks.languages(args.languages, "languages")
    with checks.prefixed("tokenizer"):
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


COMMANDS = [
    Command("data verify", "run every reference solution of a dataset against its tests", VerifyConfig, run_verify),
    Command("data stats", "problems, splits, parallel groups and tokens per language", StatsConfig, run_stats),
]
