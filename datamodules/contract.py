"""What lit-parallel's modules and callbacks read from the DataModule of a fit, declared once.

The DataModule renders prompts with the model's tokenizer (its source is linked from the model's
config) and hands the modules and callbacks the few things below; they read nothing else from it.
Any LightningDataModule that provides them can feed GRPO, PassAtK and Alignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from lit_parallel.problems.schema import Problem, Variant
from lit_parallel.prompts import PromptStyle


@dataclass(frozen=True)
class PromptItem:
    """A prompt to sample from, and the variant whose tests judge what the model writes."""

    task_id: str
    language: str
    prompt: str
    variant: Variant
    cluster: str = ""
    """Its problem's cluster (family or composition), the unit the experiment's statistics resample; "" names
    none (the problem is its own)."""


@runtime_checkable
class CodeData(Protocol):
    """The data side of a fit, as the modules and callbacks see it."""

    @property
    def tokenizer(self) -> Any:
        """The tokenizer that rendered the prompts: the model's own."""

    @property
    def style(self) -> PromptStyle:
        """How prompts were rendered (chat template or plain, system prompt)."""

    @property
    def eval_languages(self) -> list[str]:
        """The languages evaluated when a callback names none."""

    @property
    def train_languages(self) -> list[str]:
        """The languages of the training data (after ``setup``), the same on every rank."""

    def eval_sets(self, languages: Sequence[str] | None = None) -> dict[str, list[PromptItem]]:
        """Evaluation prompts per language (default: ``eval_languages``), none of them trained on."""

    def held_out_problems(self) -> list[Problem]:
        """The evaluation problems, none of them trained on."""


def code_data(trainer: Any, who: str) -> CodeData:
    """The fit's DataModule as ``CodeData``, or a TypeError saying what ``who`` needs."""
    datamodule = getattr(trainer, "datamodule", None)
    if not isinstance(datamodule, CodeData):
        missing = [
            name
            for name in ("tokenizer", "style", "eval_languages", "train_languages", "eval_sets", "held_out_problems")
            if not hasattr(datamodule, name)
        ]
        raise TypeError(
            f"{who} needs a DataModule that provides datamodules.contract.CodeData; "
            f"{type(datamodule).__name__} lacks {', '.join(missing)}"
        )
    return datamodule
