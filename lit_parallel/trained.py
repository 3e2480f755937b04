"""The model a tool command works on: a base model, an adapter on it, a training config's model, or a
Lightning checkpoint of SFT or RL.

``lit-parallel evaluate`` and ``lit-parallel align`` take the same model arguments, so that a
baseline-SFT and a Parallel-SFT run can be measured the same way whatever they left behind.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from lit_parallel.checks import existing_file, prefixed
from lit_parallel.errors import DataError
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, check_source, load_model


def spec_from_dict(values: dict, where: str) -> ModelSpec:
    """A ModelSpec from the plain dict that YAML configs and LightningCLI checkpoints hold."""
    values = dict(values)
    if isinstance(values.get("lora"), dict):
        values["lora"] = LoRASpec(**values["lora"])
    try:
        return ModelSpec(**values)
    except TypeError as exc:
        raise DataError(f"{where}: field 'model': {exc}") from None


def spec_from_config(path: str | Path) -> ModelSpec:
    """The ModelSpec of a training config (``model.init_args.model`` of an SFT or RL YAML)."""
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(f"{path}:{mark.line + 1 if mark else '?'}: not YAML") from None
    values = config.get("model", {}).get("init_args", {}).get("model") if isinstance(config, dict) else None
    if not isinstance(values, dict):
        raise DataError(f"{path}: field 'model.init_args.model' is missing")
    return spec_from_dict(values, str(path))


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, ModelSpec]:
    """The model of an SFT or RL Lightning checkpoint: base from its spec, trained weights from its state."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    spec = checkpoint["hyper_parameters"]["model"]
    spec = spec if isinstance(spec, ModelSpec) else spec_from_dict(spec, str(path))
    model = load_model(spec, device)
    # Both modules keep their network as ``self.model``; checkpoints hold only its trainable weights.
    state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    missing = set(state) - set(model.state_dict())
    if missing:
        raise DataError(f"{path}: field 'state_dict': {len(missing)} weights the model lacks, e.g. {min(missing)}")
    model.load_state_dict(state, strict=False)
    return model, spec


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--adapter``, ``--config``, ``--checkpoint`` and ``--quantization``."""
    parser.add_argument("--model", default=PACKAGED, help="model source: hub id, directory, .gguf or packaged:...")
    parser.add_argument("--adapter", default=None, help="a PEFT adapter directory on top of the model")
    parser.add_argument("--config", default=None, help="a training YAML: its model (tiny and quantization too)")
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
        check_source(spec_from_config(args.config).source if args.config else args.model)
    if args.adapter is not None:
        with prefixed("--adapter"):
            check_source(args.adapter, needs="adapter_config.json")


def load_inference_model(
    args: argparse.Namespace, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module, ModelSpec]:
    """The model the arguments of ``add_model_arguments`` name, on ``device`` in eval mode, and its spec."""
    if args.checkpoint:
        model, spec = load_checkpoint(args.checkpoint, device)
        return model.eval(), spec
    spec = spec_from_config(args.config) if args.config else ModelSpec(args.model, quantization="none")
    spec = replace(spec, lora=None, adapter=args.adapter, quantization=args.quantization or spec.quantization)
    return load_model(spec, device).eval(), spec
