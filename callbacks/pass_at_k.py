"""PassAtK: per-language pass@k of the model being trained, every N epochs, on one or many devices.

Each rank generates and executes its share of the (language, problem, sample) jobs; the records are
gathered to every rank, so every rank computes and logs the same numbers and takes part in every
collective, with or without work of its own. Rank 0 writes the records to
``<run dir>/<name>/epoch=N.jsonl`` and adds a language x epoch heatmap and sample completions to
TensorBoard.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import lightning as L
import numpy as np
import torch

from datamodules.contract import code_data
from lit_parallel.errors import DataError
from lit_parallel.evaluation import jobs_for, run_jobs, summarize
from lit_parallel.execution import ExecutionSpec, Executor, Verdict
from lit_parallel.figures import plt, png_bytes, png_to_rgb
from lit_parallel.generation import SamplingSpec
from lit_parallel.modules.devices import execution_beside
from lit_parallel.modules.run_dir import run_directory
from lit_parallel.progress import Progress
from lit_parallel.sampling import Sampler, awake, build_sampler


class PassAtK(L.Callback):
    """pass@k per evaluation language from the DataModule's ``eval_sets()``."""

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        targets: Sequence[str] = (),
        sampling: SamplingSpec | None = None,
        ks: Sequence[int] = (1,),
        every_n_epochs: int = 1,
        before_training: bool = False,
        on: Literal["train_epoch_end", "validation_end"] = "train_epoch_end",
        execution: ExecutionSpec | None = None,
        samples_to_log: int = 2,
        name: str = "pass_at_k",
    ) -> None:
        """
        Args:
            languages: evaluated languages (default: the DataModule's evaluation languages).
            targets: languages whose macro mean is logged as ``pass@k/targets`` (the transfer targets).
            sampling: n samples per problem, temperature (0: greedy), top-p, max new tokens, batch size, seed,
                backend (an RL module's sampler of the same backend serves its rollouts and this callback).
            ks: the k of pass@k; each must be at most n.
            every_n_epochs: evaluate after every N-th epoch.
            before_training: also evaluate once before the first step (logged as epoch 0).
            on: after the training epoch, or after validation.
            execution: limits and workers of the executor, for a module without one of its own (SFT);
                an RL module's executor and its spec serve the rewards and this callback alike, and
                giving one here too is an error (a fit has one execution spec).
            samples_to_log: completions per language shown in TensorBoard's text tab.
            name: folder of the JSONL records and TensorBoard tag of the heatmap and samples (two
                PassAtK callbacks, e.g. pass@1 at temperature 0.2 and pass@10 at 0.8, need two names).
        """
        self.languages, self.targets = languages, list(targets)
        self.sampling = sampling or SamplingSpec()
        if any(k > self.sampling.n for k in ks):
            raise DataError(f"ks: every k of {list(ks)} must be at most sampling.n={self.sampling.n}")
        self.ks, self.every_n_epochs, self.before_training, self.on = list(ks), every_n_epochs, before_training, on
        self.execution, self.samples_to_log, self.name = execution, samples_to_log, name
        self._own: Executor | None = None
        self._sampler: Sampler | None = None
        self.history: dict[int, dict[str, float]] = {}

    def on_fit_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.execution is not None and hasattr(module, "execution"):
            raise ValueError(
                f"PassAtK: the module {type(module).__name__} executes programs with its own `execution` spec, "
                "which this callback shares: give the limits there, not here (a fit has one execution spec)"
            )

    def teardown(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None
        if self._sampler is not None:
            self._sampler.close()
            self._sampler = None

    def executor(self, module: L.LightningModule) -> tuple[Executor, ExecutionSpec]:
        """The fit's executor and its spec: the module's, or one of this callback's own for the fit."""
        if getattr(module, "executor", None) is not None:
            return module.executor, module.execution
        spec = self.execution or ExecutionSpec()
        if self._own is None:
            self._own = execution_beside(spec, module.device, module.trainer.num_devices).executor()
        return self._own, spec

    def sampler(self, module: L.LightningModule, tokenizer: object, plain: bool) -> Sampler:
        """The module's sampler when it has one of this backend (one vLLM engine a fit), else this
        callback's own."""
        shared = getattr(module, "sampler", None)
        if shared is not None and shared.backend == self.sampling.backend:
            sampler = shared
        else:
            if self._sampler is None:
                spec = getattr(module, "spec", None)
                self._sampler = build_sampler(self.sampling, tokenizer, plain, module.model, spec, module.device)
            sampler = self._sampler
        return sampler

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.before_training and trainer.global_step == 0:
            self.evaluate(trainer, module, epoch=0)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.on == "train_epoch_end":
            self._maybe_evaluate(trainer, module)

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # The epoch end, not on_validation_end: Lightning refuses module.log() there.
        if self.on == "validation_end" and not trainer.sanity_checking:
            self._maybe_evaluate(trainer, module)

    def _maybe_evaluate(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every_n_epochs == 0:
            self.evaluate(trainer, module, epoch)

    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, epoch: int) -> dict[str, float]:
        """Run, gather, log; returns the metrics (the same on every rank)."""
        data = code_data(trainer, "PassAtK")
        sets = data.eval_sets()
        sets = {lang: sets[lang] for lang in (self.languages or sets)}
        jobs = jobs_for(sets, self.sampling.n)[trainer.global_rank :: trainer.world_size]
        # Plain prompts need the tokenizer's BOS; chat templates write their own.
        sampler = self.sampler(module, data.tokenizer, plain=not data.style.chat)
        executor, spec = self.executor(module)
        # Under the fit's precision (bf16-mixed: autocast), as its training steps are: evaluation measures the
        # numbers training computes, at the speed it computes them.
        with (
            awake(sampler, module.model),
            Progress(self.name, len(jobs)) as progress,
            trainer.precision_plugin.forward_context(),
        ):
            mine = run_jobs(jobs, sampler, executor, self.sampling, progress)
        records = gather(trainer, mine)
        errors = sum(r["verdict"] == Verdict.SANDBOX_ERROR.value for r in records)
        spec.check(errors, len(records), executor, f"{self.name} at epoch {epoch}")
        metrics = summarize(records, self.ks, self.targets)
        self.history[epoch] = metrics
        for name, value in metrics.items():
            module.log(name, value, rank_zero_only=False, sync_dist=False)
        if trainer.is_global_zero:
            self._write(trainer, records, epoch)
        return metrics

    def _write(self, trainer: L.Trainer, records: list[dict], epoch: int) -> None:
        path = run_directory(trainer) / self.name / f"epoch={epoch}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps({"epoch": epoch, **r}) + "\n" for r in records))
        writer = getattr(trainer.logger, "experiment", None)
        if writer is None or not hasattr(writer, "add_image"):
            return
        writer.add_image(f"{self.name}/heatmap", self.heatmap(), epoch, dataformats="HWC")
        for lang in sorted({r["language"] for r in records}):
            shown = [r for r in records if r["language"] == lang][: self.samples_to_log]
            text = "\n\n".join(
                f"**{r['task_id']}** sample {r['sample']}: `{r['verdict']}`\n\n    " + r["code"].replace("\n", "\n    ")
                for r in shown
            )
            writer.add_text(f"{self.name}/samples/{lang}", text, epoch)

    def heatmap(self) -> np.ndarray:
        """pass@{first k} as a language x epoch image (RGB array) over the evaluations so far."""
        k = self.ks[0]
        epochs = sorted(self.history)
        languages = sorted(
            {
                name.split("/")[1]
                for m in self.history.values()
                for name in m
                if name.startswith(f"pass@{k}/") and name != f"pass@{k}/targets"
            }
        )
        grid = np.array([[self.history[e].get(f"pass@{k}/{lang}", np.nan) for e in epochs] for lang in languages])
        fig, ax = plt.subplots(figsize=(1.5 + 0.6 * len(epochs), 1 + 0.4 * len(languages)), dpi=100)
        ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(epochs)), [str(e) for e in epochs])
        ax.set_yticks(range(len(languages)), languages)
        ax.set_xlabel("epoch")
        ax.set_title(f"pass@{k}")
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w", fontsize=8)
        return png_to_rgb(png_bytes(fig))


def gather(trainer: L.Trainer, records: list[dict]) -> list[dict]:
    """Every rank's records, on every rank (all ranks must call this, with or without records)."""
    if trainer.world_size == 1:
        return records
    everything: list = [None] * trainer.world_size
    torch.distributed.all_gather_object(everything, records)
    return [r for part in everything for r in part]
