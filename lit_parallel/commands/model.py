"""The model a tool command works on, and the prompts it was trained with: a base model, an adapter on
it, a training config's model, or a Lightning checkpoint of SFT or RL.

``evaluate``, ``align`` and ``data translate`` take the same ``model`` options (``ModelChoice``). A
training config (the YAML given to ``fit``, or the ``config.yaml`` LightningCLI saved beside a run's
logs) has its ``model`` and ``data`` sections read by jsonargparse as LightningCLI reads them in fit,
overrides included, so a command measures the model that training trained, with the prompts its data
rendered: the same source, tiny architecture, quantization, chat template or not, system prompt. A
checkpoint carries both itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import yaml

from lit_parallel import checks
from lit_parallel.checks import existing_file, prefixed, read_yaml
from lit_parallel.commands.arguments import instantiated, one_line
from lit_parallel.commands.files import check_model_files, read_checkpoint
from lit_parallel.errors import DataError
from lit_parallel.modeling import PACKAGED, ComputeDtype, ModelSpec, Quantization, check_source, load_model
from lit_parallel.prompts import PromptStyle

if TYPE_CHECKING:  # the sampler's modules load only where a command samples
    from lit_parallel.generation import SamplingSpec
    from lit_parallel.sampling import Sampler


@dataclass
class ModelChoice:
    """Which model a command loads, and how it renders prompts for it. Without ``fit_config`` or
    ``checkpoint``: the base model ``source`` (with ``adapter`` on it) and chat prompts."""

    source: str = PACKAGED
    """A hub id, a local directory, a .gguf file or packaged:smollm2-135m-instruct (when there is no
    fit_config or checkpoint)."""
    adapter: str | None = None
    """A PEFT adapter directory on top of the model (a run's ``adapters/final``)."""
    fit_config: str | None = None
    """A training YAML (what ``fit --config`` takes) or the config.yaml a run saved beside its logs: the
    model its fit builds, and the prompts its data renders (``chat``, ``system_prompt``)."""
    fit_args: list[str] = field(default_factory=list)
    """fit arguments applied to fit_config, as ``--model.init_args.model.quantization=none``."""
    checkpoint: str | None = None
    """A lit-parallel SFT or RL checkpoint: its model, trained weights and prompts (alone: no source,
    adapter or fit_config with it)."""
    quantization: Quantization | None = None
    """Base weights: none, nf4, nf4-double or int8 (default: the fit config's, or none)."""
    compute_dtype: ComputeDtype | None = None
    """float32, bfloat16 or float16 (default: the fit config's, or float32)."""
    chat: bool | None = None
    """Prompts through the chat template (True) or plain text (False, base models); default: what the
    run trained with (its data's ``chat``), else True."""
    system_prompt: str | None = None
    """The system message; default: the run's (its data's ``system_prompt``), else none."""

    def __post_init__(self) -> None:
        if self.checkpoint is not None and (self.adapter or self.fit_config or self.source != PACKAGED):
            raise DataError("model.checkpoint: a checkpoint holds its model: give no source, adapter or fit_config")
        if self.fit_args and self.fit_config is None:
            raise DataError("model.fit_args: they apply to a fit_config, and there is none")
        if self.fit_config is not None and self.source != PACKAGED:
            raise DataError("model.source: the fit_config names the model: give one of the two")

    def check(self) -> None:
        """The files exist and can be read, the sources resolve: nothing is loaded."""
        existing_file(self.checkpoint, "model.checkpoint")
        existing_file(self.fit_config, "model.fit_config")
        if self.checkpoint:
            read_checkpoint(self.checkpoint)
            return
        spec = inference_spec(self)
        with prefixed("model.fit_config" if self.fit_config else "model.source"):
            check_source(spec.source)
        if self.adapter is not None:
            with prefixed("model.adapter"):
                check_source(self.adapter, needs="adapter_config.json")
        check_model_files(spec)

    @property
    def name(self) -> str:
        """What provenance records of the model: its source, config, adapter or checkpoint."""
        if self.checkpoint:
            return f"checkpoint:{self.checkpoint}"
        name = f"config:{self.fit_config}" if self.fit_config else self.source
        return name + (f"+adapter:{self.adapter}" if self.adapter else "")


@contextmanager
def quiet(*names: str) -> Iterator[None]:
    """The named loggers say only warnings and errors within the block."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def fit_sections(config: str | Path, overrides: Sequence[str] = ()) -> tuple[ModelSpec, PromptStyle]:
    """The ModelSpec and the prompt style that ``fit --config CONFIG OVERRIDES...`` builds (nothing is
    loaded or run).

    The config's ``model`` and ``data`` sections and their overrides are read by jsonargparse, as
    LightningCLI reads them in fit; the other sections (trainer, a tool's own) change neither.
    """
    # A command asks several times (its checks, the prompt style, the model): parsed once per file version.
    path = Path(config)
    version = path.stat().st_mtime_ns if path.is_file() else None
    spec, style = _fit_sections(str(config), version, tuple(overrides))
    return replace(spec), style


@cache
def _fit_sections(config: str, version: int | None, overrides: tuple[str, ...]) -> tuple[ModelSpec, PromptStyle]:
    from jsonargparse import ArgumentError, ArgumentParser
    from lightning import LightningDataModule, LightningModule

    path = Path(config)
    values = read_yaml(path) or {}
    if not isinstance(values, dict) or not isinstance(values.get("model"), dict):
        raise DataError(f"{path}: field 'model': a training config names its LightningModule there")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningModule, "model")
    argv = ["--model", yaml.safe_dump(values["model"]), *(arg for arg in overrides if arg.startswith("--model."))]
    if isinstance(values.get("data"), dict):
        parser.add_subclass_arguments(LightningDataModule, "data")
        argv += ["--data", yaml.safe_dump(values["data"]), *(arg for arg in overrides if arg.startswith("--data."))]
    try:
        parsed = parser.parse_args(argv)
        module = instantiated(parser, parsed).model
    except (ArgumentError, TypeError, ValueError) as exc:  # a bad key or value; a class refusing its arguments
        message = str(checks.data_error(exc) or one_line(str(exc)))
        where = checks.located(message, [path])
        raise DataError(where if where != message else f"{path}: {message}") from None
    spec = getattr(module, "spec", None)
    if not isinstance(spec, ModelSpec):
        raise DataError(f"{config}: field 'model': {type(module).__name__} has no ModelSpec 'spec'")
    data = parsed.get("data.init_args") or {}
    return spec, PromptStyle(chat=data.get("chat", True), system=data.get("system_prompt"))


def checkpoint_style(path: str | Path) -> PromptStyle:
    """The prompt style of the data a checkpoint's fit trained on (Lightning keeps its hyperparameters)."""
    data = read_checkpoint(path).get("datamodule_hyper_parameters") or {}
    return PromptStyle(chat=data.get("chat", True), system=data.get("system_prompt"))


def prompt_style(choice: ModelChoice) -> PromptStyle:
    """How prompts are rendered for the model of ``choice``: as its run rendered them, unless the choice
    says otherwise."""
    if choice.checkpoint:
        style = checkpoint_style(choice.checkpoint)
    elif choice.fit_config:
        style = fit_sections(choice.fit_config, choice.fit_args)[1]
    else:
        style = PromptStyle()
    chat = style.chat if choice.chat is None else choice.chat
    return PromptStyle(chat=chat, system=style.system if choice.system_prompt is None else choice.system_prompt)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, ModelSpec]:
    """The model of an SFT or RL Lightning checkpoint, rebuilt by Lightning from the config LightningCLI
    stored in it (base from its spec, then the trained weights), on ``device``."""
    import lightning as L

    checkpoint = read_checkpoint(path)
    if "_instantiator" not in checkpoint.get("hyper_parameters", {}):
        raise DataError(f"{path}: field 'hyper_parameters': not a checkpoint of a lit-parallel fit")
    with quiet("lightning.pytorch", "lightning.fabric"):
        module = L.LightningModule.load_from_checkpoint(path, map_location=device)
    model, spec = getattr(module, "model", None), getattr(module, "spec", None)
    if not isinstance(spec, ModelSpec) or model is None:
        raise DataError(f"{path}: field 'hyper_parameters': {type(module).__name__} is not an SFT or RL module")
    # Both modules keep their network as ``self.model``; checkpoints hold only its trainable weights.
    missing = set(checkpoint["state_dict"]) - set(module.state_dict())
    if missing:
        raise DataError(f"{path}: field 'state_dict': {len(missing)} weights the model lacks, e.g. {min(missing)}")
    return model.to(device), spec


def inference_spec(choice: ModelChoice) -> ModelSpec:
    """The ModelSpec of ``choice`` (without a checkpoint): the fit config's model, or the base ``source``."""
    if choice.fit_config:
        spec = fit_sections(choice.fit_config, choice.fit_args)[0]
    else:
        spec = ModelSpec(choice.source, quantization="none")
    # Checkpointing saves training memory only; in inference it would merely warn.
    return replace(
        spec,
        lora=None,
        adapter=choice.adapter,
        quantization=choice.quantization or spec.quantization,
        compute_dtype=choice.compute_dtype or spec.compute_dtype,
        gradient_checkpointing=False,
    )


def load_inference_model(choice: ModelChoice, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, ModelSpec]:
    """The model of ``choice``, on ``device`` in eval mode, and its spec."""
    if choice.checkpoint:
        model, spec = load_checkpoint(choice.checkpoint, device)
    else:
        spec = inference_spec(choice)
        model = load_model(spec, device)
    return merged(model, spec).eval(), spec


def merged(model: torch.nn.Module, spec: ModelSpec) -> torch.nn.Module:
    """``model`` with its LoRA adapters folded into unquantized base weights: the same function with one
    matmul per layer instead of three, so generation is faster (benchmarks/README.md). Quantized weights
    keep their adapters apart: merging would re-quantize them."""
    from peft import PeftModel

    if not isinstance(model, PeftModel) or spec.quantization != "none":
        return model
    return model.merge_and_unload()


def sampling_model(
    choice: ModelChoice, backend: str, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module | None, ModelSpec]:
    """What a sampler of ``backend`` draws from, and its spec. ``hf``: the inference model on ``device``.
    ``vllm`` loads the base weights itself (and ``adapter``), so nothing is loaded here but a checkpoint's
    model, on the CPU: the source of the adapter it gives vLLM."""
    if backend == "hf":
        return load_inference_model(choice, device)
    if choice.checkpoint:
        return load_checkpoint(choice.checkpoint, "cpu")
    return None, inference_spec(choice)


def inference_sampler(
    sampling: SamplingSpec,
    model: torch.nn.Module | None,
    spec: ModelSpec,
    tokenizer: object,
    style: PromptStyle,
    device: torch.device | str = "cpu",
) -> Sampler:
    """The sampler of ``sampling.backend`` for what ``sampling_model`` returned, prompts rendered in
    ``style`` (plain prompts take the tokenizer's BOS; chat templates write their own)."""
    from lit_parallel.sampling import build_sampler

    sampler = build_sampler(sampling, tokenizer, not style.chat, model, spec, device)
    if model is not None:
        sampler.load_adapter(model)
    return sampler
