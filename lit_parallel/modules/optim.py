"""The optimizer and learning-rate schedule that SFT and RL share: AdamW, linear warmup, cosine decay."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lit_parallel import checks
from lit_parallel.errors import DataError


@dataclass
class OptimizerSpec:
    """AdamW over the trainable (LoRA) parameters, with warmup and cosine decay per optimizer step."""

    lr: float = 2e-4
    """Peak learning rate, reached at the end of warmup."""
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 10
    """Optimizer steps of linear warmup from 0."""
    min_lr_ratio: float = 0.1
    """The cosine ends at ``lr * min_lr_ratio``."""

    def __post_init__(self) -> None:
        checks.at_least(self.lr, 0, "optimizer.lr")  # lr 0: the negative control of a learning test
        checks.at_least(self.weight_decay, 0, "optimizer.weight_decay")
        for beta in self.betas:
            checks.number(beta, "optimizer.betas")
            if not 0 <= beta < 1:
                raise DataError(f"optimizer.betas: each must be in [0, 1), got {list(self.betas)}")
        checks.at_least(self.warmup_steps, 0, "optimizer.warmup_steps")
        checks.fraction(self.min_lr_ratio, "optimizer.min_lr_ratio")


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float) -> float:
    """Learning-rate multiplier at ``step``: linear 0 -> 1 over warmup, then cosine 1 -> min_lr_ratio."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(module: torch.nn.Module, spec: OptimizerSpec, total_steps: int) -> dict:
    """``configure_optimizers``'s answer: AdamW on what requires grad, the schedule stepped per step."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=spec.lr, betas=spec.betas, weight_decay=spec.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, spec.warmup_steps, total_steps, spec.min_lr_ratio)
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
