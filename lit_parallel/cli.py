"""The ``lit-parallel`` command.

``fit``, ``validate`` and ``test`` are LightningCLI: one YAML (``--config``) names the LightningModule
and the DataModule (subclass mode) and everything they take. Tool subcommands: ``languages``,
``exec``, ``data verify``, ``data stats``, ``evaluate``, ``align``, ``experiment``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

from lit_parallel.execution import (
    LANGUAGES,
    ExecutionError,
    Executor,
    Limits,
    Program,
    TestCase,
    Verdict,
    bwrap_status,
    checked_language,
)
from lit_parallel.modeling import PACKAGED, load_tokenizer
from lit_parallel.problems.loading import FORMATS, load_problems
from lit_parallel.problems.schema import DataError, reference_programs
from lit_parallel.trained import add_model_arguments


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_languages(args: argparse.Namespace) -> int:
    rows = []
    for lang in LANGUAGES:
        missing = lang.missing_tools()
        status = "ok" if not missing else "missing: " + ", ".join(missing)
        rows.append([lang.name, ", ".join(lang.aliases), status, lang.install])
    print(format_table(["language", "aliases", "toolchain", "install"], rows))
    problem = bwrap_status()
    print(f"\nsandbox: {'bubblewrap' if problem is None else 'rlimits only (' + problem + ')'}")
    return 0


def read_programs(path: Path) -> Iterator[tuple[int, Program | str]]:
    """Each line of a programs JSONL file: (line number, Program) or (line number, error message)."""
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, parse_program(json.loads(line))
            except json.JSONDecodeError as exc:
                yield lineno, f"{path}:{lineno}: not JSON ({exc.msg})"
            except ExecutionError as exc:
                yield lineno, f"{path}:{lineno}: {exc}"


def parse_program(record: object) -> Program:
    """A Program from one JSON record of ``lit-parallel exec``'s input; ExecutionError names the field."""
    if not isinstance(record, dict):
        raise ExecutionError("expected a JSON object")
    for key in ("id", "language", "code"):
        if key not in record:
            raise ExecutionError(f"field {key!r} is missing")
    if not isinstance(record["code"], str):
        raise ExecutionError("field 'code' must be a string")
    tests = record.get("tests")
    if tests is not None:
        if not isinstance(tests, list) or not all(
            isinstance(t, dict) and isinstance(t.get("stdin"), str) and isinstance(t.get("stdout"), str) for t in tests
        ):
            raise ExecutionError('field \'tests\' must be a list of {"stdin": str, "stdout": str}')
        tests = tuple(TestCase(t["stdin"], t["stdout"]) for t in tests)
    try:
        language = checked_language(str(record["language"])).name
    except ExecutionError as exc:
        raise ExecutionError(f"field 'language': {exc}") from None
    marker = record.get("marker")
    if marker is not None and not isinstance(marker, str):
        raise ExecutionError("field 'marker' must be a string")
    return Program(language, record["code"], tests, str(record["id"]), marker)


def cmd_exec(args: argparse.Namespace) -> int:
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb)
    parsed = list(read_programs(args.input))
    errors = [item for _, item in parsed if isinstance(item, str)]
    for message in errors:
        print(message, file=sys.stderr)
    programs = [item for _, item in parsed if isinstance(item, Program)]
    start = time.monotonic()
    tally: Counter[tuple[str, Verdict]] = Counter()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with (
        Executor(workers=args.workers, limits=limits, isolation=args.isolation) as executor,
        args.output.open("w") as out,
    ):
        for future in [executor.submit(p) for p in programs]:
            result = future.result()
            tally[result.language, result.verdict] += 1
            out.write(json.dumps(result.to_json()) + "\n")
            out.flush()
    elapsed = time.monotonic() - start
    print(verdict_table(tally), file=sys.stderr)
    print(
        f"\n{len(programs)} programs judged in {elapsed:.1f}s ({len(programs) / max(elapsed, 1e-9):.1f}/s), "
        f"{len(errors)} lines rejected; verdicts in {args.output}",
        file=sys.stderr,
    )
    return 1 if errors else 0


def verdict_table(tally: Counter[tuple[str, Verdict]]) -> str:
    """Languages x verdicts, counts, for the verdicts that occurred."""
    languages = sorted({lang for lang, _ in tally})
    verdicts = [v for v in Verdict if any(verdict is v for _, verdict in tally)]
    rows = [[lang, *(tally[lang, v] for v in verdicts), sum(tally[lang, v] for v in verdicts)] for lang in languages]
    return format_table(["language", *(v.value for v in verdicts), "total"], rows)


def cmd_data_verify(args: argparse.Namespace) -> int:
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


def cmd_data_stats(args: argparse.Namespace) -> int:
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from datamodules import ParallelMixtureDataModule
    from lit_parallel.evaluation import jobs_for, run_jobs, summarize
    from lit_parallel.generation import SamplingSpec, generate
    from lit_parallel.progress import Progress
    from lit_parallel.trained import load_inference_model

    started = time.perf_counter()
    model, model_spec = load_inference_model(args)
    source = model_spec.source
    # Only the held-out (eval split) problems: the bundled corpus's train split is what SFT and RL saw.
    data = ParallelMixtureDataModule(
        datasets=args.dataset, eval_problems_per_language=args.limit, tokenizer=source, chat=not args.plain
    )
    data.load()
    sets = data.eval_sets(args.languages or sorted({lang for p in data.eval_problems for lang in p.variants}))
    spec = SamplingSpec(args.n, args.temperature, args.top_p, args.max_new_tokens, args.batch_size, args.seed)
    engine = partial(generate, model, data.tokenizer, spec=spec, add_special_tokens=args.plain)
    jobs = jobs_for(sets, spec.n)
    limits = Limits(timeout_s=args.timeout)
    with Executor(workers=args.workers, limits=limits) as executor, Progress("evaluate", len(jobs)) as progress:
        records = run_jobs(jobs, engine, executor, spec, progress)
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
        "problems": {lang: len(items) for lang, items in sets.items()},
        "wall_time_s": round(seconds, 1),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    args.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


DATASET_HELP = "a dataset SPEC: bundled (the shipped corpus), PATH.jsonl (the project's format), or " + ", ".join(
    f"{name}:SOURCE ({description})" for name, (_, description) in FORMATS.items()
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lit-parallel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in LIGHTNING_COMMANDS:
        sub.add_parser(
            command, help=f"LightningCLI {command}: lit-parallel {command} --config CONFIG.yaml", add_help=False
        )
    sub.add_parser("languages", help="which languages run here").set_defaults(func=cmd_languages)
    ex = sub.add_parser("exec", help="judge a JSONL file of programs")
    ex.add_argument("--input", type=Path, required=True, help='JSONL: {"id", "language", "code", "tests"?}')
    ex.add_argument("--output", type=Path, required=True, help="JSONL of verdicts, in input order")
    ex.add_argument("--workers", type=int, default=None, help="programs judged at once (default: CPU count)")
    ex.add_argument("--timeout", type=float, default=Limits.timeout_s, help="wall-clock seconds per test run")
    ex.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="address-space limit per run")
    ex.add_argument("--isolation", choices=["auto", "bwrap", "rlimits"], default="auto")
    ex.set_defaults(func=cmd_exec)
    data = sub.add_parser("data", help="datasets of problems").add_subparsers(dest="data_command", required=True)
    verify = data.add_parser("verify", help="run every reference solution of a dataset against its tests")
    stats = data.add_parser("stats", help="problems, splits, parallel groups and tokens per language")
    for cmd in (verify, stats):
        cmd.add_argument("--dataset", required=True, help=DATASET_HELP)
        cmd.add_argument("--languages", nargs="+", default=None, help="only these languages (default: all)")
    verify.add_argument("--workers", type=int, default=None)
    verify.add_argument("--timeout", type=float, default=Limits.timeout_s, help="wall-clock seconds per test run")
    verify.set_defaults(func=cmd_data_verify)
    stats.add_argument("--tokenizer", default=PACKAGED, help="model source whose tokenizer counts tokens")
    stats.set_defaults(func=cmd_data_stats)
    add_evaluate_parser(sub)
    # Imported here: these modules import this one's helpers.
    from lit_parallel.analysis.command import add_align_parser
    from lit_parallel.experiment import add_experiment_parser

    add_align_parser(sub)
    add_experiment_parser(sub)
    return parser


def add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
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
    ev.add_argument("--workers", type=int, default=None)
    ev.add_argument("--timeout", type=float, default=Limits.timeout_s, help="wall-clock seconds per test run")
    ev.add_argument("--output", type=Path, default=Path("runs/evaluate.json"), help="JSON report; records beside it")
    ev.set_defaults(func=cmd_evaluate)


LIGHTNING_COMMANDS = ("fit", "validate", "test")


def build_lightning_cli(argv: Sequence[str], run: bool = True) -> object:
    """The LightningCLI of ``lit-parallel fit|validate|test`` (with ``run=False``: the instantiated
    model, datamodule and trainer of a config, nothing run). TensorBoard under ``runs/`` and a rich
    progress bar by default."""
    import lightning as L
    from jsonargparse import lazy_instance
    from lightning.pytorch.callbacks import RichProgressBar
    from lightning.pytorch.cli import LightningCLI
    from lightning.pytorch.loggers import TensorBoardLogger

    class LitParallelCLI(LightningCLI):
        def add_arguments_to_parser(self, parser: object) -> None:
            # The DataModule renders and tokenizes with the model's own tokenizer.
            parser.link_arguments("model.init_args.model.init_args.source", "data.init_args.tokenizer")

    return LitParallelCLI(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=list(argv),
        run=run,
        trainer_defaults={
            "logger": lazy_instance(TensorBoardLogger, save_dir="runs", name="lit-parallel"),
            "callbacks": [lazy_instance(RichProgressBar)],
        },
        save_config_kwargs={"overwrite": True},
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in LIGHTNING_COMMANDS:
        build_lightning_cli(argv)
        return 0
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"lit-parallel: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
