"""``lit-parallel data translate``: a dataset's solutions translated into other languages by a model (or
taken from a candidates file), each candidate judged on the problem's tests, the first passing kept
(the logic in ``lit_parallel.translation``)."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lit_parallel import checks
from lit_parallel import translation as tr
from lit_parallel.commands.arguments import Command
from lit_parallel.commands.common import format_table
from lit_parallel.commands.model import ModelChoice
from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionSpec
from lit_parallel.generation import SamplingSpec
from lit_parallel.problems.loading import load_problems


@dataclass
class TranslateConfig:
    """Translate a dataset's solutions into other languages and keep the ones that pass its tests."""

    dataset: str
    """A dataset SPEC of io problems (see ``data verify``)."""
    targets: list[str]
    """The languages translated into; each must run here (candidates are judged)."""
    output: Path
    """The project's JSONL: every problem with the kept translations; the judgements beside it
    (``out.jsonl`` -> ``out.attempts.jsonl``), which make a re-run resume."""
    source_language: str = "python"
    """The language translated from."""
    candidates: Path | None = None
    """JSONL of {"task_id", "language", "code"} to judge instead of a model's samples."""
    languages: list[str] | None = None
    """Read only these languages of the dataset (default: all)."""
    include_eval: bool = False
    """Translate eval-split problems too."""
    limit: int | None = None
    """Only the first N problems with a source solution."""
    model: ModelChoice = field(default_factory=ModelChoice)
    """The model that translates, and its prompts (unused with candidates)."""
    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    """Candidates per pair (``n``), temperature, top-p, token budget, batch size, seed, and the backend
    that draws them (``--sampling.backend vllm``)."""
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    """Limits per test run and programs judged at once."""
    device: str = "auto"
    """Where the model runs: cpu, cuda, cuda:N, or auto (a GPU if there is one)."""

    def __post_init__(self) -> None:
        checks.at_least(self.limit, 1, "limit")
        if not self.targets:
            raise DataError("targets: name at least one language to translate into")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise DataError(f"device: must be cpu, cuda, cuda:N or auto, got {self.device!r}")


def run(config: TranslateConfig) -> int:
    started = time.perf_counter()
    [source] = checks.languages([config.source_language], "source_language")
    targets = checks.languages(config.targets, "targets", runnable=True)
    checks.existing_file(config.candidates, "candidates")
    checks.output_file(config.output, "output")
    if not config.candidates:
        config.model.check()
    problems = load_problems(config.dataset, config.languages)
    selection = tr.select(problems, source, targets, config.include_eval, config.limit)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    ledger = tr.Ledger(tr.ledger_path(config.output))
    before = len(ledger.records)
    from lit_parallel.modules.devices import execution_beside  # here: Lightning is seconds to import

    # Only a model on a GPU asks the executor to leave it a core; candidates from a file need no model.
    execution = config.execution if config.candidates else execution_beside(config.execution, model_device(config), 1)
    with execution.executor() as executor:
        if config.candidates:
            ignored = tr.translate_from_file(config.candidates, problems, selection.pairs, executor, ledger)
            selection.skipped.update({f"candidates for {reason}": n for reason, n in ignored.items()})
        else:
            tr.translate_with_model(selection.pairs, translation_model(config), executor, ledger)
    tr.write_jsonl(config.output, tr.output_records(problems, tr.kept(selection.pairs, ledger)))
    header, rows = tr.summary(selection.pairs, ledger)
    print(format_table(header, rows))
    print("pairs left out: " + (", ".join(f"{n} {why}" for why, n in selection.skipped.items()) or "nothing"))
    print(
        f"{len(ledger.records) - before} candidates judged now, {before} by earlier runs, in "
        f"{time.perf_counter() - started:.0f} s; problems in {config.output}, judgements in {ledger.path}"
    )
    if retry := sum(row[header.index("retry")] for row in rows):
        print(f"lit-parallel: {retry} pairs met only sandbox errors: run again to judge them", file=sys.stderr)
    return 1 if retry else 0


def model_device(config: TranslateConfig) -> torch.device:
    """The device ``config`` puts the model on, ``auto`` resolved."""
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def translation_model(config: TranslateConfig) -> tr.Model:
    """The model of ``config``, loaded only when there are samples to draw, with the prompts it was
    trained with."""
    from lit_parallel.commands.model import inference_sampler, prompt_style, sampling_model
    from lit_parallel.modeling import load_tokenizer

    def load() -> tuple:
        device = model_device(config)
        model, model_spec = sampling_model(config.model, config.sampling.backend, device)
        tokenizer = load_tokenizer(model_spec.source)
        style = prompt_style(config.model)
        return inference_sampler(config.sampling, model, model_spec, tokenizer, style, device), tokenizer, style

    def progress(done: int, total: int) -> None:
        print(f"{done}/{total} candidates generated and judged", file=sys.stderr, flush=True)

    return tr.Model(config.model.name, config.sampling, load, progress=progress)


COMMAND = Command(
    "data translate", "translate solutions into other languages, keep the ones that pass", TranslateConfig, run
)
