"""One RL step's completions as tensors: the rollouts, their packed rows, and their log-probs.

Everything here runs on the device of the rewards and the model: a mask made on the CPU and met by a
tensor on the GPU is an error there that the CPU tests would not see (tests/test_device_dtype.py runs
the step on a second device type to catch it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from lit_parallel.execution import Verdict
from lit_parallel.modules.rl_losses import selected_logprobs


@dataclass
class Rollouts:
    """One batch of completions, row ``i * G + g`` is completion g of prompt i, with what training needs."""

    prompt_ids: list[list[int]]
    completion_ids: list[list[int]]
    languages: list[str]
    rewards: torch.Tensor
    """(rows,) float, on the model's device."""
    verdicts: list[str | None] = field(default_factory=list)
    """Execution verdict per row (None when a reward function replaced execution)."""
    old_logprobs: torch.Tensor | None = None
    """(rows, T) per completion token; None when iterations == 1 (the current ones, detached)."""
    ref_logprobs: torch.Tensor | None = None
    """(rows, T) under the reference policy; None without a KL term."""

    def judged(self) -> list[bool]:
        """Per row: was its program judged (a ``sandbox_error`` was not)."""
        return [v != Verdict.SANDBOX_ERROR.value for v in self.verdicts]

    def valid(self) -> torch.Tensor:
        """(rows,) bool ``judged()``, on the rewards' device."""
        return torch.tensor(self.judged(), dtype=torch.bool, device=self.rewards.device)

    def mask(self, rows: Sequence[int], width: int) -> torch.Tensor:
        """(rows, width) float: 1 over each row's completion tokens, on the rewards' device."""
        device = self.rewards.device
        lengths = torch.tensor([len(self.completion_ids[r]) for r in rows], device=device)
        return (torch.arange(width, device=device)[None] < lengths[:, None]).float()


def pack(prompts: Sequence[list[int]], completions: Sequence[list[int]], pad_id: int) -> dict:
    """Rows of left-padded prompt then right-padded completion, with the mask and the positions the
    sampler used (so log-probs are those of the sampled tokens), and the completion width."""
    left = max(map(len, prompts))
    width = max(1, max(map(len, completions)))
    ids, mask = [], []
    for p, c in zip(prompts, completions, strict=True):
        pad, tail = left - len(p), width - len(c)
        ids.append([pad_id] * pad + p + c + [pad_id] * tail)
        mask.append([0] * pad + [1] * (len(p) + len(c)) + [0] * tail)
    ids_t, mask_t = torch.tensor(ids), torch.tensor(mask)
    return {
        "input_ids": ids_t,
        "attention_mask": mask_t,
        "position_ids": (mask_t.cumsum(-1) - 1).clamp(min=0),
        "width": width,
    }


def token_logprobs(
    model: torch.nn.Module, batch: dict, temperature: float, entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probs (rows, width) of the completion tokens at the sampling temperature, and their
    entropies (detached) when asked. Only the completion's logits are materialised."""
    width = batch["width"]
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}
    # The positions that predict the completion tokens, as indices: slicing the logits instead would
    # make autograd allocate and fill a zero gradient of their full (rows, T, vocab) shape.
    length = batch["input_ids"].shape[1]
    keep = torch.arange(length - width - 1, length - 1, device=batch["input_ids"].device)
    logits = model(**inputs, logits_to_keep=keep).logits.float()
    if temperature != 1.0:
        logits = logits / max(temperature, 1e-6)
    return selected_logprobs(logits, batch["input_ids"][:, -width:], entropy)
