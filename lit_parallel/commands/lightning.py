"""``lit-parallel fit|validate|test``: LightningCLI, one YAML naming the LightningModule, the DataModule
(subclass mode) and everything they take."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import pairwise

LIGHTNING_COMMANDS = ("fit", "validate", "test")


def config_files(argv: Sequence[str]) -> list[str]:
    """The ``--config`` files of a LightningCLI command line."""
    after = [b for a, b in pairwise(argv) if a == "--config"]
    return after + [a.removeprefix("--config=") for a in argv if a.startswith("--config=")]


def build_lightning_cli(argv: Sequence[str], run: bool = True) -> object:
    """The LightningCLI of ``lit-parallel fit|validate|test`` (with ``run=False``: the instantiated
    model, datamodule and trainer of a config, nothing run). TensorBoard under ``runs/`` and a rich
    progress bar by default."""
    import lightning as L
    from jsonargparse import lazy_instance
    from lightning.pytorch.callbacks import RichProgressBar
    from lightning.pytorch.cli import LightningCLI
    from lightning.pytorch.loggers import TensorBoardLogger

    # main passes on the command line it was given (sys.argv's own, or a test's): not the mistake this warns of.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")

    class LitParallelCLI(LightningCLI):
        def add_arguments_to_parser(self, parser: object) -> None:
            # The DataModule renders and tokenizes with the model's own tokenizer.
            parser.link_arguments("model.init_args.model.init_args.source", "data.init_args.tokenizer")

    return LitParallelCLI(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=list(argv),
        run=run,
        trainer_defaults={
            "logger": lazy_instance(TensorBoardLogger, save_dir="runs", name="lit-parallel"),
            "callbacks": [lazy_instance(RichProgressBar)],
        },
        save_config_kwargs={"overwrite": True},
    )
