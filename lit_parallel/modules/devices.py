"""What the modules ask of the hardware and strategy of a fit: the strategies they refuse, and the
executor's share of the cores beside a GPU."""

from __future__ import annotations

import os
from dataclasses import replace

import torch
from lightning.pytorch import strategies
from lightning.pytorch.strategies import Strategy

from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionSpec
from lit_parallel.modeling import ModelSpec

SHARDED = tuple(
    getattr(strategies, name)
    for name in ("FSDPStrategy", "DeepSpeedStrategy", "ModelParallelStrategy")
    if hasattr(strategies, name)
)
"""Strategies that shard the weights across ranks (the installed Lightning's)."""


def refuse_sharding(strategy: Strategy, spec: ModelSpec, rl: bool) -> None:
    """DataError naming DDP when the fit's strategy shards weights and the module cannot run so: RL at
    all (its ranks run different numbers of backward passes, which FSDP's collectives cannot), SFT with
    4-bit or 8-bit base weights (bitsandbytes' packed tensors are not sharded here)."""
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


def execution_beside(spec: ExecutionSpec, device: torch.device, processes: int) -> ExecutionSpec:
    """The execution spec of ``processes`` processes on this machine, each with its model on ``device``
    (a fit's ranks, the evaluate command's shards). On a GPU, the default workers (one per core) leave a
    core to each process, whose thread launches every kernel: a program judged there would idle the GPU."""
    if spec.workers is not None or device.type != "cuda":
        return spec
    return replace(spec, workers=max(1, (os.cpu_count() or 1) // max(1, processes) - 1))
