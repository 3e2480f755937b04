"""The bundled parallel corpus: problems this project wrote, solved in several languages."""

from __future__ import annotations

from pathlib import Path

from lit_parallel.problems.schema import Problem, check_unique, read_jsonl

CORPUS_DIR = Path(__file__).with_name("corpus")
REQUIRED_LANGUAGES = ("python", "cpp", "java", "javascript", "go", "php", "ruby", "lua")
"""Every bundled problem has a reference solution in each of these."""


def bundled_corpus(directory: Path = CORPUS_DIR) -> list[Problem]:
    """Every problem of the corpus's JSONL files, in file and line order; task ids are unique."""
    problems = [problem for path in sorted(directory.glob("*.jsonl")) for problem in read_jsonl(path)]
    check_unique(problems)
    return problems
