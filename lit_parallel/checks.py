"""Generic checks of values read from configs and command lines, and where in a YAML file a key sits.

Each check raises DataError ``<where>: <what>``: the config key (as written in YAML and, with ``--``
in front, as a flag), then what is wrong with its value. The specs call them from ``__post_init__``;
the command prints the error as one line and exits 2, with nothing written. A leaf module: it knows the
error type and the language registry, nothing of models, data or Lightning.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import yaml

from lit_parallel.errors import DataError


@contextmanager
def prefixed(where: str) -> Iterator[None]:
    """Put ``where`` in front of the message of any DataError raised inside."""
    try:
        yield
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


def data_error(exc: BaseException) -> DataError | None:
    """The DataError that caused ``exc`` (jsonargparse and LightningCLI wrap what a class raised), or None."""
    while exc is not None and not isinstance(exc, DataError):
        exc = exc.__cause__ or exc.__context__
    return exc


def number(value: object, where: str) -> None:
    """``value`` (None: not given) is a finite number."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}: must be a number, got {value!r}")
    if not math.isfinite(value):
        raise DataError(f"{where}: must be a finite number, got {value}")


def at_least(value: float | None, minimum: float, where: str) -> None:
    """``value`` (None: not given) is a finite number of at least ``minimum``."""
    number(value, where)
    if value is not None and value < minimum:
        raise DataError(f"{where}: must be at least {minimum}, got {value}")


def positive(value: float | None, where: str) -> None:
    """``value`` (None: not given) is a finite number above 0."""
    number(value, where)
    if value is not None and not value > 0:
        raise DataError(f"{where}: must be positive, got {value}")


def fraction(value: float | None, where: str, open_low: bool = False) -> None:
    """``value`` (None: not given) is in [0, 1], or in (0, 1] with ``open_low``."""
    number(value, where)
    if value is not None and not (0 < value <= 1 if open_low else 0 <= value <= 1):
        raise DataError(f"{where}: must be in {'(' if open_low else '['}0, 1], got {value}")


def choices(names: Sequence[str], known: Sequence[str], where: str) -> None:
    """Every name is one of ``known``."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DataError(f"{where}: unknown {', '.join(map(repr, unknown))} (known: {', '.join(known)})")


def shares(values: object, where: str) -> None:
    """A mapping of names to non-negative numbers with a positive sum."""
    if not isinstance(values, Mapping) or not values:
        raise DataError(f"{where}: must map names to shares, got {values!r}")
    for name, share in values.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or not share >= 0 or share == math.inf:
            raise DataError(f"{where}: the share of {name!r} must be a non-negative number, got {share!r}")
    if not sum(values.values()) > 0:
        raise DataError(f"{where}: shares must have a positive sum, got {dict(values)}")


def existing_file(path: str | Path | None, where: str) -> None:
    """``path`` (None: not given) is a file that exists."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{where}: {path} is a directory, not a file")
    if not path.is_file():
        raise DataError(f"{where}: {path}: no such file")


def output_file(path: Path, where: str) -> None:
    """``path`` can be written as a file: not a directory, and under a directory that is (or can be) made."""
    if path.is_dir():
        raise DataError(f"{where}: {path} is a directory, not a file")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(f"{where}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK):
        raise DataError(f"{where}: {parent} is not writable")


def languages(names: Sequence[str] | None, where: str, runnable: bool = False) -> list[str] | None:
    """Registry names of ``names`` (None: not given); with ``runnable``, each must run here (a known
    executor language whose toolchain is installed)."""
    from lit_parallel.execution.errors import ExecutionError
    from lit_parallel.execution.languages import canonical_language

    if names is None:
        return None
    found = []
    for name in names:
        try:
            language = canonical_language(name)
        except ExecutionError as exc:
            raise DataError(f"{where}: {exc}") from None
        if runnable:
            runnable_here(language, where)
        found.append(language)
    return found


def registry_names(names: Sequence[str] | None, where: str, runnable: bool = False) -> None:
    """Like ``languages``, and each name is the registry's own (config keys are compared as written)."""
    for name, canonical in zip(names or (), languages(names, where, runnable) or (), strict=True):
        if name != canonical:
            raise DataError(f"{where}: write {canonical!r}, not {name!r}")


def runnable_here(name: str, where: str) -> None:
    """The executor can run ``name`` here: not a data-only language, its toolchain installed."""
    from lit_parallel.execution.errors import ExecutionError
    from lit_parallel.execution.languages import get_language

    try:
        language = get_language(name)
    except ExecutionError:
        raise DataError(f"{where}: the executor cannot run {name} (a data-only language)") from None
    if missing := language.missing_tools():
        raise DataError(
            f"{where}: {language.name} toolchain missing ({', '.join(missing)} not found); install: {language.install}"
        )


def read_yaml(path: str | Path) -> object:
    """The YAML document of ``path``; a syntax error is one DataError naming the file and line."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file")
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not YAML"
        raise DataError(f"{path}:{mark.line + 1 if mark else '?'}: not YAML ({problem})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as text ({exc.__class__.__name__})") from None


def key_line(path: str | Path, key: str) -> int | None:
    """The line of ``path`` where the dotted ``key`` is written: the first mapping key path that ends
    with it (``sampling.top_p`` finds ``model.init_args.sampling.top_p``), or None."""
    try:
        root = yaml.compose(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    wanted = [part for part in re.split(r"\.|\[\d+\]", key) if part]
    found: list[int] = []

    def walk(node: yaml.Node, above: list[str]) -> None:
        if isinstance(node, yaml.MappingNode):
            for name, value in node.value:
                here = [*above, str(name.value)]
                if here[-len(wanted) :] == wanted:
                    found.append(name.start_mark.line + 1)
                walk(value, here)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, above)

    if root is not None and wanted:
        walk(root, [])
    return min(found) if found else None


MESSAGE_KEY = re.compile(r"(?:field '([^']+)'|([A-Za-z_][\w.\[\]]*))[: ]")


def located(message: str, files: Sequence[str | Path]) -> str:
    """``message`` with the config file (and line) in front that holds the key it starts with; the
    files of ``files`` (last one wins, as later configs override earlier ones), else the message."""
    match = MESSAGE_KEY.match(message)
    if match is None or not files:
        return message
    key = match.group(1) or match.group(2)
    for path in reversed(files):
        if (line := key_line(path, key)) is not None:
            return f"{path}:{line}: {message}"
    return message
