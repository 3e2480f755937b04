"""Alignment: how close equivalent programs in different languages sit in the trained model's hidden states.

Every N epochs the callback embeds the reference solutions of a set of parallel groups (the
DataModule's evaluation problems, or a dataset SPEC) at every layer and logs cross-language
retrieval and cosine similarity (``lit_parallel.analysis``). Every rank computes the same report
from the same weights, so no collective is needed (nothing can hang waiting for a rank). Rank 0
logs the scalars at the global step, writes ``<run dir>/<name>/epoch=N.json`` and adds a layer x
metric plot to TensorBoard.

Scalars, for each pooling P (``mean``, ``last``):

- ``<name>/P/layerNN/{top1,mrr,cos_gap}``: the mean over language pairs at layer NN;
- ``<name>/P/<a>-<b>/{best_top1,best_layer,last_top1}``: a pair's best layer and its last layer;
- ``<name>/P/{best_top1,best_layer}``: the same for the mean over pairs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import lightning as L

from datamodules.contract import CodeData, code_data
from lit_parallel.analysis.embedding import (
    POOLINGS,
    ParallelPrograms,
    dataset_programs,
    measure_alignment,
    parallel_programs,
)
from lit_parallel.analysis.plot import plot_alignment
from lit_parallel.analysis.similarity import best_layer
from lit_parallel.figures import png_to_rgb
from lit_parallel.modeling import load_tokenizer
from lit_parallel.modules.run_dir import run_directory

LAYER_METRICS = ("top1", "mrr", "cos_gap")
"""Metrics logged at every layer (the JSON report has them all)."""


def alignment_scalars(report: dict, prefix: str = "align") -> dict[str, float]:
    """The TensorBoard scalars of an alignment report (see the module docstring)."""
    scalars = {}
    for pooling, curves in report["curves"].items():
        mean = curves["mean"]
        for layer in range(report["layers"]):
            for metric in LAYER_METRICS:
                scalars[f"{prefix}/{pooling}/layer{layer:02d}/{metric}"] = mean[metric][layer]
        for pair, curve in curves.items():
            best = best_layer(curve)
            where = f"{prefix}/{pooling}" if pair == "mean" else f"{prefix}/{pooling}/{pair}"
            scalars[f"{where}/best_top1"] = curve["top1"][best]
            scalars[f"{where}/best_layer"] = float(best)
            if pair != "mean":
                scalars[f"{where}/last_top1"] = curve["top1"][-1]
    return scalars


class Alignment(L.Callback):
    """Cross-language retrieval and cosine similarity per layer, from the DataModule or a dataset SPEC."""

    def __init__(
        self,
        dataset: str | None = None,
        split: Literal["train", "eval", "all"] = "eval",
        languages: Sequence[str] | None = None,
        limit: int | None = None,
        poolings: Sequence[str] = POOLINGS,
        every_n_epochs: int = 1,
        before_training: bool = False,
        batch_size: int = 8,
        max_length: int = 512,
        name: str = "align",
    ) -> None:
        """
        Args:
            dataset: a dataset SPEC (``bundled``, ``polyhumaneval:PATH``, ...) whose parallel groups are
                embedded; default: the DataModule's evaluation problems (``eval_problems``).
            split: with ``dataset``, which of its problems (``all``: every split).
            languages: at least two; default: the DataModule's evaluation languages, or every language
                of ``dataset``. Only problems with a solution in each of them count.
            limit: the first N complete parallel groups.
            poolings: ``mean`` (mean of the tokens' states) and/or ``last`` (the last token's state).
            every_n_epochs: measure after every N-th training epoch.
            before_training: also measure once before the first step (logged as epoch 0).
            batch_size: programs per forward pass.
            max_length: tokens per program (longer ones are cut).
            name: prefix of the scalars, folder of the JSON reports, tag of the plot.
        """
        unknown = set(poolings) - set(POOLINGS)
        if unknown:
            raise ValueError(f"poolings: {sorted(unknown)} unknown (known: {list(POOLINGS)})")
        self.dataset, self.split, self.languages, self.limit = dataset, split, languages, limit
        self.poolings, self.every_n_epochs, self.before_training = list(poolings), every_n_epochs, before_training
        self.batch_size, self.max_length, self.name = batch_size, max_length, name
        self.programs: ParallelPrograms | None = None
        self.history: dict[int, dict] = {}
        """Epoch -> alignment report."""

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.before_training and trainer.global_step == 0:
            self.evaluate(trainer, module, epoch=0)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every_n_epochs == 0:
            self.evaluate(trainer, module, epoch)

    def parallel_programs(self, trainer: L.Trainer) -> ParallelPrograms:
        """The groups to embed, read once."""
        if self.programs is None:
            if self.dataset is not None:
                self.programs = dataset_programs(self.dataset, self.languages, self.split, self.limit)
            else:
                data = code_data(trainer, "Alignment")
                languages = self.languages or data.eval_languages
                self.programs = parallel_programs(data.held_out_problems(), languages, self.limit)
        return self.programs

    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, epoch: int) -> dict:
        """Measure, then (rank 0) log and write; returns the report (the same on every rank)."""
        data = trainer.datamodule
        tokenizer = data.tokenizer if isinstance(data, CodeData) else load_tokenizer(module.spec.source)
        report = measure_alignment(
            module.model, tokenizer, self.parallel_programs(trainer), self.poolings, self.batch_size, self.max_length
        )
        self.history[epoch] = report
        if trainer.is_global_zero:
            # Straight to the loggers: LightningModule.log would fold a before-training value and the
            # first epoch's into one epoch-level mean.
            for logger in trainer.loggers:
                logger.log_metrics(alignment_scalars(report, self.name), step=trainer.global_step)
            self._write(trainer, report, epoch)
        return report

    def _write(self, trainer: L.Trainer, report: dict, epoch: int) -> None:
        path = run_directory(trainer) / self.name / f"epoch={epoch}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"epoch": epoch, "global_step": trainer.global_step, **report}, indent=1) + "\n")
        writer = getattr(trainer.logger, "experiment", None)
        if writer is not None and hasattr(writer, "add_image"):
            image = png_to_rgb(plot_alignment(report, title=f"epoch {epoch}"))
            writer.add_image(f"{self.name}/layers", image, epoch, dataformats="HWC")
