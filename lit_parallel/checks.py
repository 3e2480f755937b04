"""Checks of a command's arguments, run before it loads a model or runs anything.

Each check raises DataError ``<where>: <what>``: the flag or config key, then what is wrong with its
value. The command prints it as one line and exits 2, with nothing written. A leaf module: it knows
the error type and the language registry, nothing of models, data or Lightning.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.execution.errors import ExecutionError
from lit_parallel.execution.languages import canonical_language, get_language


@contextmanager
def prefixed(where: str) -> Iterator[None]:
    """Put ``where`` in front of the message of any DataError raised inside."""
    try:
        yield
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


def data_error(exc: BaseException) -> DataError | None:
    """The DataError that caused ``exc`` (LightningCLI wraps what a config's class raised), or None."""
    while exc is not None and not isinstance(exc, DataError):
        exc = exc.__cause__ or exc.__context__
    return exc


def at_least(value: float | None, minimum: float, where: str) -> None:
    """``value`` (None: not given) is at least ``minimum``."""
    if value is not None and value < minimum:
        raise DataError(f"{where}: must be at least {minimum}, got {value}")


def positive(value: float | None, where: str) -> None:
    """``value`` (None: not given) is above 0."""
    if value is not None and not value > 0:
        raise DataError(f"{where}: must be positive, got {value}")


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
    try:
        language = get_language(name)
    except ExecutionError:
        raise DataError(f"{where}: the executor cannot run {name} (a data-only language)") from None
    if missing := language.missing_tools():
        raise DataError(
            f"{where}: {language.name} toolchain missing ({', '.join(missing)} not found); install: {language.install}"
        )


def shares(values: object, where: str) -> None:
    """A mapping of names to non-negative numbers with a positive sum."""
    if not isinstance(values, Mapping) or not values:
        raise DataError(f"{where}: must map names to shares, got {values!r}")
    for name, share in values.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or share < 0:
            raise DataError(f"{where}: the share of {name!r} must be a non-negative number, got {share!r}")
    if not sum(values.values()) > 0:
        raise DataError(f"{where}: shares must have a positive sum, got {dict(values)}")


def choices(names: Sequence[str], known: Sequence[str], where: str) -> None:
    """Every name is one of ``known``."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DataError(f"{where}: unknown {', '.join(map(repr, unknown))} (known: {', '.join(known)})")


def pass_at_k(ks: Sequence[int], n: int) -> None:
    """``--n`` samples per problem give pass@k for each ``--k`` from 1 to n."""
    at_least(n, 1, "--n")
    for k in ks:
        at_least(k, 1, "--k")
        if k > n:
            raise DataError(f"--k: pass@{k} needs at least {k} samples per problem, but --n is {n}")


def nonempty_sets(sets: Mapping[str, Sequence[object]], where: str) -> None:
    """Every language of ``sets`` has something to evaluate: an empty one would report a nan as a result."""
    empty = [lang for lang, items in sets.items() if not items]
    if empty:
        raise DataError(f"{where}: no evaluation problem with tests in {', '.join(empty)}")
    if not sets:
        raise DataError(f"{where}: the datasets have no evaluation problem")


def execution(args: argparse.Namespace) -> None:
    """``--workers`` and ``--timeout`` of a command that runs programs."""
    at_least(args.workers, 1, "--workers")
    positive(args.timeout, "--timeout")


def check_exec(args: argparse.Namespace) -> None:
    """``lit-parallel exec``."""
    existing_file(args.input, "--input")
    output_file(args.output, "--output")
    execution(args)
    positive(args.memory_mb, "--memory-mb")


def check_data(args: argparse.Namespace) -> None:
    """``lit-parallel data verify|stats``: verify runs the solutions, so its languages must run here."""
    runs = args.data_command == "verify"
    languages(args.languages, "--languages", runnable=runs)
    if runs:
        execution(args)


def check_evaluate(args: argparse.Namespace) -> None:
    """``lit-parallel evaluate``: the evaluated languages are run, the targets must be among them."""
    evaluated = languages(args.languages, "--languages", runnable=True)
    targets = languages(args.targets, "--targets", runnable=True)
    if evaluated and targets:
        choices(targets, evaluated, "--targets")
    pass_at_k(args.k, args.n)
    at_least(args.limit, 1, "--limit")
    at_least(args.devices, 1, "--devices")
    sampling(args)
    execution(args)
    output_file(args.output, "--output")


def sampling(args: argparse.Namespace) -> None:
    """``--temperature``, ``--top-p``, ``--max-new-tokens`` and ``--batch-size`` of a command that samples."""
    at_least(args.temperature, 0, "--temperature")
    if not 0 < args.top_p <= 1:
        raise DataError(f"--top-p: must be in (0, 1], got {args.top_p}")
    at_least(args.max_new_tokens, 1, "--max-new-tokens")
    at_least(args.batch_size, 1, "--batch-size")


def check_translate(args: argparse.Namespace) -> None:
    """``lit-parallel data translate``: the targets are judged here, so they must run here."""
    languages(args.to, "--to", runnable=True)
    languages([args.source], "--from")
    at_least(args.limit, 1, "--limit")
    at_least(args.samples, 1, "--samples")
    sampling(args)
    execution(args)
    existing_file(args.candidates, "--candidates")
    output_file(args.output, "--output")


def check_align(args: argparse.Namespace) -> None:
    """``lit-parallel align``: nothing runs, so data-only languages may be compared too."""
    languages(args.languages, "--languages")
    at_least(args.limit, 2, "--limit")
    at_least(args.batch_size, 1, "--batch-size")
    at_least(args.max_length, 2, "--max-length")
    existing_file(args.compare, "--compare")
    output_file(args.output, "--output")
