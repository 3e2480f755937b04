"""The one reader of JSONL files (plain or gzip): each record with its line, a bad line as a DataError
that names it, so that a caller can stop at it (datasets) or report it and go on (``exec``)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from lit_parallel.errors import DataError


def jsonl_records(path: str | Path) -> Iterator[tuple[int, object]]:
    """``(line number, record)`` for each non-blank line; a line that is not JSON gives, in place of
    its record, the DataError ``<path>:<line>: not JSON (...)``."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    lineno = 0
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield lineno, DataError(f"{path}:{lineno}: not JSON ({exc.msg})")
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:  # a binary, corrupt or truncated file
        raise DataError(f"{path}:{lineno + 1}: not readable text ({type(exc).__name__})") from None


def strict_records(path: str | Path) -> Iterator[tuple[str, object]]:
    """``("<path>:<line>", record)`` for each non-blank line; DataError at the first that is not JSON."""
    for lineno, record in jsonl_records(path):
        if isinstance(record, DataError):
            raise record
        yield f"{path}:{lineno}", record
