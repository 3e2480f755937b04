"""``lit-parallel fit|validate|test``: LightningCLI, one YAML naming the LightningModule, the DataModule
(subclass mode) and everything they take."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

LIGHTNING_COMMANDS = ("fit", "validate", "test")


NULL_OVERRIDE = re.compile(r"--([\w.]+\.[\w.]+)=(null|None)")


def null_overrides(argv: Sequence[str]) -> list[str]:
    """``argv`` with each nested ``--a.b.c=null`` turned into the config fragment ``{a: {b: {c: null}}}``.

    jsonargparse reads ``null`` given on the command line for a key nested in a subclass as the string
    "None" and rejects it; the same value in a config fragment is a real null.
    """
    out = []
    for arg in argv:
        match = NULL_OVERRIDE.fullmatch(arg)
        if match is None:
            out.append(arg)
            continue
        *parents, key = match.group(1).split(".")
        fragment = f"{{{key}: null}}"
        for parent in reversed(parents):
            fragment = f"{{{parent}: {fragment}}}"
        out += ["--config", fragment]
    return out


def build_lightning_cli(argv: Sequence[str], run: bool = True) -> object:
    """The LightningCLI of ``lit-parallel fit|validate|test`` (with ``run=False``: the instantiated
    model, datamodule and trainer of a config, nothing run). TensorBoard under ``trainer.default_root_dir``
    (default ``runs/``) and a rich progress bar by default."""
    import lightning as L
    from jsonargparse import DefaultHelpFormatter, lazy_instance
    from lightning.pytorch.callbacks import RichProgressBar
    from lightning.pytorch.cli import LightningCLI
    from lightning.pytorch.loggers import TensorBoardLogger

    from lit_parallel.commands.common import PlainText
    from lit_parallel.commands.files import check_model_files
    from lit_parallel.modeling import ModelSpec
    from lit_parallel.modules.run_dir import LOG_ROOT

    # main passes on the command line it was given (sys.argv's own, or a test's): not the mistake this warns of.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")

    class PlainDefaultHelp(PlainText, DefaultHelpFormatter):
        """jsonargparse's help, from the classes' docstrings, without reST markup."""

    class LitParallelCLI(LightningCLI):
        def add_arguments_to_parser(self, parser: object) -> None:
            # The DataModule renders and tokenizes with the model's own tokenizer.
            parser.link_arguments("model.init_args.model.init_args.source", "data.init_args.tokenizer")

        def before_instantiate_classes(self) -> None:
            # The default logger writes under default_root_dir when one is given, as Lightning's own does.
            config = self.config[self.subcommand] if self.subcommand else self.config
            logger, root = config.trainer.logger, config.trainer.default_root_dir
            init = getattr(logger, "init_args", None)
            tensorboard = init is not None and logger.class_path.endswith("TensorBoardLogger")
            if root and tensorboard and init.save_dir == str(LOG_ROOT):
                init.save_dir = root

        def instantiate_trainer(self, **kwargs: object) -> L.Trainer:
            # A corrupt adapter or model file is one line naming it, before the trainer says anything.
            spec = getattr(self.model, "spec", None)
            if isinstance(spec, ModelSpec):
                check_model_files(spec)
            return super().instantiate_trainer(**kwargs)

        def after_fit(self) -> None:
            # A DDP fit's launcher started the other ranks as child processes and does not wait for them:
            # wait, so that none outlives the command and their CPU time counts with this process's.
            for process in getattr(self.trainer.strategy.launcher, "procs", []):
                process.wait()

    return LitParallelCLI(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=null_overrides(argv),
        parser_kwargs={"formatter_class": PlainDefaultHelp},
        run=run,
        trainer_defaults={
            "logger": lazy_instance(TensorBoardLogger, save_dir=str(LOG_ROOT), name="lit-parallel"),
            "callbacks": [lazy_instance(RichProgressBar)],
        },
        save_config_kwargs={"overwrite": True},
    )
