"""CodeForces-style io problems: DeepMind ``code_contests`` rows and ``open-r1/codeforces`` rows.

code_contests: ``name, description, public_tests, private_tests, generated_tests`` (each
``{input: [...], output: [...]}``), ``solutions {language: [int], solution: [str]}``.
open-r1/codeforces: ``id`` (or ``contest_id`` + ``index``), ``title``, ``description``,
``input_format``, ``output_format``, ``examples`` / ``official_tests`` (lists of ``{input, output}``),
and no solutions. Either may carry ``solutions`` as ``{language name: code}`` too.
"""

from __future__ import annotations

from collections.abc import Mapping

from lit_parallel.errors import DataError
from lit_parallel.execution import TestCase
from lit_parallel.problems.schema import SPLITS, Problem, Variant, language_of, require
from lit_parallel.problems.sources import read_rows

CODE_CONTESTS_LANGUAGES = {2: "cpp", 3: "python", 4: "java"}
"""code_contests' language enum; 1 (Python 2) is left out: its programs do not run under Python 3."""
SPLIT_COLUMN = {"train": "train", "valid": "eval", "validation": "eval", "test": "eval", "eval": "eval"}
"""A row's ``split`` column -> the project's split."""
DEFAULT_LANGUAGES = ("python", "cpp", "java")
"""The languages listed for a problem without reference solutions (it is judged in any other asked for)."""


def load_code_contests(source: str, split: str | None = None) -> list[Problem]:
    """One io Problem per row of ``source``, with the first reference solution of each language.

    ``split`` applies to every row; without it a row's ``split`` column decides, else "train".
    Like every io problem, each is judged in any language (:meth:`Problem.variant`).
    """
    if split is not None and split not in SPLITS:
        raise DataError(f"code-contests: split must be one of {SPLITS}, not {split!r}")
    problems = []
    for where, row in read_rows(source):
        if row.get("interaction_format"):
            continue  # interactive problems need a judge that talks back, not stdin/stdout cases
        description = _statement(row, where)
        tests = _tests(row, where)
        solutions = _solutions(row.get("solutions"), where)
        names = list(solutions) or list(DEFAULT_LANGUAGES)
        variants = {lang: Variant(lang, description, solutions.get(lang), tests) for lang in names}
        title = str(row.get("title") or row.get("name") or "")
        task_id = _task_id(row, where)
        problems.append(Problem(task_id, description, variants, _split(row, split, where), None, title, where))
    return problems


def _task_id(row: Mapping, where: str) -> str:
    if row.get("id") is not None:
        return str(row["id"])
    if row.get("contest_id") is not None and row.get("index") is not None:
        return f"{row['contest_id']}/{row['index']}"
    return require(row, "name", where)


def _statement(row: Mapping, where: str) -> str:
    parts = [require(row, "description", where)]
    # open-r1 keeps the io sections apart; code_contests' description already holds them.
    for key, heading in (("input_format", "Input"), ("output_format", "Output")):
        if row.get(key):
            parts.append(f"{heading}\n\n{row[key]}")
    return "\n\n".join(parts)


def _tests(row: Mapping, where: str) -> tuple[TestCase, ...]:
    """Official tests: code_contests' public + private (generated ones only when there are none), else open-r1's."""
    if "public_tests" in row or "private_tests" in row:
        cases = _columns(row, "public_tests", where) + _columns(row, "private_tests", where)
        # Generated tests number up to hundreds per problem: used only when there are no others.
        cases = cases or _columns(row, "generated_tests", where)
    else:
        key = "official_tests" if row.get("official_tests") else "examples"
        cases = _cases(row.get(key), f"{where}: field {key!r}")
    if not cases:
        raise DataError(f"{where}: field 'public_tests': the problem has no tests")
    return cases


def _columns(row: Mapping, key: str, where: str) -> tuple[TestCase, ...]:
    tests = row.get(key) or {}
    inputs, outputs = tests.get("input") or [], tests.get("output") or []
    if len(inputs) != len(outputs):
        raise DataError(f"{where}: field '{key}': {len(inputs)} inputs but {len(outputs)} outputs")
    return _cases([{"input": i, "output": o} for i, o in zip(inputs, outputs, strict=True)], f"{where}: field '{key}'")


def _cases(raw: object, place: str) -> tuple[TestCase, ...]:
    if not isinstance(raw, list):
        raise DataError(f"{place} must be a list of {{input, output}}")
    cases = []
    for i, case in enumerate(raw):
        if not isinstance(case, Mapping) or not all(isinstance(case.get(k), str) for k in ("input", "output")):
            raise DataError(f"{place}[{i}] must have string input and output")
        cases.append(TestCase(case["input"], case["output"]))
    return tuple(cases)


def _solutions(raw: object, where: str) -> dict[str, str]:
    """Language -> first reference solution, from either solutions shape."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise DataError(f"{where}: field 'solutions' must be an object")
    if set(raw) == {"language", "solution"}:
        if len(raw["language"]) != len(raw["solution"]):
            raise DataError(f"{where}: field 'solutions': as many languages as solutions are needed")
        pairs = [
            (CODE_CONTESTS_LANGUAGES[lang], code)
            for lang, code in zip(raw["language"], raw["solution"], strict=True)
            if lang in CODE_CONTESTS_LANGUAGES
        ]
    else:
        pairs = [(language_of(name, where, f"solutions.{name}"), code) for name, code in raw.items()]
    first: dict[str, str] = {}
    for lang, code in pairs:
        if not isinstance(code, str):
            raise DataError(f"{where}: field 'solutions.{lang}' must be str, not {type(code).__name__}")
        first.setdefault(lang, code)
    return first


def _split(row: Mapping, split: str | None, where: str) -> str:
    if split is not None:
        return split
    column = row.get("split")
    if column is None:
        return "train"
    if column not in SPLIT_COLUMN:
        raise DataError(f"{where}: field 'split' must be one of {tuple(SPLIT_COLUMN)}, not {column!r}")
    return SPLIT_COLUMN[column]
