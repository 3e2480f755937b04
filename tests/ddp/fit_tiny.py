"""Run by tests/test_sft_ddp.py: `lit-parallel fit` of the tiny config as a 2-process CPU DDP job
(gloo). Each rank writes the task ids it trained on and its LoRA weights after the fit."""

import json
import sys
from pathlib import Path

import lightning as L
from process_group import tear_down

from lit_parallel.commands.lightning import build_lightning_cli

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny" / "sft.yaml"


class Record(L.Callback):
    def __init__(self, out: Path) -> None:
        self.out, self.seen = out, []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.seen += batch["task_ids"]

    def on_train_end(self, trainer, module) -> None:
        lora = {k: v.sum().item() for k, v in module.model.state_dict().items() if "lora_" in k}
        record = {"seen": self.seen, "lora": lora, "world_size": trainer.world_size}
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


def main(out: Path) -> None:
    args = ["--config", str(CONFIG), "--trainer.devices=2", "--trainer.strategy=ddp", "--trainer.max_steps=3"]
    args += [f"--trainer.default_root_dir={out}", "--trainer.logger=false", "--trainer.limit_val_batches=0"]
    cli = build_lightning_cli(args, run=False)
    cli.trainer.callbacks.append(Record(out))
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    tear_down()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
