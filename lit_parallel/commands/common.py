"""What several commands share: plain-text tables, help text without reST markup, the help of a dataset
SPEC, the report of sandbox errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lit_parallel.execution import Result, sandbox_errors
from lit_parallel.problems.loading import DATASET_FORMATS
from lit_parallel.problems.synthetic import SPEC_HELP


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_SPECS = [
    "bundled (the shipped corpus)",
    SPEC_HELP,
    "PATH.jsonl (the project's format)",
    *(f"{name}:SOURCE ({description})" for name, (_, description) in DATASET_FORMATS.items()),
]
DATASET_HELP = ", ".join(_SPECS[:-1]) + ", or " + _SPECS[-1]
"""The forms a dataset SPEC takes, as one phrase for a command's help."""


def report_sandbox_errors(results: Sequence[Result]) -> int:
    """Say why programs got sandbox_error, one line per language; the exit code 3 if any did."""
    lines = sandbox_errors(results)
    for line in lines:
        print(f"lit-parallel: {line}", file=sys.stderr)
    return 3 if lines else 0


def plain(text: str) -> str:
    """Docstring text as a terminal shows it: reST's double backticks dropped."""
    return text.replace("``", "")


class PlainText:
    """A help formatter mixin: texts that come from docstrings, shown without reST double backticks."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(plain(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return plain(super()._expand_help(action))
