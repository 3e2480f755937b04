"""What lit-parallel makes once and keeps: converted models, tiny test models, generated corpora.

Everything lives under ``$LIT_PARALLEL_HOME`` (default ``~/.cache/lit-parallel``) and is written whole
or not at all, so processes that ask at once (DDP ranks, parallel tests) never read half a file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def cache_root() -> Path:
    """``$LIT_PARALLEL_HOME`` or ``~/.cache/lit-parallel``."""
    return Path(os.environ.get("LIT_PARALLEL_HOME", Path.home() / ".cache" / "lit-parallel"))


def cached_directory(target: Path, make: Callable[[Path], None]) -> Path:
    """``target``, made once by ``make(staging_dir)`` and moved into place whole.

    Processes that ask at once wait for the one that makes it.
    """
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "config.json").exists():
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
            try:
                make(staging)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return target


def source_fingerprint(files: Iterable[Path]) -> str:
    """A short hash of the files' names and contents: the code a cached value was made by."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cached_value(kind: str, fingerprint: str, name: str, make: Callable[[], T]) -> T:
    """``make()``, pickled once under ``kind/fingerprint/name.pickle`` and read back after that.

    A new fingerprint (the code changed) makes the others of ``kind`` stale: they are removed. A cache
    that cannot be written costs only the time to make the value again.
    """
    folder = cache_root() / kind / fingerprint
    path = folder / f"{name}.pickle"
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass
    value = make()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.parent.iterdir():
            if stale != folder:
                shutil.rmtree(stale, ignore_errors=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".staging-", delete=False) as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(file.name, path)
    except OSError:
        pass
    return value
