"""Run by tests/test_alignment.py: the tiny fit as a 2-process CPU DDP job (gloo) with the Alignment
callback before training and after the epoch. Each rank writes the reports it computed."""

import json
import sys
from pathlib import Path

from process_group import tear_down

from callbacks import Alignment
from lit_parallel.commands.lightning import build_lightning_cli

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny" / "sft.yaml"
ALIGNMENT = {"languages": ["python", "ruby"], "limit": 6, "before_training": True}


def main(out: Path) -> None:
    args = ["--config", str(CONFIG), "--trainer.devices=2", "--trainer.strategy=ddp", "--trainer.max_steps=2"]
    args += [f"--trainer.default_root_dir={out}", "--trainer.logger=false", "--trainer.limit_val_batches=0"]
    args += ["--data.init_args.mixture.num_examples=8", "--trainer.callbacks=callbacks.Alignment"]
    args += [f"--trainer.callbacks.{key}={json.dumps(value)}" for key, value in ALIGNMENT.items()]
    cli = build_lightning_cli(args, run=False)
    [callback] = [c for c in cli.trainer.callbacks if isinstance(c, Alignment)]
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    (out / f"rank{cli.trainer.global_rank}.json").write_text(json.dumps(callback.history))
    tear_down()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
