"""One model of a problem: a task, and per language a variant with its prompt, solution and tests.

The project's own JSONL format (one problem per line) is read here too; loaders of public formats
turn their rows into the same objects. Bad input raises DataError naming file, line and field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.execution import LANGUAGES, Program, TestCase, canonical_language, get_language
from lit_parallel.execution.errors import ExecutionError
from lit_parallel.jsonl import strict_records

SPLITS = ("train", "eval")
RUNNABLE = frozenset(lang.name for lang in LANGUAGES)
"""The languages the executor knows (installed here or not): those an io problem can be judged in."""


@dataclass(frozen=True)
class Variant:
    """A problem in one language: the prompt the model sees, a reference solution, the tests.

    Two shapes of task exist. In a *program* task (io problems, CodeForces style) the model writes a
    whole program from a statement. In a *completion* task (HumanEval family) ``prompt`` is code (a
    signature and docstring) that the model continues; ``solution`` is then that continuation.
    """

    language: str
    prompt: str
    solution: str | None = None
    io_tests: tuple[TestCase, ...] = ()
    """io style: stdin/stdout cases, shared by every language of a problem."""
    test_code: str | None = None
    """script style: code appended to a program that exits 0 iff the tests pass."""
    completion: bool = False
    """True when the model continues ``prompt`` (a function-completion format)."""
    stop: tuple[str, ...] = ()
    """Where a completion ends (MultiPL-E's stop tokens); program tasks end at their closing fence."""
    assemble: Callable[[str], str] | None = field(default=None, compare=False, repr=False)
    """Builds the script from the model's code when ``full_code + test_code`` is not enough (HumanEval-X)."""

    @property
    def has_tests(self) -> bool:
        return bool(self.io_tests) or self.test_code is not None

    def full_code(self, code: str) -> str:
        """The standalone program that ``code`` (in the form the model writes it) amounts to."""
        return self.prompt + code if self.completion else code

    def program(self, code: str, program_id: str = "") -> Program:
        """The program that judges ``code`` (a solution or the model's code) against this variant's tests."""
        if self.assemble is not None:
            return Program(self.language, self.assemble(code), None, program_id)
        if self.test_code is not None:
            return Program(self.language, self.full_code(code) + "\n" + self.test_code, None, program_id)
        if not self.io_tests:
            raise DataError(f"{self.language} variant has no tests: it cannot judge a program")
        return Program(self.language, self.full_code(code), self.io_tests, program_id)


@dataclass(frozen=True)
class Problem:
    """One task with a stable id, its statement, and a variant per language."""

    task_id: str
    description: str
    variants: Mapping[str, Variant]
    split: str = "train"
    difficulty: int | None = None
    title: str = ""
    source: str = field(default="", compare=False)
    """Where it was read from (file:line), for messages."""
    cluster: str = ""
    """The unit that statistics resample (problems of one cluster are alike: a synthetic family or
    composition); the task's own id when the source names none."""

    def __post_init__(self) -> None:
        if not self.cluster:
            object.__setattr__(self, "cluster", self.task_id)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.variants)

    def variant(self, language: str) -> Variant | None:
        """The variant that judges a program in ``language`` (a registry name), or None.

        An io problem has one in every language the executor runs: stdin/stdout tests are
        language-neutral, so a language without a reference solution gets the statement and the tests
        alone. Script and completion tests are written for one language and never carry over.
        """
        if language in self.variants:
            return self.variants[language]
        neutral = next((v for v in self.variants.values() if v.io_tests and not v.completion), None)
        if neutral is None or language not in RUNNABLE:
            return None
        return Variant(language, neutral.prompt, None, neutral.io_tests)

    def parallel_group(self) -> dict[str, str]:
        """The reference solutions of this problem as standalone programs, by language."""
        return {lang: v.full_code(v.solution) for lang, v in self.variants.items() if v.solution is not None}


def require(row: Mapping, key: str, where: str, kind: type = str) -> object:
    """``row[key]``, or DataError naming ``where`` and the field when it is missing or not a ``kind``."""
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: expected an object, not {type(row).__name__}")
    if row.get(key) is None:
        raise DataError(f"{where}: field {key!r} is missing")
    value = row[key]
    if not isinstance(value, kind):
        raise DataError(f"{where}: field {key!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


def language_of(name: str, where: str, key: str = "language") -> str:
    """The registry name of the language ``name`` (field ``key`` of the row at ``where``)."""
    try:
        return canonical_language(name)
    except ExecutionError as exc:
        raise DataError(f"{where}: field {key!r}: {exc}") from None


def _io_tests(raw: object, where: str) -> tuple[TestCase, ...]:
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{where}: field 'tests' must be a non-empty list")
    cases = []
    for i, case in enumerate(raw):
        if not isinstance(case, dict):
            raise DataError(f"{where}: field 'tests[{i}]' must be an object with stdin and stdout")
        for key in ("stdin", "stdout"):
            if not isinstance(case.get(key), str):
                raise DataError(f"{where}: field 'tests[{i}].{key}' must be a string")
        cases.append(TestCase(case["stdin"], case["stdout"]))
    return tuple(cases)


def problem_from_record(record: object, where: str) -> Problem:
    """A Problem from one record of the project's JSONL format (see problems/corpus/README.md)."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object")
    task_id = require(record, "task_id", where)
    description = require(record, "description", where)
    tests = _io_tests(record.get("tests"), where)
    solutions = require(record, "solutions", where, dict)
    split = record.get("split", "train")
    if split not in SPLITS:
        raise DataError(f"{where}: field 'split' must be one of {SPLITS}, not {split!r}")
    cluster = record.get("cluster", "")
    if not isinstance(cluster, str):
        raise DataError(f"{where}: field 'cluster' must be str, not {type(cluster).__name__}")
    difficulty = record.get("difficulty")
    if difficulty is not None and (not isinstance(difficulty, int) or isinstance(difficulty, bool)):
        raise DataError(f"{where}: field 'difficulty' must be int")
    variants = {}
    for name, code in solutions.items():
        language = language_of(name, where, f"solutions.{name}")
        if not isinstance(code, str):
            raise DataError(f"{where}: field 'solutions.{name}' must be a string")
        variants[language] = Variant(language, description, code, tests)
    title = str(record.get("title", ""))
    return Problem(task_id, description, variants, split, difficulty, title, where, cluster)


def problem_record(problem: Problem) -> dict:
    """``problem`` as a record of the project's JSONL format: what ``problem_from_record`` reads back.

    The format holds io problems only (one list of tests, shared by every language).
    """
    tests = {variant.io_tests for variant in problem.variants.values()}
    if len(tests) != 1 or not next(iter(tests)) or any(v.completion for v in problem.variants.values()):
        raise DataError(f"{problem.source}: problem {problem.task_id!r}: the project's format holds io problems only")
    cluster = problem.cluster if problem.cluster != problem.task_id else None
    optional = {"title": problem.title or None, "difficulty": problem.difficulty, "cluster": cluster}
    return {
        "task_id": problem.task_id,
        **{key: value for key, value in optional.items() if value is not None},
        "description": problem.description,
        "tests": [{"stdin": case.stdin, "stdout": case.stdout} for case in next(iter(tests))],
        "solutions": problem.parallel_group(),
        "split": problem.split,
    }


def read_jsonl(path: Path) -> Iterator[Problem]:
    """Problems of a JSONL file in the project's format; DataError on the first bad line."""
    for where, record in strict_records(path):
        yield problem_from_record(record, where)


def reference_programs(problems: Iterable[Problem]) -> list[Program]:
    """Every reference solution that has tests, as a program to judge (id = task_id).

    Raises DataError naming the problem's place when a solution's language cannot run here, before
    anything runs, so that a long verification never fails half-way for want of a compiler.
    """
    programs = []
    for problem in problems:
        for lang, variant in problem.variants.items():
            if variant.solution is None or not variant.has_tests:
                continue
            try:
                language = get_language(lang)
            except ExecutionError:
                raise DataError(f"{problem.source}: field 'solutions.{lang}': the executor cannot run {lang}") from None
            if not language.available:
                raise DataError(
                    f"{problem.source}: field 'solutions.{lang}': {lang} toolchain missing "
                    f"({', '.join(language.missing_tools())} not found; install: {language.install})"
                )
            programs.append(variant.program(variant.solution, problem.task_id))
    return programs


def check_unique(problems: Iterable[Problem]) -> None:
    """DataError naming both places when a task_id appears twice."""
    seen: dict[str, str] = {}
    for problem in problems:
        if problem.task_id in seen:
            raise DataError(f"{problem.source}: field 'task_id': {problem.task_id!r} also at {seen[problem.task_id]}")
        seen[problem.task_id] = problem.source
