"""Run by tests/test_grpo_ddp.py: `lit-parallel fit` of the tiny RL config with a global batch of 4
prompts, on WORLD processes (DDP, gloo, CPU) each taking 4 / WORLD of them. The reward is a cheap
function of the completion's text. Each rank writes the completions it judged with their rewards, its
logged step metrics, the gradient of the first optimizer step, and its LoRA weights after the fit."""

import json
import os
import sys
from pathlib import Path

import lightning as L
import torch
from process_group import tear_down

from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.evaluation import Job

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny" / "grpo.yaml"
PROMPTS = 4  # per step, over all ranks


class TextReward:
    """A reward that varies within groups (so every group has signal); records what it judged."""

    def __init__(self) -> None:
        self.judged: list[list] = []

    def __call__(self, job: Job, completion: str) -> float:
        reward = sum(map(ord, completion)) % 5 / 4
        self.judged.append([job.task_id, job.sample, completion, reward])
        return reward


class ConstantReward(TextReward):
    """The same reward for every completion: all groups equal, so no row moves and no backward runs."""

    def __call__(self, job: Job, completion: str) -> float:
        super().__call__(job, completion)
        self.judged[-1][-1] = 0.5
        return 0.5


class Record(L.Callback):
    def __init__(self, out: Path, reward: TextReward) -> None:
        self.out, self.reward, self.metrics, self.gradient = out, reward, [], None

    def on_before_optimizer_step(self, trainer, module, optimizer) -> None:
        if self.gradient is None:  # the first step's (rank-averaged) gradient, as the optimizer gets it
            self.gradient = torch.cat([p.grad.flatten() for p in module.parameters() if p.requires_grad]).tolist()

    def on_train_batch_end(self, trainer, module, *args) -> None:
        keys = ("rl/reward_mean", "rl/reward_std", "rl/all_equal_groups", "rl/completion_tokens")
        self.metrics.append({k: float(trainer.callback_metrics[k]) for k in keys})

    def on_train_end(self, trainer, module) -> None:
        lora = {k: v.tolist() for k, v in module.model.state_dict().items() if "lora_" in k}
        record = {"judged": self.reward.judged, "metrics": self.metrics, "gradient": self.gradient, "lora": lora}
        (self.out / f"rank{trainer.global_rank}-of{trainer.world_size}.json").write_text(json.dumps(record))


def main(out: Path, world: int, uneven: bool) -> None:
    args = ["--config", str(CONFIG), f"--trainer.devices={world}", f"--data.init_args.batch_size={PROMPTS // world}"]
    args += ["--trainer.strategy=ddp" if world > 1 else "--trainer.strategy=auto"]
    # Generation batches of one prompt's group: the same padding, so the same draws, on any world size.
    args += ["--model.init_args.sampling.batch_size=4", "--model.init_args.algorithm.micro_batch_size=3"]
    args += ["--trainer.max_steps=2", f"--trainer.default_root_dir={out}", "--trainer.logger=false"]
    args += ["--trainer.enable_checkpointing=false", "--model.init_args.optimizer.lr=0.02"]
    # Clipping never triggers: the test compares the averaged gradient itself, scale included.
    args += ["--model.init_args.algorithm.max_grad_norm=1e9"]
    # uneven: without a KL term, the rows of all-equal groups carry no gradient and are skipped
    args += ["--model.init_args.algorithm.kl_coef=0.0"] if uneven else []
    cli = build_lightning_cli(args, run=False)
    # uneven: rank 0 runs no backward pass in a step where rank 1 runs several
    reward = ConstantReward() if uneven and os.environ.get("LOCAL_RANK", "0") == "0" else TextReward()
    cli.model.reward_fn = reward
    cli.trainer.callbacks.append(Record(out, reward))
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    tear_down()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] == ["uneven"])
