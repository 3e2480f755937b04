"""Model files a command loads, checked readable before anything runs or is written.

A corrupt or truncated adapter, checkpoint, GGUF file or model directory would otherwise end in a
traceback deep inside a loader (safetensors, gguf, torch, transformers); here it is one DataError
naming the file. Only what describes the weights is read (JSON configs, safetensors headers, the GGUF
tensor table), except for a checkpoint, which is read whole: its hyperparameters are needed anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

from lit_parallel.errors import DataError
from lit_parallel.modeling import PACKAGED, ModelSpec


def unreadable(path: Path, what: str, exc: BaseException) -> DataError:
    """The error of a file that is not what it should be, with the loader's reason on one line."""
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    return DataError(f"{path}: not a readable {what} (corrupt or truncated? {reason})")


def json_file(path: Path) -> None:
    try:
        json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise unreadable(path, "JSON file", exc) from None


def safetensors_file(path: Path) -> None:
    """The header is whole and its tensors fit in the file (safetensors checks both on opening)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt"):
            pass
    except (OSError, SafetensorError) as exc:
        raise unreadable(path, "safetensors file", exc) from None


def gguf_file(path: Path) -> None:
    """Its tensor table parses and every tensor's data lies within the file."""
    from gguf import GGUFReader

    try:
        GGUFReader(path)
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise unreadable(path, "GGUF file", exc) from None


def model_directory(path: Path) -> None:
    """Every JSON file (configs, tokenizer) and safetensors file of a model or adapter directory."""
    for file in sorted(path.iterdir()):
        if file.suffix == ".json":
            json_file(file)
        elif file.suffix == ".safetensors":
            safetensors_file(file)


def check_model_files(spec: ModelSpec) -> None:
    """The local files of ``spec``'s source and adapter are readable (a hub id's cache is the hub's)."""
    for source in (spec.source, spec.adapter):
        if source is None or source == PACKAGED:
            continue
        path = Path(source).expanduser()
        if path.is_dir():
            model_directory(path)
        elif path.is_file() and path.suffix == ".gguf":
            gguf_file(path)


def read_checkpoint(path: str | Path) -> dict:
    """A Lightning checkpoint's contents (on CPU)."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch.load raises what its unpickler or zip reader met, of many kinds
        raise unreadable(Path(path), "checkpoint", exc) from None
    if not isinstance(checkpoint, dict):
        raise DataError(f"{path}: not a Lightning checkpoint (it holds a {type(checkpoint).__name__})")
    return checkpoint
