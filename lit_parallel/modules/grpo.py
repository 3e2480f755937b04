"""The RL LightningModule: GRPO-family policy optimisation of a LoRA adapter with execution rewards.

One training step, for the P prompts of a batch: sample G completions each (through the fit's sampler,
``sampling.backend``: the project's engine on the policy itself, or vLLM given the step's adapter),
extract the code, submit it to the executor as each completion finishes (it runs while the others
generate and while the old and reference log-probs are computed), turn verdicts into rewards and group
advantages, then run ``iterations`` optimizer updates of the clipped objective over micro-batches. The
reference policy is the same model with its adapter disabled: no second model in memory, whichever the
sampler.

Manual optimisation. ``trainer.global_step`` counts RL steps (batches of prompts), not the inner
optimizer updates: the last update of a step goes through Lightning's optimizer, the others
straight to AdamW. So ``max_steps``, checkpoint intervals and the DataModule's resume position
(``global_step`` batches) all count batches. Gradients are averaged over DDP ranks here, once
per update, because a step runs many backward passes after Lightning's single DDP forward.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

import lightning as L
import torch
from torch.nn.parallel import DistributedDataParallel

from datamodules.contract import code_data
from lit_parallel import checks
from lit_parallel.evaluation import Job, draw_and_judge, executed
from lit_parallel.execution import ExecutionSpec, Executor, Verdict
from lit_parallel.generation import SamplingSpec
from lit_parallel.modeling import ModelSpec, load_model
from lit_parallel.modules.adapters import AdapterCheckpoints
from lit_parallel.modules.devices import execution_beside, refuse_sharding
from lit_parallel.modules.memory import log_estimate
from lit_parallel.modules.optim import OptimizerSpec, build_optimizer
from lit_parallel.modules.rl_losses import (
    Aggregation,
    Estimator,
    advantages,
    aggregate,
    all_equal_groups,
    clipped_policy_loss,
    global_count,
    k3_kl,
    local_count,
)
from lit_parallel.modules.rollouts import Rollouts, pack, token_logprobs
from lit_parallel.progress import memory_mb, release_memory
from lit_parallel.rewards import RewardFunction, RewardSpec
from lit_parallel.sampling import Sampler, awake, build_sampler


@dataclass
class GRPOSpec:
    """The policy-optimisation algorithm (G, the group size, is ``sampling.n``)."""

    estimator: Estimator = "grpo"
    """Advantages: ``grpo`` (group mean and std), ``dr_grpo`` (group mean), ``rloo`` (leave-one-out
    mean), ``reinforce`` (mean of the global batch)."""
    aggregation: Aggregation = "token_mean"
    """Loss over tokens: ``token_mean`` (over all completion tokens of the global batch),
    ``sequence_mean`` (per-completion mean, then mean), ``constant`` (sum / (completions x max_new_tokens))."""
    epsilon_low: float = 0.2
    """The ratio is clipped below at 1 - epsilon_low ..."""
    epsilon_high: float = 0.28
    """... and above at 1 + epsilon_high (DAPO's clip-higher: room for unlikely tokens to grow)."""
    kl_coef: float = 0.0
    """Weight of the k3 KL to the reference (the adapter disabled); 0 skips the reference forward."""
    iterations: int = 1
    """mu: optimizer updates per batch of rollouts (old log-probs are computed once when > 1)."""
    micro_batch_size: int = 8
    """Completions per forward/backward pass; gradients accumulate over the batch."""
    max_grad_norm: float | None = 1.0
    """Clip the global gradient norm of each update (None: no clipping)."""
    dynamic_sampling: bool = False
    """Drop groups whose G rewards are all equal (no signal under group baselines; DAPO)."""

    def __post_init__(self) -> None:
        checks.choices([self.estimator], get_args(Estimator), "algorithm.estimator")
        checks.choices([self.aggregation], get_args(Aggregation), "algorithm.aggregation")
        checks.fraction(self.epsilon_low, "algorithm.epsilon_low")
        checks.at_least(self.epsilon_high, 0, "algorithm.epsilon_high")
        checks.at_least(self.kl_coef, 0, "algorithm.kl_coef")
        checks.at_least(self.iterations, 1, "algorithm.iterations")
        checks.at_least(self.micro_batch_size, 1, "algorithm.micro_batch_size")
        checks.positive(self.max_grad_norm, "algorithm.max_grad_norm")


class GRPOModule(AdapterCheckpoints, L.LightningModule):
    """RL of a LoRA adapter with rewards from executing the generated programs (GRPO family)."""

    def __init__(
        self,
        model: ModelSpec | None = None,
        optimizer: OptimizerSpec | None = None,
        sampling: SamplingSpec | None = None,
        algorithm: GRPOSpec | None = None,
        reward: RewardSpec | None = None,
        execution: ExecutionSpec | None = None,
        reward_fn: RewardFunction | None = None,
        adapter_dir: str | None = None,
    ) -> None:
        """
        Args:
            model: the base model, its quantization, and the LoRA adapter: ``adapter`` (the SFT
                adapter) to start from, or fresh ``lora``.
            optimizer: AdamW and the warmup + cosine schedule, stepped once per RL step.
            sampling: rollouts: ``n`` is G (completions per prompt), temperature, top-p, max new
                tokens, ``batch_size`` (completions generated together), ``seed``, ``backend``.
            algorithm: advantage estimator, clipping, KL, inner iterations, micro-batches.
            reward: binary or partial credit, format penalty.
            execution: limits and workers of the fit's one executor (rewards and in-training pass@k),
                and the share of ``sandbox_error`` in a step that stops the run.
            reward_fn: (prompt item, completion) -> reward instead of execution (cheap rewards for
                tests and benchmarks).
            adapter_dir: where the PEFT adapters go (default: ``<log dir>/adapters``).
        """
        super().__init__()
        self.save_hyperparameters(ignore=["reward_fn"])
        self.spec = model or ModelSpec()
        self.optim = optimizer or OptimizerSpec()
        self.sampling = sampling or SamplingSpec(n=8, temperature=1.0, max_new_tokens=512, batch_size=16)
        self.algo = algorithm or GRPOSpec()
        self.reward_spec = reward or RewardSpec()
        self.execution = execution or ExecutionSpec()
        self.reward_fn = reward_fn
        self.model: torch.nn.Module | None = None
        self.executor: Executor | None = None
        """The fit's one executor, shared with the PassAtK callback."""
        self.sampler: Sampler | None = None
        """The rollouts' sampler, built at the first step; PassAtK callbacks of the same backend share it."""
        self.automatic_optimization = False
        # Checkpoints carry only trainable weights; the frozen base is rebuilt from the spec.
        self.strict_loading = False

    def configure_model(self) -> None:
        if self.model is None:
            self.model = load_model(self.spec, self.device).train()

    def configure_optimizers(self) -> dict:
        return build_optimizer(self, self.optim, self.trainer.estimated_stepping_batches)

    def setup(self, stage: str) -> None:
        refuse_sharding(self.trainer.strategy, self.spec, rl=True)
        log_estimate(self)

    def on_fit_start(self) -> None:
        if self.trainer.precision == "16-mixed":
            raise ValueError("GRPOModule: use precision bf16-mixed or 32 (fp16 loss scaling is not supported)")
        if self.executor is None:
            self.executor = execution_beside(self.execution, self.device, self.trainer.num_devices).executor()

    def teardown(self, stage: str) -> None:
        if self.executor is not None:
            self.executor.close()
            self.executor = None
        if self.sampler is not None:
            self.sampler.close()
            self.sampler = None

    @property
    def tokenizer(self) -> object:
        return code_data(self.trainer, "GRPOModule").tokenizer

    def training_step(self, batch: Sequence, batch_idx: int) -> None:
        if isinstance(self.trainer.model, DistributedDataParallel):
            # Gradients are averaged once, after all of a step's backward passes (average_gradients), whose
            # number differs between ranks. DDP's own all-reduce in each backward would wait for a pass the
            # other rank may not run; Lightning turns it back on after every step, so it is turned off here.
            self.trainer.model.require_backward_grad_sync = False
        times: dict[str, float] = {}
        rollouts = self.rollout(batch, times)
        size = self.sampling.n
        gathered = self.gather(rollouts.rewards.view(-1, size)).reshape(-1, size)
        # A sandbox_error is the machinery's failure: it is neither a reward nor a baseline, and never trained on.
        valid = rollouts.valid().view(-1, size)
        judged = self.gather(valid.float()).reshape(-1, size) > 0.5
        where = f"RL step {self.global_step}"
        dropped = self.execution.check(int((~judged).sum()), judged.numel(), self.executor, where)
        mine = slice(self.global_rank * len(batch), (self.global_rank + 1) * len(batch))
        adv = advantages(gathered, self.algo.estimator, valid=judged)[mine].reshape(-1)
        equal = all_equal_groups(gathered, judged)
        trained = valid
        if self.algo.dynamic_sampling:
            trained = valid & ~all_equal_groups(rollouts.rewards.view(-1, size), valid)[:, None]
        rows = trained.view(-1).nonzero().view(-1).tolist()  # one copy to the host, not one per row
        started = time.perf_counter()
        stats = self.update(rollouts, adv, rows)
        times["update"] = time.perf_counter() - started
        # Each step's rollouts have new lengths, so its activations take new sizes; glibc keeps the freed
        # heap of every earlier size, and without this the resident memory only ever grew (4.9 -> 8.3 GB
        # over 20 steps of the demo's RL).
        release_memory()
        self.log_step(rollouts, gathered[judged], equal, stats, times, dropped)

    def rollout(self, batch: Sequence, times: dict[str, float]) -> Rollouts:
        """G completions per prompt, judged; old and reference log-probs computed while they execute."""
        tok, size = self.tokenizer, self.sampling.n
        jobs = [Job(item.language, item.task_id, g, item.prompt, item.variant) for item in batch for g in range(size)]
        # A new draw each step, fixed by (seed, step): a resumed run draws what the uninterrupted one did.
        base = self.sampling.seed * 1_000_003 + self.global_step
        plain = not code_data(self.trainer, "GRPOModule").style.chat
        started = time.perf_counter()
        # this step's policy (vllm: the adapter as a new version, unmerged); asleep for the update after
        with awake(self.rollout_sampler(plain), self.model) as sampler:
            drawn, pending = draw_and_judge(jobs, sampler, self.sampling, base, self.judge)
        times["generate"] = time.perf_counter() - started
        prompt_ids = tok([j.prompt for j in jobs], add_special_tokens=plain)["input_ids"]
        completions = [c.token_ids for c in drawn]
        rollouts = Rollouts(prompt_ids, completions, [j.language for j in jobs], torch.empty(0, device=self.device))
        started = time.perf_counter()
        rollouts.old_logprobs = self.frozen_logprobs(rollouts) if self.algo.iterations > 1 else None
        if self.algo.kl_coef:
            with self.model.disable_adapter():
                rollouts.ref_logprobs = self.frozen_logprobs(rollouts)
        times["logprobs"] = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = [p if isinstance(p, float) else p.result() for p in pending]
        times["execute_wait"] = time.perf_counter() - started
        rollouts.verdicts = [None if isinstance(o, float) else o.verdict.value for o in outcomes]
        # unfinished: max_new_tokens came before EOS or a stop sequence
        closed = [c.finish != "length" for c in drawn]
        rewards = [self.reward_spec.reward(o, c) for o, c in zip(outcomes, closed, strict=True)]
        rollouts.rewards = torch.tensor(rewards, device=self.device)
        return rollouts

    def rollout_sampler(self, plain: bool) -> Sampler:
        """The fit's sampler, built at the first rollout (``plain``: prompts take the tokenizer's BOS)."""
        if self.sampler is None:
            self.sampler = build_sampler(self.sampling, self.tokenizer, plain, self.model, self.spec, self.device)
        return self.sampler

    def judge(self, job: Job, completion: str) -> object:
        """A future of the execution result of a completion's code, or the reward function's value."""
        if self.reward_fn is not None:
            return float(self.reward_fn(job, completion))
        return executed(self.executor, stop_on_failure=not self.reward_spec.every_case)(job, completion)

    def micro_batches(self, rows: Sequence[int]) -> list[list[int]]:
        step = self.algo.micro_batch_size
        return [list(rows[i : i + step]) for i in range(0, len(rows), step)]

    def packed(self, rollouts: Rollouts, rows: Sequence[int]) -> dict:
        batch = pack(
            [rollouts.prompt_ids[r] for r in rows],
            [rollouts.completion_ids[r] for r in rows],
            self.tokenizer.pad_token_id,
        )
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    @torch.no_grad()
    def frozen_logprobs(self, rollouts: Rollouts) -> torch.Tensor:
        """(rows, T) log-probs of every completion under the current weights (no gradient)."""
        width = max(1, max(map(len, rollouts.completion_ids)))
        out = torch.zeros(len(rollouts.completion_ids), width, device=self.device)
        for rows in self.micro_batches(range(len(rollouts.completion_ids))):
            logp, _ = token_logprobs(self.model, self.packed(rollouts, rows), self.sampling.temperature)
            out[rows, : logp.shape[1]] = logp
        return out

    def update(self, rollouts: Rollouts, adv: torch.Tensor, rows: list[int]) -> dict[str, float]:
        """``iterations`` optimizer updates on ``rows``; returns the last update's token statistics (over
        the rows that carry a gradient)."""
        algo, opt = self.algo, self.optimizers()
        mask = rollouts.mask(rows, max(1, max(map(len, rollouts.completion_ids))))
        total = global_count(local_count(mask, algo.aggregation, self.sampling.max_new_tokens))
        # Without a KL term a row whose advantage is 0 (every row of an all-equal group) has a zero loss
        # and gradient: it still counts in ``total`` (the loss's scale), but is not run forward or backward.
        kl = rollouts.ref_logprobs is not None
        moving = rows if kl else [r for r, a in zip(rows, adv[rows].tolist(), strict=True) if a != 0]
        stats: dict[str, list[torch.Tensor]] = defaultdict(list)
        for iteration in range(algo.iterations):
            if total > 0:  # else every group was dropped everywhere: the step changes nothing
                stats.clear()
                for micro in self.micro_batches(moving):
                    self.manual_backward(self.micro_loss(rollouts, adv, micro, total, stats))
                self.average_gradients()
                if algo.max_grad_norm is not None:
                    self.clip_gradients(opt, gradient_clip_val=algo.max_grad_norm, gradient_clip_algorithm="norm")
            # One Lightning step per RL step (it counts global_step); the inner updates go straight to AdamW.
            if iteration == algo.iterations - 1:
                opt.step()
            else:
                opt.optimizer.step()
            opt.zero_grad()
        self.lr_schedulers().step()
        # The same keys on every rank (a rank may have run no row), for the synchronised log.
        names = ["tokens", "clipped", "entropy"] + (["kl"] if kl else [])
        return {name: torch.stack(stats[name]).sum().item() if stats[name] else 0.0 for name in names}

    def micro_loss(
        self, rollouts: Rollouts, adv: torch.Tensor, rows: list[int], total: torch.Tensor, stats: dict
    ) -> torch.Tensor:
        """This micro-batch's part of the batch loss; adds token sums of KL, clipping and entropy to ``stats``."""
        batch = self.packed(rollouts, rows)
        logp, entropy = token_logprobs(self.model, batch, self.sampling.temperature, entropy=True)
        width = logp.shape[1]
        mask = rollouts.mask(rows, width)
        old = logp.detach() if rollouts.old_logprobs is None else rollouts.old_logprobs[rows, :width]
        per_token, clipped = clipped_policy_loss(logp, old, adv[rows], self.algo.epsilon_low, self.algo.epsilon_high)
        if rollouts.ref_logprobs is not None:
            kl = k3_kl(logp, rollouts.ref_logprobs[rows, :width])
            per_token = per_token + self.algo.kl_coef * kl
            stats["kl"].append((kl.detach() * mask).sum())
        stats["clipped"].append((clipped * mask).sum())
        stats["entropy"].append((entropy * mask).sum())
        stats["tokens"].append(mask.sum())
        return aggregate(per_token, mask, self.algo.aggregation, total, self.trainer.world_size)

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor``, stacked in rank order. c10d's own all_gather: Lightning's ``all_gather``
        goes through ``torch.distributed.nn``, deprecated by torch and carrying gradients rewards need not."""
        if self.trainer.world_size == 1:
            return tensor.unsqueeze(0)
        parts = [torch.empty_like(tensor) for _ in range(self.trainer.world_size)]
        torch.distributed.all_gather(parts, tensor.contiguous())
        return torch.stack(parts)

    def average_gradients(self) -> None:
        """Average the gradients over DDP ranks (missing ones count as zeros)."""
        if self.trainer.world_size == 1:
            return
        params = [p for p in self.parameters() if p.requires_grad]
        flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params])
        torch.distributed.all_reduce(flat)
        flat /= self.trainer.world_size
        for p, grad in zip(params, flat.split([p.numel() for p in params]), strict=True):
            p.grad = grad.view_as(p).clone()

    def log_step(
        self, rollouts: Rollouts, rewards: torch.Tensor, equal: torch.Tensor, stats: dict, times: dict, dropped: int
    ) -> None:
        """Step metrics: the judged rewards, the all-equal share and the completions dropped for
        ``sandbox_error`` over the global batch, the rest per rank, averaged."""
        tokens = max(stats.pop("tokens", 0.0), 1.0)
        metrics = {
            "rl/reward_mean": rewards.mean(),
            "rl/reward_std": rewards.std(),
            "rl/all_equal_groups": equal.float().mean(),
            "rl/sandbox_errors": dropped,
            "rl/completion_tokens": sum(map(len, rollouts.completion_ids)) / len(rollouts.completion_ids),
            **{f"rl/{name}": value / tokens for name, value in stats.items()},
            **{f"time/{name}": seconds for name, seconds in times.items()},
            **dict(zip(("memory/rss_mb", "memory/peak_rss_mb"), memory_mb(), strict=True)),
        }
        judged = [v for v in rollouts.verdicts if v is not None]
        if judged:
            scored = len(judged) - judged.count(Verdict.SANDBOX_ERROR.value)
            metrics["rl/pass_rate"] = judged.count(Verdict.PASSED.value) / max(scored, 1)
            # every verdict, present or not: each rank must log the same keys
            metrics |= {f"verdicts/{v.value}": judged.count(v.value) / len(judged) for v in Verdict}
        self.log_dict({k: float(v) for k, v in metrics.items()}, sync_dist=True, batch_size=1)
        self.log("rl/reward", float(rewards.mean()), prog_bar=True, batch_size=1)
        languages = sorted(set(rollouts.languages))
        if len(languages) > 1:  # keys differ between ranks: no sync
            counted = rollouts.judged()
            for lang in languages:
                rows = [i for i, la in enumerate(rollouts.languages) if la == lang and counted[i]]
                self.log(f"rl/reward_mean/{lang}", float(rollouts.rewards[rows].mean()), batch_size=1)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        # Dropout draws from the global generator; sampling has its own seeded ones.
        checkpoint["rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["rng_state"])
