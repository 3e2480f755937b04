"""Problems from a dataset SPEC: the bundled corpus, the project's JSONL, or a public format.

SPEC is ``bundled``, ``synthetic[:N][@SEED][#SELECT]`` (:mod:`.synthetic`), ``project:PATH`` (or a bare
``PATH.jsonl``), or ``FORMAT:SOURCE`` with FORMAT one of :data:`DATASET_FORMATS` and SOURCE a local file or
directory or ``hub:ORG/NAME[#CONFIG][@SPLIT]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.problems.code_contests import load_code_contests
from lit_parallel.problems.humaneval_x import load_humaneval_x
from lit_parallel.problems.mbxp import load_mbxp
from lit_parallel.problems.multipl_e import load_multipl_e
from lit_parallel.problems.polyhumaneval import load_polyhumaneval
from lit_parallel.problems.schema import Problem, check_unique, language_of, read_jsonl
from lit_parallel.problems.synthetic import is_synthetic, load_synthetic, parse_synthetic

Loader = Callable[[str, Sequence[str] | None], list[Problem]]
"""Reads a SOURCE; languages, when given, choose the variants (the loaded problems are filtered too)."""


def _project(source: str, languages: Sequence[str] | None) -> list[Problem]:
    if not Path(source).is_file():
        raise DataError(f"{source}: no such file")
    return list(read_jsonl(Path(source)))


def _any_languages(load: Callable[[str], list[Problem]]) -> Loader:
    """A loader that reads every language: the asked-for ones are kept (io problems: made) after loading."""
    return lambda source, languages: load(source)


DATASET_FORMATS: dict[str, tuple[Loader, str]] = {
    "project": (_project, "the project's JSONL format (problems/corpus/README.md); a bare PATH.jsonl too"),
    "multipl-e": (load_multipl_e, "MultiPL-E humaneval-<pl>.jsonl files: completion tasks, eval only"),
    "humaneval-x": (_any_languages(load_humaneval_x), "HumanEval-X humaneval_<pl>.jsonl.gz files: completion tasks"),
    "polyhumaneval": (_any_languages(load_polyhumaneval), "PolyHumanEval solutions.json: 14 PLs, no tests"),
    "mbxp": (_any_languages(load_mbxp), "MBXP / OpenAI HumanEval rows (task_id, prompt, canonical_solution, test)"),
    "code-contests": (_any_languages(load_code_contests), "DeepMind code_contests or open-r1/codeforces rows: io"),
}
"""FORMAT -> (loader of a SOURCE, one-line description for --help)."""


def parse_spec(spec: str) -> tuple[str, str]:
    """``(format, source)`` of a dataset SPEC (``("bundled", "")`` for the corpus), checked without
    reading it: the format is known and a local source exists."""
    if spec == "bundled":
        return "bundled", ""
    if is_synthetic(spec):
        parse_synthetic(spec)
        return "synthetic", spec
    fmt, sep, source = spec.partition(":")
    if not sep and spec.endswith(".jsonl"):
        fmt, source = "project", spec
    if fmt not in DATASET_FORMATS:
        known = ", ".join(["bundled", "synthetic[:N][@SEED][#SELECT]", *(f"{name}:SOURCE" for name in DATASET_FORMATS)])
        raise DataError(f"{spec}: unknown dataset format {fmt!r} (known: {known}, or PATH.jsonl)")
    if not source.startswith("hub:") and not Path(source).exists():
        raise DataError(f"{source or spec}: no such file or directory")
    return fmt, source


def load_problems(spec: str, languages: Sequence[str] | None = None) -> list[Problem]:
    """The problems SPEC names, with only ``languages`` (names or aliases) when given.

    An io problem gets a variant in each asked-for language, with or without a reference solution
    (:meth:`Problem.variant`); problems left with no language are dropped; a task_id met twice is an
    error naming both places.
    """
    fmt, source = parse_spec(spec)
    if fmt in ("bundled", "synthetic"):
        problems = bundled_corpus() if fmt == "bundled" else load_synthetic(spec)
    else:
        problems = DATASET_FORMATS[fmt][0](source, languages)
    check_unique(problems)
    return problems if languages is None else _only(problems, languages)


def _only(problems: list[Problem], languages: Sequence[str]) -> list[Problem]:
    wanted = [language_of(name, "languages", "languages") for name in languages]
    kept = []
    for problem in problems:
        variants = {lang: variant for lang in wanted if (variant := problem.variant(lang)) is not None}
        if variants:
            kept.append(replace(problem, variants=variants))
    return kept
