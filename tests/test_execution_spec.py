"""One execution spec and one executor per fit: an RL fit's PassAtK judges with the module's executor
(no second executor, no second zygote pool), and a second spec on the callback is refused."""

from pathlib import Path

import pytest

from callbacks import PassAtK
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.execution import ExecutionSpec
from lit_parallel.generation import SamplingSpec

TINY_RL = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "grpo.yaml"


def tiny_rl(tmp_path: Path):
    args = ["--config", str(TINY_RL), f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"]
    return build_lightning_cli([*args, "--trainer.max_steps=1", "--data.init_args.chat=false"], run=False)


def test_an_rl_fit_evaluates_with_the_executor_of_its_rewards(tmp_path, monkeypatch):
    made = []
    real = ExecutionSpec.executor
    monkeypatch.setattr(ExecutionSpec, "executor", lambda self: made.append(self) or real(self))
    cli = tiny_rl(tmp_path)
    sampling = SamplingSpec(n=1, temperature=0.0, max_new_tokens=4, batch_size=4)
    callback = PassAtK(languages=["python", "lua"], sampling=sampling, before_training=True)
    cli.trainer.callbacks.append(callback)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert made == [ExecutionSpec(timeout_s=3.0, workers=2)]  # the config's spec, one executor
    assert {"pass@1/python", "pass@1/lua", "rl/sandbox_errors"} <= set(cli.trainer.callback_metrics)
    assert callback.history[0]["sandbox_errors/python"] == 0


def test_a_second_execution_spec_in_an_rl_fit_is_refused(tmp_path):
    cli = tiny_rl(tmp_path)
    cli.trainer.callbacks.append(PassAtK(execution=ExecutionSpec(timeout_s=1.0)))
    with pytest.raises(ValueError, match="a fit has one execution spec"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
