"""Prompts travel with the model: a run trained on plain prompts with a system prompt is evaluated with
the very prompts its training rendered, read from the config the run saved (or from its checkpoint),
as its model is."""

import json
from pathlib import Path

from lit_parallel.cli import main
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.commands.model import ModelChoice, prompt_style
from lit_parallel.prompts import PromptStyle

TINY_SFT = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"
SYSTEM = "You write short, correct programs."


def completions(path: Path) -> dict[tuple[str, str], str]:
    return {(r["language"], r["task_id"]): r["completion"] for r in map(json.loads, path.read_text().splitlines())}


def test_evaluation_renders_the_prompts_training_rendered(tmp_path):
    # One epoch of 3 steps, checkpointed at its end (the config validates every 3 steps); the config's
    # PassAtK callback then samples greedily with the trained weights.
    fit = ["fit", "--config", str(TINY_SFT), f"--trainer.default_root_dir={tmp_path}"]
    fit += ["--trainer.logger.init_args.name=tb", "--trainer.logger.init_args.version=0"]
    fit += [f"--model.init_args.adapter_dir={tmp_path / 'adapters'}", "--trainer.max_steps=3"]
    fit += ["--data.init_args.mixture.num_examples=12", "--data.init_args.chat=false"]
    fit += [f"--data.init_args.system_prompt={SYSTEM}"]
    assert main(fit) == 0
    run = tmp_path / "tb" / "version_0"
    saved = run / "config.yaml"

    # The style the fit's data rendered with, read back from the saved config and from the checkpoint.
    trained = build_lightning_cli(fit[1:], run=False).datamodule
    assert trained.style == PromptStyle(chat=False, system=SYSTEM)
    assert prompt_style(ModelChoice(fit_config=str(saved))) == trained.style
    [checkpoint] = run.glob("checkpoints/*.ckpt")
    assert prompt_style(ModelChoice(checkpoint=str(checkpoint))) == trained.style
    prompts = [item.prompt for items in trained.eval_sets().values() for item in items]
    assert prompts and all(prompt.startswith(SYSTEM + "\n\n") for prompt in prompts)

    # Greedy decoding of the same weights: the same completions exactly when the prompts are the same.
    [during] = sorted(run.glob("pass_at_k/epoch=*.jsonl"))[-1:]
    evaluate = ["evaluate", "--languages=[python, lua]", "--limit=2", "--sampling.max_new_tokens=8"]
    evaluate += ["--sampling.batch_size=4", "--execution.workers=1"]
    by_config, by_checkpoint = tmp_path / "config.json", tmp_path / "checkpoint.json"
    adapter = tmp_path / "adapters" / "final"
    assert main([*evaluate, f"--model.fit_config={saved}", f"--model.adapter={adapter}", f"--output={by_config}"]) == 0
    assert completions(by_config.with_suffix(".jsonl")) == completions(during)
    assert json.loads(by_config.read_text())["prompt_style"] == {"chat": False, "system": SYSTEM}
    assert main([*evaluate, f"--model.checkpoint={checkpoint}", f"--output={by_checkpoint}"]) == 0
    assert json.loads(by_checkpoint.read_text())["prompt_style"] == {"chat": False, "system": SYSTEM}
    assert completions(by_checkpoint.with_suffix(".jsonl")) == completions(during)
