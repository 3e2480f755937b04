"""Advantages and policy losses of the REINFORCE / GRPO family, as pure functions of tensors.

Shapes: rewards and advantages are ``(prompts, G)`` or flat ``(rows,)``; per-token tensors are
``(rows, T)`` with a 0/1 ``mask`` over the completion tokens. The only collective is in
``global_count``: aggregation divides by the count of the *global* batch, so a loss, and its
gradient once DDP has averaged it over ranks, are the same on one device or many.
"""

from __future__ import annotations

from typing import Literal

import torch

Estimator = Literal["grpo", "dr_grpo", "rloo", "reinforce"]
Aggregation = Literal["token_mean", "sequence_mean", "constant"]


def advantages(
    rewards: torch.Tensor, estimator: Estimator, eps: float = 1e-4, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Advantages of ``rewards`` of shape ``(prompts, G)`` (G completions per prompt).

    - ``grpo``: (r - group mean) / (group std + eps), the std unbiased as in DeepSeekMath and TRL;
    - ``dr_grpo``: r - group mean (Dr. GRPO: the std division biases toward easy and hard prompts);
    - ``rloo``: r - mean of the *other* G-1 rewards of the group (REINFORCE leave-one-out);
    - ``reinforce``: r - mean of the whole batch (REINFORCE with a batch-mean baseline).

    ``valid`` (bool, like ``rewards``) marks the completions that count: when some do not (programs
    the sandbox failed to judge), means and stds are over the others alone, and they get advantage 0.
    """
    rewards = rewards.float()
    if valid is not None and not bool(valid.all()):
        return _advantages_of_valid(rewards, estimator, valid, eps)
    mean = rewards.mean(dim=1, keepdim=True)
    if estimator == "grpo":
        return (rewards - mean) / (rewards.std(dim=1, keepdim=True) + eps)
    if estimator == "dr_grpo":
        return rewards - mean
    if estimator == "rloo":
        size = rewards.shape[1]
        if size < 2:
            raise ValueError("rloo needs at least 2 completions per prompt")
        return rewards - (rewards.sum(dim=1, keepdim=True) - rewards) / (size - 1)
    if estimator == "reinforce":
        return rewards - rewards.mean()
    raise ValueError(f"unknown advantage estimator {estimator!r}")


def _advantages_of_valid(rewards: torch.Tensor, estimator: Estimator, valid: torch.Tensor, eps: float) -> torch.Tensor:
    """``advantages`` with baselines over the ``valid`` completions only (a group of fewer than two
    has none for rloo); the others get 0. Apart from full groups, whose bits stay those of the above."""
    weight = valid.float()
    count = weight.sum(dim=1, keepdim=True)
    total = (rewards * weight).sum(dim=1, keepdim=True)
    mean = total / count.clamp(min=1)
    if estimator == "grpo":
        std = (((rewards - mean) ** 2 * weight).sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)).sqrt()
        adv = (rewards - mean) / (std + eps)
    elif estimator == "dr_grpo":
        adv = rewards - mean
    elif estimator == "rloo":
        adv = torch.where(count > 1, rewards - (total - rewards) / (count - 1).clamp(min=1), 0.0)
    elif estimator == "reinforce":
        adv = rewards - (rewards * weight).sum() / weight.sum().clamp(min=1)
    else:
        raise ValueError(f"unknown advantage estimator {estimator!r}")
    return adv * weight


def all_equal_groups(rewards: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """``(prompts,)`` bool: the groups whose G rewards (the ``valid`` ones) are all equal (no learning
    signal under group baselines: dynamic sampling drops them)."""
    if valid is None:
        return (rewards == rewards[:, :1]).all(dim=1)
    highest = torch.where(valid, rewards, -torch.inf).amax(dim=1)
    return highest <= torch.where(valid, rewards, torch.inf).amin(dim=1)


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    eps_low: float,
    eps_high: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token PPO loss ``-min(ratio * A, clip(ratio, 1 - eps_low, 1 + eps_high) * A)`` and a bool
    tensor of the tokens whose ratio the clip took over (no gradient flows through those).

    ``advantages`` is per row ``(rows,)``: every token of a completion shares its advantage.
    """
    ratio = torch.exp(logprobs - old_logprobs)
    adv = advantages[:, None]
    unclipped = ratio * adv
    clipped = ratio.clamp(1 - eps_low, 1 + eps_high) * adv
    was_clipped = ((ratio < 1 - eps_low) & (adv < 0)) | ((ratio > 1 + eps_high) & (adv > 0))
    return -torch.min(unclipped, clipped), was_clipped


def k3_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """Per-token KL(policy || reference) by Schulman's k3 estimator ``exp(d) - d - 1``, d = ref - policy:
    unbiased, always >= 0, low variance."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


def local_count(mask: torch.Tensor, aggregation: Aggregation, max_new_tokens: int) -> torch.Tensor:
    """This process's share of the loss's denominator: its completion tokens (``token_mean``), its
    completions (``sequence_mean``), or completions x max_new_tokens (``constant``, Dr. GRPO)."""
    if aggregation == "token_mean":
        return mask.sum().float()
    if aggregation == "sequence_mean":
        return torch.tensor(float(mask.shape[0]), device=mask.device)
    if aggregation == "constant":
        return torch.tensor(float(mask.shape[0] * max_new_tokens), device=mask.device)
    raise ValueError(f"unknown loss aggregation {aggregation!r}")


def global_count(count: torch.Tensor) -> torch.Tensor:
    """``count`` summed over all processes (itself without torch.distributed)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        count = count.clone()
        torch.distributed.all_reduce(count)
    return count


def aggregate(
    per_token: torch.Tensor, mask: torch.Tensor, aggregation: Aggregation, total: torch.Tensor, world_size: int
) -> torch.Tensor:
    """This process's part of the batch loss, for one micro-batch of it.

    ``total`` is ``global_count`` of the whole global batch (every micro-batch on every process).
    Summing the parts over micro-batches and averaging over processes (what DDP does to gradients)
    gives the loss of the global batch, hence the factor ``world_size``:

    - ``token_mean``: sum of all token losses / all completion tokens (DAPO's token-level mean);
    - ``sequence_mean``: mean over completions of each completion's token mean (GRPO's original);
    - ``constant``: sum of all token losses / (completions x max_new_tokens) (Dr. GRPO).
    """
    mask = mask.to(per_token.dtype)
    if aggregation == "sequence_mean":
        summed = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).sum()
    else:
        summed = (per_token * mask).sum()
    return summed * world_size / total.clamp(min=1)


class _SelectedLogProbs(torch.autograd.Function):
    """``log_softmax(logits)`` at ``targets``, with a backward that rebuilds the softmax in place
    from the saved logits: autograd's own graph (log-softmax, gather) would allocate, fill and add
    several more ``(rows, T, vocab)`` tensors, which dominate an RL update over a large vocabulary."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lse = logits.logsumexp(-1)
        ctx.save_for_backward(logits, targets)
        ctx.mark_non_differentiable(lse)
        return logits.gather(-1, targets[..., None])[..., 0] - lse, lse

    @staticmethod
    def backward(ctx, grad: torch.Tensor, _: torch.Tensor) -> tuple[torch.Tensor, None]:
        logits, targets = ctx.saved_tensors
        # d logp / d logits = onehot(target) - softmax(logits)
        probs = logits.softmax(-1).mul_(-grad[..., None])
        return probs.scatter_add_(-1, targets[..., None], grad[..., None]), None


def selected_logprobs(
    logits: torch.Tensor, targets: torch.Tensor, entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-position ``log p(target)`` under ``softmax(logits)`` (differentiable), and the softmax's
    entropy (detached) when asked: ``logits`` ``(..., vocab)``, ``targets`` ``(...)`` token ids."""
    logp, lse = _SelectedLogProbs.apply(logits, targets)
    if not entropy:
        return logp, None
    with torch.no_grad():  # einsum runs a batched matmul: faster on CPU than multiply-then-sum (benchmarks/README.md)
        return logp, lse - torch.einsum("...v,...v->...", logits.softmax(-1), logits)
