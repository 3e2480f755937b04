"""Every config in configs/ parses and builds its trainer, model and DataModule (nothing is downloaded:
models load in configure_model, tokenizers in setup)."""

from pathlib import Path

import pytest

from datamodules import ParallelMixtureDataModule
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.modules.grpo import GRPOModule
from lit_parallel.modules.sft import SFTModule

# Experiment files and translate.yaml (`data translate`'s) are not LightningCLI configs: their tests parse them.
CONFIGS = sorted(
    p
    for p in (Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml")
    if p.parent.name != "experiments" and p.name != "translate.yaml"
)
OVERLAYS = {"control_sft.yaml": "parallel_sft.yaml", "baseline_sft.yaml": "parallel_sft.yaml"}
OVERLAYS |= {"parallel_sft_24gb.yaml": "parallel_sft.yaml", "grpo_24gb.yaml": "grpo.yaml"}
"""Configs that go on top of another of their folder (``--config BASE --config OVERLAY``)."""


def config_args(config: Path) -> list[str]:
    base = OVERLAYS.get(config.name)
    return (
        ["--config", str(config)]
        if base is None
        else ["--config", str(config.with_name(base)), "--config", str(config)]
    )


def test_there_are_configs_for_tests_cpu_demos_and_the_paper():
    assert {p.parent.name for p in CONFIGS} >= {"tiny", "demo", "llama31_8b"}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_config_parses_and_builds(config, tmp_path):
    # GPU configs are built on CPU here: the classes and arguments are what is checked.
    cli = build_lightning_cli(
        [*config_args(config), "--trainer.accelerator=cpu", f"--trainer.default_root_dir={tmp_path}"], run=False
    )
    assert isinstance(cli.model, SFTModule | GRPOModule) and isinstance(cli.datamodule, ParallelMixtureDataModule)
    assert cli.datamodule.hparams.tokenizer == cli.model.spec.source  # linked, not repeated
    assert sum(cli.datamodule.mixture.languages.values()) == pytest.approx(1.0)
    assert cli.model.model is None, "the model must load in configure_model, on its device"
    assert cli.datamodule.mixture.parallel is (config.name != "control_sft.yaml")
    if config.name == "baseline_sft.yaml":
        assert cli.datamodule.mixture.languages == {"python": 1.0}


TINY_GRPO = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "grpo.yaml"


def test_null_on_the_command_line_is_a_null(tmp_path):
    cli = build_lightning_cli(["--config", str(TINY_GRPO), "--model.init_args.algorithm.max_grad_norm=null"], run=False)
    assert cli.model.algo.max_grad_norm is None
    assert cli.model.algo.iterations == 2  # the rest of the config's algorithm stays


def test_default_root_dir_holds_the_logs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = build_lightning_cli(["--config", str(TINY_GRPO), f"--trainer.default_root_dir={tmp_path / 'DIR'}"], run=False)
    assert Path(cli.trainer.logger.log_dir).parent.parent == tmp_path / "DIR"
    cli = build_lightning_cli(["--config", str(TINY_GRPO)], run=False)
    assert Path(cli.trainer.logger.log_dir).parent.parent == Path("runs")
