"""PolyHumanEval (q4x3/poly-humaneval): HumanEval solved in 14 languages, parallel programs.

``solutions.json`` is ``{pl: {"HumanEval/N": code}}``. Its tests (``tests.testdsl``) are a typed
DSL that this project does not translate, so variants have no tests: the problems are parallel
groups, for training or for comparing languages, not a benchmark here. The DSL's ``code`` blocks
(function signatures) are read when the file is beside ``solutions.json``: they name the function.
"""

from __future__ import annotations

import re
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import SPLITS, Problem, Variant, language_of
from lit_parallel.problems.sources import group_variants, humaneval_id, read_rows


def load_polyhumaneval(source: str, split: str = "eval") -> list[Problem]:
    """One Problem per HumanEval task with a whole-program Variant (reference solution, no tests) per PL.

    ``source`` is ``solutions.json`` or the directory holding it.
    """
    if split not in SPLITS:
        raise DataError(f"polyhumaneval: split must be one of {SPLITS}, not {split!r}")
    path = Path(source) / "solutions.json" if Path(source).is_dir() else Path(source)
    signatures = _signatures(path.with_name("tests.testdsl"))
    items = []
    for where, codes in read_rows(str(path)):
        language = language_of(where.rsplit(":", 1)[1], where, "pl")
        if not isinstance(codes, dict):
            raise DataError(f"{where}: expected an object of task_id -> code")
        for raw_id, code in codes.items():
            task_id = humaneval_id(raw_id, where, raw_id)
            if not isinstance(code, str):
                raise DataError(f"{where}: field {raw_id!r} must be str, not {type(code).__name__}")
            items.append((where, task_id, Variant(language, _prompt(task_id, language, signatures), code)))
    return [
        Problem(task_id, _prompt(task_id, None, signatures), variants, split, source=where)
        for task_id, (where, variants) in group_variants(items).items()
    ]


def _signatures(path: Path) -> dict[str, str]:
    """``HumanEval/N -> "func name(arg:type) -> type"`` from the DSL's ``code`` blocks, if the file is there."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r"problem\s+(\S+)\s*\{\s*code\s*\{\s*(.*?)\s*\}", text, re.S))


def _prompt(task_id: str, language: str | None, signatures: dict[str, str]) -> str:
    signature = signatures.get(task_id)
    what = f"the function `{signature}`" if signature else "its function"
    where = f" in {language}" if language else ""
    return f"Solve HumanEval task {task_id}: write {what}{where}."
