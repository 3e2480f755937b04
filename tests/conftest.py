"""Fixtures shared across test files."""

import os
from pathlib import Path

import pytest

from lit_parallel.modeling import PACKAGED, load_tokenizer

# The seeds every learning test runs at: 0 in CI; `LIT_PARALLEL_LEARNING_SEEDS=0,1,2,3,4 pytest -k learn` tells
# how often each passes over more draws.
LEARNING_SEEDS = [int(s) for s in os.environ.get("LIT_PARALLEL_LEARNING_SEEDS", "0").split(",")]


@pytest.fixture(params=LEARNING_SEEDS, ids=lambda seed: f"seed{seed}")
def learning_seed(request) -> int:
    """The seed of a test that asserts learning."""
    return request.param


@pytest.fixture(scope="session")
def tokenizer():
    """The real SmolLM2-135M-Instruct tokenizer (chat template included), from the packaged GGUF."""
    return load_tokenizer(PACKAGED)


@pytest.fixture(scope="session")
def live_lora():
    """``live_lora(model, std)`` draws every LoRA B away from its zero init, so that the adapter changes the
    outputs and LoRA A gets gradients (a zero B hides both); returns ``model``."""

    def draw(model, std):
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.data.normal_(0, std)
        return model

    return draw


TINY_SFT = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A 3-step tiny SFT fit under tmp_path (the tiny config validates, and so checkpoints, every 3 steps):
    its LightningCLI and its one checkpoint."""
    from lit_parallel.commands.lightning import build_lightning_cli

    args = ["--config", str(TINY_SFT), f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"]
    cli = build_lightning_cli([*args, "--trainer.max_steps=3", "--data.init_args.mixture.num_examples=8"], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    [ckpt] = (tmp_path / "checkpoints").glob("*.ckpt")
    return cli, ckpt
