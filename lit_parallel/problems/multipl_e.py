"""MultiPL-E (nuprl): HumanEval translated into many languages, as function-completion tasks.

Rows are ``name, language, prompt, tests, stop_tokens``; program = prompt + completion + tests. Some
copies differ: OCaml rows keep the name in ``task_id`` and the tests in ``test``, and the Python
file of DeepSeek-Coder's copy is OpenAI HumanEval itself (``Python/N``, no language). MultiPL-E's
licence forbids its use as training data: problems load as ``eval`` and carry no solution.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import Problem, Variant, language_of, require
from lit_parallel.problems.sources import files, group_variants, humaneval_id, read_rows


def load_multipl_e(source: str, languages: Collection[str] | None = None) -> list[Problem]:
    """One eval Problem per HumanEval task, a completion Variant per language of ``source``.

    ``source`` is a directory of ``humaneval-<pl>.jsonl`` files, one such file, or ``hub:...``;
    ``languages`` (any names or aliases) keeps only those languages.
    """
    wanted = None if languages is None else {language_of(name, "languages", "languages") for name in languages}
    items = (item for path in files(source, "*.jsonl") for item in _variants(path))
    groups = group_variants(item for item in items if wanted is None or item[2].language in wanted)
    return [
        Problem(task_id, _description(variants), variants, "eval", source=where)
        for task_id, (where, variants) in groups.items()
    ]


def _variants(source: str) -> Iterator[tuple[str, str, Variant]]:
    # The file name tells the language of rows without one (the Python file of DeepSeek's copy).
    named = re.fullmatch(r"humaneval-(\w+)\.jsonl", Path(source).name)
    for where, row in read_rows(source):
        task_id = humaneval_id(row.get("name") or row.get("task_id"), where, "name")
        name = row.get("language") or (named[1] if named else None)
        if not isinstance(name, str):
            raise DataError(f"{where}: field 'language' is missing")
        # MultiPL-E's Go rows say "go_test.go": the file name its harness writes.
        language = language_of(name.removesuffix("_test.go"), where)
        tests = row.get("tests") if row.get("tests") is not None else require(row, "test", where)
        if not isinstance(tests, str):
            raise DataError(f"{where}: field 'tests' must be str, not {type(tests).__name__}")
        stop = row.get("stop_tokens") or ()
        prompt = require(row, "prompt", where)
        yield where, task_id, Variant(language, prompt, None, test_code=tests, completion=True, stop=tuple(stop))


def _description(variants: dict[str, Variant]) -> str:
    return (variants.get("python") or next(iter(variants.values()))).prompt
