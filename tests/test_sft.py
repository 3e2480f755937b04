"""QLoRA SFT on a tiny 4-bit model: it learns, only LoRA weights move, adapters reload, resume is exact,
TensorBoard gets the listed scalars."""

from dataclasses import replace
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from peft import PeftModel
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.modeling import load_model
from lit_parallel.modules.sft import answer_loss, block_causal_mask, model_inputs

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"


def tiny_run(tmp_path: Path, *overrides: str):
    """The tiny config's model, datamodule and trainer, writing under tmp_path."""
    args = ["--config", str(TINY), f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false", *overrides]
    return build_lightning_cli(args, run=False)


def mean_loss(module, datamodule) -> float:
    module.eval()
    with torch.no_grad():
        losses = [module(batch).item() for batch in datamodule.train_dataloader()]
    module.train()
    return sum(losses) / len(losses)


def test_tiny_qlora_fit_learns_halves_the_loss_moves_only_lora_and_saves_a_loadable_adapter(tmp_path, learning_seed):
    overrides = [f"--seed_everything={learning_seed}", f"--data.init_args.mixture.seed={learning_seed}"]
    cli = tiny_run(tmp_path, "--trainer.max_steps=30", "--data.init_args.mixture.num_examples=8", *overrides)
    module, dm = cli.model, cli.datamodule
    module.configure_model()
    dm.setup("fit")
    assert type(module.model.base_model.model.model.layers[0].mlp.up_proj.base_layer).__name__ == "Linear4bit"
    frozen = {k: v.clone() for k, v in module.model.state_dict().items() if "lora_" not in k}
    before = mean_loss(module, dm)
    cli.trainer.fit(module, datamodule=dm)
    after = mean_loss(module, dm)
    assert after <= before / 2, (before, after)
    state = module.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in frozen.items()), "a base weight changed"
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in state.items()), "LoRA did not train"

    adapter = tmp_path / "adapters" / "final"
    reloaded = PeftModel.from_pretrained(load_model(replace(module.spec, lora=None)), adapter)
    batch = next(iter(dm.train_dataloader()))
    module.eval()
    reloaded.eval()
    with torch.no_grad():
        mask = block_causal_mask(batch["segment_ids"], torch.float32)
        inputs = {"input_ids": batch["input_ids"], "attention_mask": mask, "position_ids": batch["position_ids"]}
        assert torch.allclose(module.model(**inputs).logits, reloaded(**inputs).logits, atol=1e-5)


class Interrupt(L.Callback):
    """Stops a fit after ``at`` optimizer steps, as a killed job would, schedule and all unchanged."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, *args) -> None:
        trainer.should_stop = trainer.should_stop or trainer.global_step >= self.at


@pytest.mark.parametrize("stop_at", [2, 3])  # an epoch boundary (2 batches per epoch), and mid-epoch
def test_resumed_fit_ends_with_the_parameters_of_an_uninterrupted_one(tmp_path, stop_at):
    def lora_after(root: Path, *callbacks: L.Callback, ckpt: Path | None = None) -> dict:
        cli = tiny_run(root, "--trainer.max_steps=5", "--data.init_args.mixture.num_examples=8")
        checkpoints = ModelCheckpoint(root / "resume", every_n_train_steps=stop_at, save_top_k=-1)
        cli.trainer.callbacks += [checkpoints, *callbacks]
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
        return {k: v.clone() for k, v in cli.model.model.state_dict().items() if "lora_" in k}

    whole = lora_after(tmp_path / "whole")
    stopped = lora_after(tmp_path / "part", Interrupt(stop_at))
    [ckpt] = (tmp_path / "part" / "resume").glob("*.ckpt")
    resumed = lora_after(tmp_path / "resumed", ckpt=ckpt)
    assert whole.keys() == resumed.keys()
    assert any(not torch.equal(whole[k], stopped[k]) for k in whole), "the interrupted run was not behind"
    assert all(torch.equal(whole[k], resumed[k]) for k in whole), "resumed parameters differ"
    # the checkpoint holds the adapter, not the frozen 4-bit base
    assert torch.load(ckpt, weights_only=False)["state_dict"].keys() == {f"model.{k}" for k in whole}


def test_packing_keeps_each_example_to_itself(tmp_path):
    cli = tiny_run(tmp_path, "--data.init_args.max_length=1024")
    module, dm = cli.model, cli.datamodule
    module.configure_model()
    dm.setup("fit")
    packed = next(iter(dm.train_dataloader()))
    assert packed["segment_ids"].max() > 0, "nothing was packed"
    module.eval()
    with torch.no_grad():
        together = module.model(
            **{
                "input_ids": packed["input_ids"],
                "position_ids": packed["position_ids"],
                "attention_mask": block_causal_mask(packed["segment_ids"], torch.float32),
            }
        ).logits
        row, segment = 0, 1
        where = packed["segment_ids"][row] == segment
        alone = module.model(input_ids=packed["input_ids"][row][where][None]).logits
    assert torch.allclose(together[row][where], alone[0], atol=1e-4)


@pytest.mark.parametrize("packing", ["true", "false"])
def test_the_answer_loss_and_its_gradient_are_the_causal_lm_loss_of_transformers(tmp_path, packing, live_lora):
    cli = tiny_run(tmp_path, f"--data.init_args.packing={packing}", "--model.init_args.model.lora.dropout=0.0")
    module, dm = cli.model, cli.datamodule
    module.configure_model()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    live_lora(module.model, 0.5)
    lora = [p for p in module.model.parameters() if p.requires_grad]

    def loss_and_grads(loss):
        grads = torch.autograd.grad(loss, lora)
        return loss.detach(), grads

    ours, our_grads = loss_and_grads(answer_loss(module.model, batch, torch.float32))
    inputs = model_inputs(batch, torch.float32) | {"labels": batch["labels"]}  # transformers' own loss
    theirs, their_grads = loss_and_grads(module.model(**inputs).loss)
    assert torch.allclose(ours, theirs, rtol=1e-5)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(our_grads, their_grads, strict=True))
    assert any(g.abs().sum() > 0 for g in our_grads)


def test_tensorboard_events_hold_losses_learning_rate_throughput_and_tokens_per_language(tmp_path):
    logger = ["--trainer.logger=lightning.pytorch.loggers.TensorBoardLogger", f"--trainer.logger.save_dir={tmp_path}"]
    cli = tiny_run(tmp_path, *logger)  # 6 steps over 12 examples of 4: two epochs, validation every 3 steps
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    [events] = Path(cli.trainer.logger.log_dir).glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    scalars = {tag: [e.value for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}

    assert len(scalars["train/loss"]) == len(scalars["train/lr"]) == len(scalars["train/tokens_per_s"]) == 6
    assert len(scalars["val/loss"]) == 2
    assert all(value > 0 for value in scalars["train/tokens_per_s"])
    assert scalars["train/lr"][0] == pytest.approx(cli.model.optim.lr / 3)  # first of 2 warmup steps
    report = cli.datamodule.report
    assert report.keys() == {"python", "lua", "ruby"}
    for language, counts in report.items():
        # cumulative answer tokens: every example was trained on once per epoch, in two epochs
        assert scalars[f"train/answer_tokens/{language}"][-1] == 2 * counts["answer_tokens"]


def test_a_validation_pass_leaves_the_training_gradients_and_base_weights_as_they_were(tmp_path, live_lora):
    # On AVX512-BF16 CPUs bitsandbytes would repack 4-bit weights for inference at the first eval forward,
    # into a kernel without backward: training after a validation would lose gradients.
    cli = tiny_run(tmp_path)
    module, dm = cli.model, cli.datamodule
    module.configure_model()
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))

    def gradients() -> dict:
        module.zero_grad()
        module(batch).backward()
        return {name: p.grad.clone() for name, p in module.named_parameters() if p.requires_grad}

    live_lora(module.model, 0.1)  # zero at init, which would hide lost gradients behind the LoRA branch
    before, base = gradients(), {k: v.clone() for k, v in module.model.state_dict().items() if "lora_" not in k}
    module.eval()
    with torch.no_grad():
        module(batch)
    module.train()
    after = gradients()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(torch.equal(v, module.model.state_dict()[k]) for k, v in base.items())
