"""Throughput of one GRPO step (generation + reward + update): GRPOModule against TRL's GRPOTrainer.

What is compared
----------------
The same tiny random model of SmolLM2's architecture (the tiny configs' shape, full precision, LoRA
r=8 on every linear layer), the same RL prompts (the bundled corpus's python prompts, chat template
applied), the same G completions per prompt, P prompts per step, at most L new tokens at
temperature 1, the same cheap reward (a Python function of the completion: no execution, so that
the RL machinery is what is measured), one update per batch (mu = 1), no KL term, AdamW, fp32, no
activation checkpointing.

- ours: ``GRPOModule`` under a Lightning ``Trainer``: rollouts by the generation engine (continuous
  batching, one prefill per prompt shared by its G completions), log-probs of the completion positions
  only, micro-batches of ``--micro-batch`` rows.
- TRL: ``GRPOTrainer`` (transformers ``generate`` for rollouts, its default loss ``dapo``'s
  aggregation changed to ``grpo`` to match ours), same batch of P x G completions per step.

Both run in this process, one after the other, for ``--steps`` timed steps after one untimed warm-up
step; completions/s = completions of the timed steps / their summed wall clock.

How to read the output
----------------------
completions/s: higher is better. The last line, ``ratio: X``, is ours divided by TRL's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import yaml
from transformers import TrainerCallback

import lit_parallel  # noqa: F401  (first: its OpenMP wait policy must precede torch)
from datamodules import ParallelMixtureDataModule
from datamodules.mixture import MixtureConfig
from lit_parallel.generation import SamplingSpec
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec
from lit_parallel.modules.grpo import GRPOModule, GRPOSpec
from lit_parallel.modules.optim import OptimizerSpec

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "grpo.yaml"
TINY = yaml.safe_load(CONFIG.read_text())["model"]["init_args"]["model"]["tiny"]
"""The tiny RL config's model shape."""


def reward(completion: str) -> float:
    """The shared cheap reward: the share of letters among the completion's characters."""
    return sum(c.isalpha() for c in completion) / max(1, len(completion))


class StepTimes:
    """Wall clock of every training step."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def start(self, *args, **kwargs) -> None:
        self._start = time.perf_counter()

    def stop(self, *args, **kwargs) -> None:
        self.times.append(time.perf_counter() - self._start)


class LightningStepTimes(StepTimes, L.Callback):
    on_train_batch_start = StepTimes.start
    on_train_batch_end = StepTimes.stop


class TransformersStepTimes(StepTimes, TrainerCallback):
    """TRL generates inside the transformers step, so its step time covers generation + reward + update."""

    on_step_begin = StepTimes.start
    on_step_end = StepTimes.stop


def run_ours(args: argparse.Namespace, data: ParallelMixtureDataModule) -> list[float]:
    spec = ModelSpec(tiny=TINY, quantization="none", lora=LoRASpec(r=8, alpha=16, dropout=0.0))
    module = GRPOModule(
        model=spec,
        optimizer=OptimizerSpec(lr=1e-5, warmup_steps=0),
        sampling=SamplingSpec(
            n=args.g, temperature=1.0, max_new_tokens=args.max_new_tokens, batch_size=args.p * args.g
        ),
        algorithm=GRPOSpec(micro_batch_size=args.micro_batch, max_grad_norm=1.0),
        reward_fn=lambda job, completion: reward(completion),
    )
    timer = LightningStepTimes()
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=args.steps + 1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        default_root_dir=tempfile.mkdtemp(prefix="grpo-bench-"),
    )
    trainer.fit(module, datamodule=data)
    return timer.times[1:]


def run_trl(args: argparse.Namespace, data: ParallelMixtureDataModule) -> list[float]:
    from datasets import Dataset
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    weights = ModelSpec(tiny=TINY, quantization="none").weights_dir()
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="grpo-bench-trl-"),
        per_device_train_batch_size=args.p * args.g,
        num_generations=args.g,
        max_completion_length=args.max_new_tokens,
        temperature=1.0,
        learning_rate=1e-5,
        lr_scheduler_type="constant",
        max_grad_norm=1.0,
        beta=0.0,
        loss_type="grpo",
        max_steps=args.steps + 1,
        use_cpu=True,
        # TRL's defaults are for GPUs: bf16 autocast and activation checkpointing (which also turns off the
        # KV cache of its generation). Ours runs neither here, so neither does TRL.
        bf16=False,
        gradient_checkpointing=False,
        report_to=[],
        save_strategy="no",
        logging_steps=1000,
        disable_tqdm=True,
    )
    dataset = Dataset.from_dict({"prompt": [item.prompt for item in data.train_rows]})
    timer = TransformersStepTimes()
    trainer = GRPOTrainer(
        model=weights,
        reward_funcs=lambda completions, **_: [reward(c) for c in completions],
        args=config,
        train_dataset=dataset,
        peft_config=LoraConfig(
            r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"
        ),
        callbacks=[timer],
    )
    trainer.train()
    return timer.times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--p", type=int, default=4, help="prompts per step")
    parser.add_argument("--g", type=int, default=8, help="completions per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--micro-batch", type=int, default=16, help="our rows per forward/backward")
    parser.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up step)")
    args = parser.parse_args()
    torch.manual_seed(0)
    data = ParallelMixtureDataModule(
        mode="rl", mixture=MixtureConfig("python", {"python": 1.0}), tokenizer=PACKAGED, batch_size=args.p
    )
    data.setup("fit")
    print(f"load average {os.getloadavg()[0]:.1f}; P={args.p} G={args.g} L={args.max_new_tokens}, {args.steps} steps")
    completions = args.steps * args.p * args.g
    ours = completions / sum(run_ours(args, data))
    print(f"ours (GRPOModule):  {ours:.2f} completions/s", flush=True)
    theirs = completions / sum(run_trl(args, data))
    print(f"TRL (GRPOTrainer):  {theirs:.2f} completions/s")
    print(f"ratio: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
