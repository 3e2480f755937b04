"""MBXP / Multi-HumanEval (amazon-science/mxeval) and OpenAI HumanEval: function-completion rows.

Rows are ``task_id, language?, prompt, canonical_solution, test, entry_point``; program = prompt +
completion + test. A Python test only defines ``check(candidate)``: the harnesses call it with the
entry point, and so does the program here.
"""

from __future__ import annotations

import re

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import SPLITS, Problem, Variant, language_of, require
from lit_parallel.problems.sources import read_rows


def load_mbxp(source: str, language: str | None = "python", split: str = "eval") -> list[Problem]:
    """One Problem (one completion Variant) per row of ``source``, task ids kept as they are.

    A row's ``language`` field names its language, else ``language`` does (OpenAI HumanEval's rows
    have none: they are Python).
    """
    if split not in SPLITS:
        raise DataError(f"mbxp: split must be one of {SPLITS}, not {split!r}")
    problems = []
    for where, row in read_rows(source):
        task_id = require(row, "task_id", where)
        name = row.get("language") or language
        if name is None:
            raise DataError(f"{where}: field 'language' is missing")
        lang = language_of(name, where)
        prompt, solution, test = (require(row, key, where) for key in ("prompt", "canonical_solution", "test"))
        variant = Variant(lang, prompt, solution, test_code=_script_test(lang, test, row, where), completion=True)
        problems.append(Problem(task_id, prompt, {lang: variant}, split, source=where))
    return problems


def _script_test(language: str, test: str, row: dict, where: str) -> str:
    """``test``, calling ``check`` on the entry point when a Python test only defines it."""
    if language != "python" or not re.search(r"^def check\(", test, re.M) or re.search(r"^check\(", test, re.M):
        return test
    return f"{test}\ncheck({require(row, 'entry_point', where)})\n"
