"""The model a tool command works on: a base model, an adapter on it, a training config's model, or a
Lightning checkpoint of SFT or RL.

``lit-parallel evaluate`` and ``lit-parallel align`` take the same model arguments. A training config
(the YAML given to ``fit``, or the ``config.yaml`` LightningCLI saved beside a run's logs) has its model
section read by jsonargparse as LightningCLI reads it in fit, ``--model.*`` overrides included, so a
command measures the model that training trained: the same source, tiny architecture and quantization.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from lit_parallel.checks import existing_file, prefixed
from lit_parallel.errors import DataError
from lit_parallel.modeling import PACKAGED, ModelSpec, check_source, load_model


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


def innermost(message: str) -> str:
    """The deepest reason of a (nested, multi-line) jsonargparse error: its last key and what it says."""
    lines = [line.strip() for line in message.splitlines() if line.strip()] or [message]
    keys = [i for i, line in enumerate(lines) if line.startswith("Parser key")]
    return " ".join(lines[keys[-1] : keys[-1] + 2]) if keys else lines[0]


def configured_spec(config: str | Path, overrides: Sequence[str] = ()) -> ModelSpec:
    """The ModelSpec that ``fit --config CONFIG OVERRIDES...`` builds (nothing is loaded or run).

    The config's ``model`` section and the ``--model.*`` overrides are read by jsonargparse, as
    LightningCLI reads them in fit; the other sections (trainer, data, a tool's own) do not change the
    model and are not read.
    """
    from jsonargparse import ArgumentError, ArgumentParser
    from lightning import LightningModule

    path = Path(config)
    if not path.is_file():
        raise DataError(f"{config}: no such training config")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(f"{path}:{mark.line + 1 if mark else '?'}: not YAML") from None
    if not isinstance(values, dict) or not isinstance(values.get("model"), dict):
        raise DataError(f"{path}: field 'model': a training config names its LightningModule there")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningModule, "model")
    model_overrides = [arg for arg in overrides if arg.startswith("--model.")]
    try:
        parsed = parser.parse_args(["--model", yaml.safe_dump(values["model"]), *model_overrides])
        module = parser.instantiate_classes(parsed).model
    except (ArgumentError, TypeError, ValueError) as exc:  # a bad key or value; a class refusing its arguments
        raise DataError(f"{path}: field 'model': {innermost(str(exc))}") from None
    spec = getattr(module, "spec", None)
    if not isinstance(spec, ModelSpec):
        raise DataError(f"{config}: field 'model': {type(module).__name__} has no ModelSpec 'spec'")
    return spec


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, ModelSpec]:
    """The model of an SFT or RL Lightning checkpoint, rebuilt by Lightning from the config LightningCLI
    stored in it (base from its spec, then the trained weights), on ``device``."""
    import lightning as L

    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
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


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--adapter``, ``--config`` (with ``--config-arg``), ``--checkpoint`` and ``--quantization``."""
    parser.add_argument("--model", default=PACKAGED, help="model source: hub id, directory, .gguf or packaged:...")
    parser.add_argument("--adapter", default=None, help="a PEFT adapter directory on top of the model")
    parser.add_argument(
        "--config", default=None, help="a training YAML, or a run's saved config.yaml: the model its fit builds"
    )
    parser.add_argument(
        "--config-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="a fit override applied to --config, as --config-arg=--model.init_args.model.quantization=none",
    )
    parser.add_argument("--checkpoint", default=None, help="a lit-parallel SFT or RL checkpoint (overrides the rest)")
    parser.add_argument(
        "--quantization",
        default=None,
        choices=["none", "nf4", "nf4-double", "int8"],
        help="default: the config's, or none",
    )


def check_model_arguments(args: argparse.Namespace) -> None:
    """The model the arguments of ``add_model_arguments`` name can be found, nothing loaded: the files
    exist, the sources resolve (a local path, or a hub id cached here or reachable)."""
    existing_file(args.checkpoint, "--checkpoint")
    existing_file(args.config, "--config")
    if args.checkpoint:
        return
    with prefixed("--config" if args.config else "--model"):
        check_source(configured_spec(args.config, args.config_arg).source if args.config else args.model)
    if args.adapter is not None:
        with prefixed("--adapter"):
            check_source(args.adapter, needs="adapter_config.json")


def inference_spec(args: argparse.Namespace) -> ModelSpec:
    """The ModelSpec the arguments of ``add_model_arguments`` name (without ``--checkpoint``)."""
    spec = configured_spec(args.config, args.config_arg) if args.config else ModelSpec(args.model, quantization="none")
    quantization = args.quantization or spec.quantization
    # Checkpointing saves training memory only; in inference it would merely warn.
    return replace(spec, lora=None, adapter=args.adapter, quantization=quantization, gradient_checkpointing=False)


def load_inference_model(
    args: argparse.Namespace, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module, ModelSpec]:
    """The model the arguments of ``add_model_arguments`` name, on ``device`` in eval mode, and its spec."""
    if args.checkpoint:
        model, spec = load_checkpoint(args.checkpoint, device)
    else:
        spec = inference_spec(args)
        model = load_model(spec, device)
    return merged(model, spec).eval(), spec


def merged(model: torch.nn.Module, spec: ModelSpec) -> torch.nn.Module:
    """``model`` with its LoRA adapters folded into unquantized base weights: the same function with one
    matmul per layer instead of three (generation of SmolLM2-135M in bf16 at batch 32: 157 tokens/s
    merged, 92 unmerged). Quantized weights keep their adapters apart: merging would re-quantize them."""
    from peft import PeftModel

    if not isinstance(model, PeftModel) or spec.quantization != "none":
        return model
    return model.merge_and_unload()
