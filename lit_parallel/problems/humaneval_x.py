"""HumanEval-X (THUDM/CodeGeeX) rows assembled into script-style programs, as its harness does.

Program = per-PL preamble + prompt + solution + test (Rust: + declaration), following CodeGeeX's
``process_humaneval_test`` and ``IMPORT_HELPER``, with three changes for the executor, which
judges a script by its exit code alone:

- JavaScript: ``console.assert`` is made to throw. Node only logs a failed one and exits 0
  (CodeGeeX fails any JS run that writes output instead).
- Go: every package the solution *or the test* uses is imported (CodeGeeX scans the solution only).
- Python: no ``import numpy``; the executor's Python runs without site-packages, and no
  HumanEval problem needs numpy.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterator, Mapping

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import Problem, Variant, require
from lit_parallel.problems.sources import files, group_variants, humaneval_id, read_rows

LANGUAGE = {"cpp": "cpp", "go": "go", "java": "java", "js": "javascript", "python": "python", "rust": "rust"}
"""HumanEval-X PL (the ``<pl>`` of ``humaneval_<pl>.jsonl.gz``) -> executor language."""
_PREFIX = {"cpp": "cpp", "go": "go", "java": "java", "javascript": "js", "python": "python", "rust": "rust"}
"""The PL of a row, from its task_id's prefix (``CPP/0``, ``JavaScript/0``): hub rows have no file name."""

_EXTRA_FIELDS = {"go": ("import", "test_setup"), "rust": ("declaration",)}
"""Fields :func:`assemble` reads beyond prompt, solution and test."""
_PYTHON_IMPORTS = (
    "import math\nimport re\nimport sys\nimport copy\nimport datetime\nimport itertools\nimport collections\n"
    "import heapq\nimport statistics\nimport functools\nimport hashlib\nimport string\nfrom typing import *\n"
    "from collections import *\n"
)
_CPP_INCLUDES = ("stdlib.h", "algorithm", "math.h", "stdio.h", "vector", "string", "climits", "cstring", "iostream")
_GO_PACKAGES = ("math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand", "crypto/md5")
_JS_ASSERT = (
    "console.assert = ((ok) => (value, ...msg) => ok(value, msg.join(' ') || 'console.assert'))"
    "(require('assert').ok);\n"
)


def _go_imports(block: str) -> list[str]:
    return re.findall(r'"([^"]+)"', block)


def assemble(pl: str, row: Mapping[str, str], solution: str | None = None) -> str:
    """The program for one row of ``humaneval_<pl>.jsonl.gz``: it passes iff it exits with 0.

    ``solution`` replaces the row's canonical solution (e.g. a model's completion).
    """
    prompt, test = row["prompt"], row["test"]
    code = row["canonical_solution"] if solution is None else solution
    if pl == "python":
        return _PYTHON_IMPORTS + prompt + code + "\n" + test + "\n"
    if pl == "cpp":
        missing = "".join(f"#include<{h}>\n" for h in _CPP_INCLUDES if f"#include<{h}>" not in prompt)
        return missing + "\n" + prompt + code + "\n" + test
    if pl == "java":
        return prompt + code + "\n" + test
    if pl == "js":
        return _JS_ASSERT + prompt + code + "\n" + test
    if pl == "go":
        # The prompt's import block goes: Go rejects unused imports, so import exactly what is used.
        have = set(_go_imports(row["test_setup"]))
        body = code + "\n" + test
        used = [
            pkg
            for pkg in dict.fromkeys([*_GO_PACKAGES, *_go_imports(row["import"])])
            if pkg not in have and re.search(rf"(?<![\w.]){pkg.rsplit('/', 1)[-1]}\.", body)
        ]
        imports = "import (\n" + "".join(f'    "{pkg}"\n' for pkg in used) + ")\n" if used else ""
        if row["import"].strip():
            prompt = prompt.replace(row["import"], "")
        return row["test_setup"] + "\n" + imports + prompt + code + "\n" + test
    if pl == "rust":
        return "\nfn main(){ \n } \n" + row["declaration"] + prompt + code + test
    raise ValueError(f"unknown HumanEval-X PL {pl!r} (known: {', '.join(LANGUAGE)})")


def load_humaneval_x(source: str) -> list[Problem]:
    """One eval Problem per HumanEval task with a completion Variant per PL of ``source``.

    ``source`` is a directory of ``humaneval_<pl>.jsonl.gz`` files, one such file, or ``hub:...``.
    A variant's program is what :func:`assemble` builds around the code it judges.
    """
    groups = group_variants(item for path in files(source, "humaneval_*.jsonl*") for item in _variants(path))
    return [
        Problem(task_id, _description(variants), variants, "eval", source=where)
        for task_id, (where, variants) in groups.items()
    ]


def _variants(source: str) -> Iterator[tuple[str, str, Variant]]:
    for where, row in read_rows(source):
        raw_id = require(row, "task_id", where)
        pl = _PREFIX.get(raw_id.split("/", 1)[0].lower())
        if pl is None:
            known = ", ".join(_PREFIX)
            raise DataError(f"{where}: field 'task_id': unknown HumanEval-X PL in {raw_id!r} (known: {known})")
        for key in ("prompt", "canonical_solution", "test", *_EXTRA_FIELDS.get(pl, ())):
            require(row, key, where)
        variant = Variant(
            LANGUAGE[pl],
            row["prompt"],
            row["canonical_solution"],
            test_code=row["test"],
            completion=True,
            assemble=functools.partial(assemble, pl, row),
        )
        yield where, humaneval_id(raw_id, where, "task_id"), variant


def _description(variants: Mapping[str, Variant]) -> str:
    """The Python prompt's docstring (the task in words), else the first prompt."""
    python = variants.get("python")
    if python is None:
        return next(iter(variants.values())).prompt
    docstrings = re.findall(r'"""(.*?)"""|\'\'\'(.*?)\'\'\'', python.prompt, re.S)
    return inspect.cleandoc(docstrings[-1][0] or docstrings[-1][1]) if docstrings else python.prompt
