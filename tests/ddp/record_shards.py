"""Run by tests/test_datamodule_ddp.py as a 2-process CPU DDP job: each rank writes the task ids
its train loader gave it, for one epoch of the ParallelMixtureDataModule in the given mode."""

import json
import sys
from pathlib import Path

import lightning as L
import torch

from datamodules import MixtureConfig, ParallelMixtureDataModule


class Recorder(L.LightningModule):
    """Trains nothing: it writes down which examples reached this rank."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.out, self.seen = out, []

    def training_step(self, batch, batch_idx):
        self.seen += batch["task_ids"] if isinstance(batch, dict) else [item.task_id for item in batch]
        return (self.weight**2).sum()

    def on_train_epoch_end(self) -> None:
        (self.out / f"rank{self.global_rank}.json").write_text(json.dumps(self.seen))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def main(out: Path, mode: str) -> None:
    mixture = MixtureConfig("python", {"python": 0.6, "go": 0.4}, num_examples=21)
    dm = ParallelMixtureDataModule(mode=mode, mixture=mixture, batch_size=2, max_length=768)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Recorder(out), datamodule=dm)
    if trainer.global_rank == 0:
        dm.setup()
        all_ids = [row["task_id"] if isinstance(row, dict) else row.task_id for row in dm.train_rows]
        (out / "all.json").write_text(json.dumps(all_ids))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
