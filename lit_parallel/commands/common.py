"""What several commands share: plain-text tables and the help text of a dataset SPEC."""

from __future__ import annotations

from collections.abc import Sequence

from lit_parallel.problems.loading import FORMATS


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


DATASET_HELP = "a dataset SPEC: bundled (the shipped corpus), PATH.jsonl (the project's format), or " + ", ".join(
    f"{name}:SOURCE ({description})" for name, (_, description) in FORMATS.items()
)
