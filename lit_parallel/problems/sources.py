"""Raw rows of public datasets, each with the place it came from, for messages that name it.

A SOURCE is a local ``.jsonl``, ``.jsonl.gz``, ``.json`` or ``.parquet`` file, or a hub dataset
``hub:ORG/NAME[#CONFIG][@SPLIT]`` read through ``datasets.load_dataset`` (every split without ``@``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.jsonl import strict_records
from lit_parallel.problems.schema import Variant

_HUB = re.compile(r"hub:(?P<name>[^#@]+)(?:#(?P<config>[^@]+))?(?:@(?P<split>.+))?")


def read_rows(source: str) -> Iterator[tuple[str, dict]]:
    """``(where, row)`` for each row of ``source``; ``where`` is "path:LINE", "path:[i]", "path:key" or "path:row N"."""
    if source.startswith("hub:"):
        yield from _hub_rows(source)
        return
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        yield from strict_records(path)
    elif path.suffix == ".json":
        yield from _json_rows(path)
    elif path.suffix == ".parquet":
        yield from _parquet_rows(path)
    else:
        raise DataError(f"{path}: unknown file type (known: .jsonl, .jsonl.gz, .json, .parquet)")


def _json_rows(path: Path) -> Iterator[tuple[str, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    if isinstance(data, list):
        yield from ((f"{path}:[{i}]", row) for i, row in enumerate(data))
    elif isinstance(data, dict):
        yield from ((f"{path}:{key}", row) for key, row in data.items())
    else:
        raise DataError(f"{path}: expected a JSON list or object, not {type(data).__name__}")


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict]]:
    # pyarrow (a dependency of datasets) streams the file; Dataset.from_parquet would copy it into the cache.
    import pyarrow.parquet as pq

    n = 0
    for batch in pq.ParquetFile(path).iter_batches():
        for row in batch.to_pylist():
            yield f"{path}:row {n}", row
            n += 1


def _hub_rows(source: str) -> Iterator[tuple[str, dict]]:
    spec = _HUB.fullmatch(source)
    if spec is None:
        raise DataError(f"{source}: a hub dataset is hub:ORG/NAME[#CONFIG][@SPLIT]")
    import datasets

    try:
        loaded = datasets.load_dataset(spec["name"], spec["config"], split=spec["split"])
    except Exception as exc:  # the hub raises many kinds (network, missing config, auth): all mean "cannot load"
        raise DataError(f"{source}: cannot load ({type(exc).__name__}: {exc})") from None
    splits = {spec["split"]: loaded} if spec["split"] else dict(loaded)
    name = source.split("@", 1)[0]
    for split, rows in splits.items():
        for n, row in enumerate(rows):
            yield f"{name}@{split}:row {n}", row


def files(source: str, pattern: str) -> list[str]:
    """The files a SOURCE stands for: a directory's files matching ``pattern``, else the SOURCE itself."""
    path = Path(source)
    if source.startswith("hub:") or not path.is_dir():
        return [source]
    found = sorted(str(p) for p in path.glob(pattern))
    if not found:
        raise DataError(f"{path}: no {pattern} files")
    return found


def humaneval_id(raw: object, where: str, key: str) -> str:
    """``HumanEval/N`` from the ids the HumanEval family uses: ``HumanEval_N_name``, ``CPP/N``, ``HumanEval/N``."""
    match = re.match(r"(?:HumanEval_|[\w+#-]+/)(\d+)(?:_|$)", raw) if isinstance(raw, str) else None
    if match is None:
        raise DataError(f"{where}: field {key!r}: {raw!r} is not a HumanEval task id")
    return f"HumanEval/{match[1]}"


def group_variants(items: Iterable[tuple[str, str, Variant]]) -> dict[str, tuple[str, dict[str, Variant]]]:
    """``task_id -> (where first seen, {language: variant})`` in task order, from ``(where, task_id, variant)``.

    A task that has one language twice is an error naming both places.
    """
    groups: dict[str, tuple[str, dict[str, Variant]]] = {}
    places: dict[tuple[str, str], str] = {}
    for where, task_id, variant in items:
        key = (task_id, variant.language)
        if key in places:
            raise DataError(f"{where}: field 'task_id': {task_id!r} in {variant.language} also at {places[key]}")
        places[key] = where
        groups.setdefault(task_id, (where, {}))[1][variant.language] = variant
    return dict(sorted(groups.items(), key=lambda item: int(item[0].rsplit("/", 1)[1])))
