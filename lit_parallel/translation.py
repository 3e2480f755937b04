"""Parallel programs from monolingual data: translate each solution, judge every candidate, keep what passes.

A *pair* is (problem, target language): the problem's solution in the source language is to be
written in the target. A pair's candidates are a model's samples (generated and judged as
evaluation's jobs, through the sampler interface) or the lines of a candidates file written
elsewhere; each is judged by the executor on the problem's io tests. Every judgement is appended to
a ledger beside the output as soon as it is made, so an interrupted or repeated run skips what is
decided: a pair is decided once one of its candidates passed or every candidate has a verdict. A
``sandbox_error`` is the machinery failing, not the candidate: it decides nothing, and a re-run
judges that candidate again. The output is the project's JSONL: every problem with its split, and
for each pair the first passing candidate (in sample order) as a new solution, with its provenance.

Pure apart from the sampler and the executor it is given.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.evaluation import Job, record, run_jobs
from lit_parallel.execution import Executor, Verdict
from lit_parallel.generation import SamplingSpec
from lit_parallel.jsonl import jsonl_records
from lit_parallel.problems.schema import Problem, Variant, language_of, problem_record, require
from lit_parallel.prompts import PromptStyle, translation_prompt
from lit_parallel.sampling import Sampler

Key = tuple[str, str]
"""(task_id, target language): what a decision is about."""


@dataclass(frozen=True)
class Pair:
    """One translation to make: ``problem``'s ``source`` solution into ``target``."""

    problem: Problem
    source: str
    target: str

    @property
    def key(self) -> Key:
        return (self.problem.task_id, self.target)

    @property
    def code(self) -> str:
        """The program to translate."""
        return self.problem.parallel_group()[self.source]

    def variant(self) -> Variant:
        """The target variant whose io tests judge a candidate (the problem's io tests: they are shared)."""
        return self.problem.variant(self.target)


@dataclass
class Selection:
    """The pairs a run works on, and why the others were left out (reason -> number of pairs)."""

    pairs: list[Pair]
    skipped: Counter[str] = field(default_factory=Counter)


def require_io(problem: Problem) -> None:
    """DataError naming the problem unless every variant is judged by io tests (translation needs them)."""
    for variant in problem.variants.values():
        if variant.completion or variant.test_code is not None or variant.assemble is not None:
            raise DataError(
                f"{problem.source}: problem {problem.task_id!r} has script-style tests "
                f"({variant.language}): translation needs io tests"
            )
        if not variant.io_tests:
            raise DataError(f"{problem.source}: problem {problem.task_id!r} has no tests: translation needs io tests")


def select(
    problems: Sequence[Problem],
    source: str,
    targets: Sequence[str],
    include_eval: bool = False,
    limit: int | None = None,
) -> Selection:
    """The pairs to translate: train problems (and eval ones when ``include_eval``) with a ``source``
    solution, into each target they have no solution in yet; the first ``limit`` such problems.

    Every problem is checked first, since the output holds every one: a script-style problem is an
    error naming it, before anything runs.
    """
    for problem in problems:
        require_io(problem)
    selection = Selection([])
    chosen = 0
    for problem in problems:
        if problem.split == "eval" and not include_eval:
            selection.skipped["eval split"] += len(targets)
        elif source not in problem.parallel_group():
            selection.skipped[f"no {source} solution"] += len(targets)
        elif limit is not None and chosen >= limit:
            selection.skipped["beyond --limit"] += len(targets)
        else:
            chosen += 1
            for target in targets:
                if target in problem.parallel_group():
                    selection.skipped[f"has a {target} solution"] += 1
                else:
                    selection.pairs.append(Pair(problem, source, target))
    return selection


class Ledger:
    """Every judged candidate, one JSON line each, appended as judged: what makes a run resumable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict] = []
        if path.exists():
            self._load()

    def _load(self) -> None:
        text = self.path.read_text()
        lines = text.split("\n")
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if lineno == len(lines):  # an append cut short by a kill: that candidate is judged again
                    self.path.write_text(text[: len(text) - len(line)])
                    break
                raise DataError(f"{self.path}:{lineno}: not JSON ({exc.msg})") from None

    def add(self, records: Iterable[dict]) -> None:
        with self.path.open("a") as out:
            for r in records:
                out.write(json.dumps(r) + "\n")
                self.records.append(r)

    def judged(self, by: str) -> set[tuple[str, str, int]]:
        """(task_id, language, sample) of ``by``'s candidates with a verdict that counts."""
        return {(r["task_id"], r["language"], r["sample"]) for r in self.records if _counts(r) and r["by"] == by}

    def passed(self) -> set[Key]:
        return {(r["task_id"], r["language"]) for r in self.records if r["passed"]}


def _counts(record: dict) -> bool:
    """A verdict about the candidate, not about the machinery."""
    return record["verdict"] != Verdict.SANDBOX_ERROR.value


def _slot(record: dict) -> tuple[str, str, str, int]:
    return (record["task_id"], record["language"], record["by"], record["sample"])


def _retried(record: dict, counted: set[tuple[str, str, str, int]]) -> bool:
    """A sandbox error that no later judgement of the same candidate replaced: a re-run judges it again."""
    return not _counts(record) and _slot(record) not in counted


def pending(pairs: Sequence[Pair], samples: dict[Key, int], ledger: Ledger, by: str) -> list[tuple[Pair, int]]:
    """(pair, sample) still to judge: every unjudged sample of the pairs that are not decided yet."""
    judged, passed = ledger.judged(by), ledger.passed()
    return [
        (pair, s)
        for pair in pairs
        if pair.key not in passed
        for s in range(samples.get(pair.key, 0))
        if (*pair.key, s) not in judged
    ]


@dataclass
class Model:
    """Candidates from a model: ``spec.n`` samples per pair through the sampler interface."""

    by: str
    """Names the model in provenance (its source, adapter, config or checkpoint)."""
    spec: SamplingSpec
    load: Callable[[], tuple[Sampler, object, PromptStyle]]
    """The sampler, tokenizer and prompt style: called only when there is work to do."""
    chunk: int = 64
    """Jobs generated and judged before their judgements go to the ledger."""
    progress: Callable[[int, int], None] = lambda done, total: None
    """Told (jobs done, jobs to do) after each chunk."""


def translate_with_model(pairs: Sequence[Pair], model: Model, executor: Executor, ledger: Ledger) -> None:
    """Generate and judge every sample still pending, as evaluation's jobs."""
    todo = pending(pairs, dict.fromkeys((pair.key for pair in pairs), model.spec.n), ledger, model.by)
    if not todo:
        return
    sampler, tokenizer, style = model.load()
    spec = model.spec
    prompts = {pair.key: translation_prompt(pair.source, pair.code, pair.target, tokenizer, style) for pair, _ in todo}
    jobs = [Job(pair.target, pair.problem.task_id, s, prompts[pair.key], pair.variant()) for pair, s in todo]
    sources = {pair.key: pair.source for pair, _ in todo}
    try:
        for start in range(0, len(jobs), model.chunk):
            batch = jobs[start : start + model.chunk]
            records = run_jobs(batch, sampler, executor, spec)
            provenance = {"by": model.by, "temperature": spec.temperature}
            ledger.add(
                {**r, "from": sources[job.task_id, job.language], **provenance, "seed": job.seed(spec.seed)}
                for job, r in zip(batch, records, strict=True)
            )
            model.progress(start + len(batch), len(jobs))
    finally:
        sampler.close()


@dataclass(frozen=True)
class Candidate:
    """One line of a candidates file: a program for a pair, the ``sample``-th of that pair in the file."""

    pair: Pair
    sample: int
    code: str
    line: int


def read_candidates(path: Path, problems: Sequence[Problem], pairs: Sequence[Pair]) -> tuple[list[Candidate], Counter]:
    """The candidates of ``path`` (``{"task_id", "language", "code"}`` per line) for ``pairs``, in file
    order, and how many lines were for pairs not selected (reason -> lines). A bad line, or a task_id
    not in the dataset, is a DataError naming file, line and field."""
    known = {p.task_id for p in problems}
    by_key = {pair.key: pair for pair in pairs}
    candidates: list[Candidate] = []
    ignored: Counter[str] = Counter()
    counts: Counter[Key] = Counter()
    for lineno, row in jsonl_records(path):
        if isinstance(row, DataError):
            raise row
        where = f"{path}:{lineno}"
        task_id, code = require(row, "task_id", where), require(row, "code", where)
        key = (task_id, language_of(require(row, "language", where), where))
        if task_id not in known:
            raise DataError(f"{where}: field 'task_id': no problem {task_id!r} in the dataset")
        if key not in by_key:
            ignored["pairs not selected"] += 1
            continue
        candidates.append(Candidate(by_key[key], counts[key], code, lineno))
        counts[key] += 1
    return candidates, ignored


def translate_from_file(
    path: Path, problems: Sequence[Problem], pairs: Sequence[Pair], executor: Executor, ledger: Ledger
) -> Counter[str]:
    """Judge every pending candidate of the file, each judgement going to the ledger as soon as it is
    known; returns what ``read_candidates`` ignored."""
    candidates, ignored = read_candidates(path, problems, pairs)
    by = f"file:{path}"
    todo = {(pair.key, s) for pair, s in pending(pairs, Counter(c.pair.key for c in candidates), ledger, by)}
    submitted = []
    for c in candidates:
        if (c.pair.key, c.sample) not in todo:
            continue
        job = Job(c.pair.target, c.pair.problem.task_id, c.sample, "", c.pair.variant())
        submitted.append((c, job, executor.submit(job.program(c.code))))
    for c, job, future in submitted:
        judged = record(job, c.code, c.code, future.result())
        del judged["completion"]  # the code itself: a file's candidates are not completions
        ledger.add([{**judged, "from": c.pair.source, "by": by, "line": c.line}])
    return ignored


PROVENANCE = ("from", "by", "sample", "seed", "temperature", "line")
"""What a kept solution records of where it came from (``seed``/``temperature``: model samples;
``line``: candidates files)."""


def kept(pairs: Sequence[Pair], ledger: Ledger) -> dict[Key, dict]:
    """The kept candidate of each pair that has one: its first passing sample, earliest judged first."""
    wanted = {pair.key for pair in pairs}
    chosen: dict[Key, dict] = {}
    for r in ledger.records:
        key = (r["task_id"], r["language"])
        if r["passed"] and key in wanted and (key not in chosen or r["sample"] < chosen[key]["sample"]):
            chosen[key] = r
    return chosen


def output_records(problems: Sequence[Problem], chosen: dict[Key, dict]) -> list[dict]:
    """Every problem in the project's format, with the kept translations and their provenance added."""
    by_task: dict[str, list[dict]] = {}
    for r in chosen.values():
        by_task.setdefault(r["task_id"], []).append(r)
    out = []
    for problem in problems:
        row = problem_record(problem)
        for r in by_task.get(problem.task_id, []):
            row["solutions"][r["language"]] = r["code"]
            row.setdefault("provenance", {})[r["language"]] = {k: r[k] for k in PROVENANCE if k in r}
        out.append(row)
    return out


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Written whole to a temporary file first: an interrupted write leaves the previous output."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(json.dumps(row) + "\n" for row in rows))
    partial.replace(path)


def summary(pairs: Sequence[Pair], ledger: Ledger) -> tuple[list[str], list[list[object]]]:
    """Per target language: pairs, pairs tried (a verdict that counts), kept, candidates judged, pairs
    left for a re-run (sandbox errors only), and the verdict shares of the rejected candidates."""
    wanted = {pair.key for pair in pairs}
    records = [r for r in ledger.records if (r["task_id"], r["language"]) in wanted]
    chosen = kept(pairs, ledger)
    rejected = [r for r in records if _counts(r) and not r["passed"]]
    counted = {_slot(r) for r in records if _counts(r)}
    verdicts = [v.value for v in Verdict if v is not Verdict.PASSED and any(r["verdict"] == v.value for r in rejected)]
    rows = []
    for language in dict.fromkeys(pair.target for pair in pairs):
        mine = [r for r in records if r["language"] == language]
        tried = {r["task_id"] for r in mine if _counts(r)}
        retry = {r["task_id"] for r in mine if _retried(r, counted)} - {k[0] for k in chosen if k[1] == language}
        shares = Counter(r["verdict"] for r in rejected if r["language"] == language)
        total = sum(shares.values())
        row = [language, sum(p.target == language for p in pairs), len(tried)]
        row += [sum(k[1] == language for k in chosen), sum(_counts(r) for r in mine), len(retry)]
        rows.append(row + [f"{shares[v] / total:.0%}" if total else "-" for v in verdicts])
    header = ["language", "pairs", "tried", "kept", "candidates", "retry", *(f"rejected {v}" for v in verdicts)]
    return header, rows


def ledger_path(output: Path) -> Path:
    """Where the judgements of a run writing ``output`` are kept: ``out.jsonl`` -> ``out.attempts.jsonl``."""
    return output.with_name(output.name.removesuffix(".jsonl") + ".attempts.jsonl")
