"""What the modules ask of the hardware and strategy of a fit: the strategies they refuse, and the
executor's share of the cores beside a GPU."""

from __future__ import annotations

import os
from dataclasses import replace

import lightning as L
from lightning.pytorch import strategies

from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionSpec, Executor
from lit_parallel.modeling import ModelSpec

SHARDED = tuple(
    getattr(strategies, name)
    for name in ("FSDPStrategy", "DeepSpeedStrategy", "ModelParallelStrategy")
    if hasattr(strategies, name)
)
"""Strategies that shard the weights across ranks (the installed Lightning's)."""


def refuse_sharding(trainer: L.Trainer, spec: ModelSpec, rl: bool) -> None:
    """DataError naming DDP when the fit's strategy shards weights and the module cannot run so: RL at
    all (its ranks run different numbers of backward passes, which FSDP's collectives cannot), SFT with
    4-bit or 8-bit base weights (bitsandbytes' packed tensors are not sharded here)."""
    strategy = trainer.strategy
    if not isinstance(strategy, SHARDED):
        return
    name = type(strategy).__name__
    if rl:
        raise DataError(
            f"trainer.strategy: GRPOModule does not run under {name}: each rank runs as many backward passes "
            "as it has rows to train, which sharded collectives cannot; use strategy: ddp"
        )
    if spec.quantization != "none":
        raise DataError(
            f"trainer.strategy: {name} cannot shard {spec.quantization} base weights; use strategy: ddp "
            "(each rank holds its own quantized copy), or model.quantization: none"
        )


def fit_executor(spec: ExecutionSpec, trainer: L.Trainer) -> Executor:
    """The fit's executor. When the model is on a GPU, its default (one worker per core) leaves a core
    to each GPU process of the machine, whose thread launches every kernel: a program judged on that
    core would hold the GPU idle."""
    if spec.workers is None and trainer.strategy.root_device.type == "cuda":
        cores = os.cpu_count() or 1
        spec = replace(spec, workers=max(1, cores // max(1, trainer.num_devices) - 1))
    return spec.executor()
