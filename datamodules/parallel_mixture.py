"""ParallelMixtureDataModule: the one DataModule that SFT, RL and evaluation read.

- SFT (``mode="sft"``): tokenized mixture examples, loss on the answer only (labels -100 elsewhere).
- RL (``mode="rl"``): batches of source-language prompts, each with the variant whose tests judge it.
- Evaluation: ``eval_sets()`` gives the prompts of each evaluation language for the pass@k callback.

Problems are split by task_id: every problem of an evaluation set, and every problem marked
``eval`` in the training datasets, is kept out of SFT and RL. Train and validation loaders are
map-style, so under DDP Lightning gives each rank its own shard through a DistributedSampler.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch.utils.data import DataLoader, DistributedSampler

from datamodules.contract import PromptItem
from datamodules.mixture import EXAMPLE_FORMATS, Example, MixtureBuilder, MixtureConfig
from datamodules.programs import PARTS, select_part
from lit_parallel import checks
from lit_parallel.modeling import PACKAGED, load_tokenizer
from lit_parallel.problems.loading import load_problems, parse_spec
from lit_parallel.problems.schema import Problem
from lit_parallel.prompts import PromptStyle, variant_prompt

log = logging.getLogger(__name__)
IGNORE_INDEX = -100


def tokenize_example(example: Example, tokenizer: object, max_length: int, chat: bool) -> dict | None:
    """``input_ids`` and completion-only ``labels`` of an example, the answer ended by EOS and cut at
    ``max_length``; None when the prompt alone leaves no room for an answer."""
    # Chat templates write their own BOS; plain prompts get the tokenizer's special tokens.
    prompt_ids = tokenizer(example.prompt, add_special_tokens=not chat)["input_ids"]
    target_ids = [*tokenizer(example.target, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
    if len(prompt_ids) >= max_length:
        return None
    input_ids = (prompt_ids + target_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + target_ids)[:max_length]
    return {"input_ids": input_ids, "labels": labels, "language": example.language, "task_id": example.task_id}


def collate_sft(rows: Sequence[dict], pad_id: int) -> dict:
    """Right-padded tensors, one example per row. ``languages`` and ``answer_tokens`` (per example)
    and ``task_ids`` stay lists for per-language logging."""
    width = max(len(row["input_ids"]) for row in rows)

    def padded(key: str, fill: int) -> torch.Tensor:
        return torch.tensor([row[key] + [fill] * (width - len(row[key])) for row in rows])

    mask = torch.tensor([[1] * len(row["input_ids"]) + [0] * (width - len(row["input_ids"])) for row in rows])
    return {
        "input_ids": padded("input_ids", pad_id),
        "attention_mask": mask,
        "labels": padded("labels", IGNORE_INDEX),
        **_example_lists(rows),
    }


def collate_packed(rows: Sequence[dict], pad_id: int, max_length: int) -> dict:
    """The examples packed, in order, into as few rows of at most ``max_length`` tokens as first-fit
    finds. ``segment_ids`` (-1 on padding) keep attention inside each example; ``position_ids``
    restart at each example."""
    bins: list[list[dict]] = []
    lengths: list[int] = []
    for row in rows:
        size = len(row["input_ids"])
        fitting = next((k for k, length in enumerate(lengths) if length + size <= max_length), None)
        if fitting is None:
            bins.append([row])
            lengths.append(size)
        else:
            bins[fitting].append(row)
            lengths[fitting] += size
    width = max(lengths)

    def packed(values: Callable[[int, dict], list[int]], fill: int) -> torch.Tensor:
        lines = [[v for i, r in enumerate(b) for v in values(i, r)] for b in bins]
        return torch.tensor([line + [fill] * (width - len(line)) for line in lines])

    return {
        "input_ids": packed(lambda i, r: r["input_ids"], pad_id),
        "labels": packed(lambda i, r: r["labels"], IGNORE_INDEX),
        "position_ids": packed(lambda i, r: list(range(len(r["input_ids"]))), 0),
        "segment_ids": packed(lambda i, r: [i] * len(r["input_ids"]), -1),
        **_example_lists([r for b in bins for r in b]),
    }


def _example_lists(rows: Sequence[dict]) -> dict:
    return {
        "languages": [row["language"] for row in rows],
        "answer_tokens": [sum(label != IGNORE_INDEX for label in row["labels"]) for row in rows],
        "task_ids": [row["task_id"] for row in rows],
    }


def collate_prompts(items: Sequence[PromptItem]) -> list[PromptItem]:
    return list(items)


class ParallelMixtureDataModule(L.LightningDataModule):
    """Problems in, SFT mixtures, RL prompts and per-language evaluation sets out."""

    def __init__(
        self,
        datasets: Sequence[str] = ("bundled",),
        eval_datasets: Sequence[str] = (),
        mode: Literal["sft", "rl"] = "sft",
        mixture: MixtureConfig | None = None,
        eval_languages: Sequence[str] | None = None,
        eval_problems_per_language: int | None = None,
        tokenizer: str = PACKAGED,
        chat: bool = True,
        system_prompt: str | None = None,
        max_length: int = 1024,
        packing: bool = False,
        batch_size: int = 4,
        num_workers: int = 0,
    ) -> None:
        """
        Args:
            datasets: dataset specs of the training problems (``bundled``, ``multipl-e:DIR``, ...: see
                ``lit_parallel.problems.loading``); their problems marked ``eval`` form evaluation sets.
            eval_datasets: dataset specs used for evaluation only (all their problems).
            mode: ``sft`` serves the mixture, ``rl`` serves source-language prompts.
            mixture: languages, ratios, formats and seed of the SFT data; its source language is RL's.
            eval_languages: languages evaluated by pass@k; default: the mixture's languages.
            eval_problems_per_language: keep the first N evaluation problems per language (small CPU runs).
            tokenizer: the model source whose tokenizer renders and tokenizes (linked from the model).
            chat: render prompts with the chat template (instruct models) or as plain text (base models).
            system_prompt: the chat system message; None keeps the template's default.
            max_length: tokens per SFT example; longer answers are cut, longer prompts dropped.
            packing: pack each batch's examples into rows of up to max_length tokens, attention kept
                within each example (less padding: more examples per second).
            batch_size: examples (SFT) or prompts (RL) per batch and device.
            num_workers: DataLoader worker processes.
        """
        super().__init__()
        self.save_hyperparameters()
        self.mixture = mixture or MixtureConfig()
        check_arguments(self.hparams, self.mixture)
        self.style = PromptStyle(chat=chat, system=system_prompt)
        self._tokenizer = None
        self.train_problems: list[Problem] | None = None
        self.eval_problems: list[Problem] = []
        self.train_rows: list = []
        self.val_rows: list = []
        self.report: dict[str, dict[str, int]] = {}
        if mode == "rl":  # RL has no validation loss (PassAtK measures it): Lightning then sees no val loop
            self.val_dataloader = None

    @property
    def tokenizer(self) -> object:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.hparams.tokenizer)
        return self._tokenizer

    @property
    def source_language(self) -> str:
        return self.mixture.source_language

    @property
    def eval_languages(self) -> list[str]:
        return list(self.hparams.eval_languages or self.mixture.languages)

    @property
    def train_languages(self) -> list[str]:
        return list(self.report)

    def held_out_problems(self) -> list[Problem]:
        self.load()
        return self.eval_problems

    def load(self) -> None:
        """Read the datasets, split them by task and keep the mixture's part of the training ones (once)."""
        if self.train_problems is None:
            train, self.eval_problems = split_by_task(
                [p for spec in self.hparams.datasets for p in load_problems(spec)],
                [p for spec in self.hparams.eval_datasets for p in load_problems(spec)],
            )
            self.train_problems = select_part(train, self.eval_problems, self.mixture.part, self.mixture.warm_share)

    def setup(self, stage: str | None = None) -> None:
        if self.train_rows:
            return
        self.load()
        train = self.train_problems
        if self.hparams.mode == "rl":
            self.train_rows = self.prompts(train, [self.source_language])[self.source_language]
            return
        with checks.prefixed(f"{KEY}.mixture.languages"):
            examples = MixtureBuilder(self.mixture, self.tokenizer, self.style, self.hparams.max_length).build(train)
        self.train_rows = self._tokenize(examples)
        self.report = mixture_report(self.train_rows)
        val = [p for p in self.eval_problems if self.source_language in p.parallel_group()]
        val_config = MixtureConfig(self.source_language, {self.source_language: 1.0}, seed=self.mixture.seed)
        self.val_rows = self._tokenize(MixtureBuilder(val_config, self.tokenizer, self.style).build(val)) if val else []
        rank_zero_only(log.info)("SFT mixture: %s", self.report)

    def _tokenize(self, examples: Sequence[Example]) -> list[dict]:
        rows = [tokenize_example(e, self.tokenizer, self.hparams.max_length, self.style.chat) for e in examples]
        dropped = sum(row is None for row in rows)
        if dropped:  # every DDP rank drops the same rows: one of them says so
            rank_zero_only(log.warning)("%d of %d examples dropped: prompt longer than max_length", dropped, len(rows))
        return [row for row in rows if row is not None]

    def prompts(self, problems: Sequence[Problem], languages: Sequence[str]) -> dict[str, list[PromptItem]]:
        """Prompts of every problem that has a tested variant in each language (any language, for io
        problems)."""
        sets: dict[str, list[PromptItem]] = {}
        for lang in languages:
            variants = [(p, p.variant(lang)) for p in problems]
            sets[lang] = [
                PromptItem(p.task_id, lang, variant_prompt(v, self.tokenizer, self.style), v, p.cluster)
                for p, v in variants
                if v is not None and v.has_tests
            ]
        return sets

    def eval_sets(self, languages: Sequence[str] | None = None) -> dict[str, list[PromptItem]]:
        """Evaluation prompts per language (default: ``eval_languages``), none of whose problems is in
        SFT or RL data."""
        self.load()
        languages = languages or self.eval_languages
        sets = self.prompts(self.eval_problems, languages)
        cap = self.hparams.eval_problems_per_language
        return {lang: items[:cap] if cap else items for lang, items in sets.items()}

    def transfer_batch_to_device(self, batch: object, device: torch.device, dataloader_idx: int) -> object:
        # RL batches are prompts with their tests, not tensors: the RL module tokenizes and moves them.
        return batch if self.hparams.mode == "rl" else super().transfer_batch_to_device(batch, device, dataloader_idx)

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        sampler = ResumableSampler(self.train_rows, world, rank, seed=self.mixture.seed)
        if trainer is not None and trainer.global_step:
            # Resumed from a checkpoint: the epoch it stopped in goes on from the next batch.
            batches = math.ceil(len(sampler) / self.hparams.batch_size)
            done = trainer.global_step * trainer.accumulate_grad_batches - trainer.current_epoch * batches
            sampler.resume(trainer.current_epoch, min(max(done, 0), batches) * self.hparams.batch_size)
        return self._loader(self.train_rows, sampler)

    def val_dataloader(self) -> DataLoader | list:
        """The held-out problems' source-language solutions: SFT's validation loss."""
        return self._loader(self.val_rows, None) if self.val_rows else []

    def test_dataloader(self) -> DataLoader | list:
        return self.val_dataloader()

    def _loader(self, rows: list, sampler: ResumableSampler | None) -> DataLoader:
        collate = collate_prompts
        if self.hparams.mode == "sft":
            pad_id = self.tokenizer.pad_token_id
            collate = partial(collate_sft, pad_id=pad_id)
            if self.hparams.packing:
                collate = partial(collate_packed, pad_id=pad_id, max_length=self.hparams.max_length)
        return DataLoader(
            rows,
            batch_size=self.hparams.batch_size,
            sampler=sampler,
            collate_fn=collate,
            num_workers=self.hparams.num_workers,
        )


KEY = "data.init_args"
"""Where a LightningCLI config holds the DataModule's arguments: errors name the key below it."""


def check_arguments(hparams: dict, mixture: MixtureConfig) -> None:
    """DataError naming the config key of the first bad argument, before anything is read or loaded."""
    for field in ("datasets", "eval_datasets"):
        for i, spec in enumerate(hparams[field]):
            with checks.prefixed(f"{KEY}.{field}[{i}]"):
                parse_spec(spec)
    checks.registry_names([mixture.source_language], f"{KEY}.mixture.source_language", runnable=hparams["mode"] == "rl")
    checks.shares(mixture.languages, f"{KEY}.mixture.languages")
    checks.registry_names(list(mixture.languages), f"{KEY}.mixture.languages")
    checks.shares(mixture.formats, f"{KEY}.mixture.formats")
    checks.choices([mixture.part], PARTS, f"{KEY}.mixture.part")
    checks.at_least(mixture.warm_share, 0, f"{KEY}.mixture.warm_share")
    checks.choices(list(mixture.formats), EXAMPLE_FORMATS, f"{KEY}.mixture.formats")
    checks.at_least(mixture.num_examples, 1, f"{KEY}.mixture.num_examples")
    checks.at_least(mixture.multi_languages, 1, f"{KEY}.mixture.multi_languages")
    checks.registry_names(hparams["eval_languages"], f"{KEY}.eval_languages", runnable=True)
    for field in ("eval_problems_per_language", "max_length", "batch_size"):
        checks.at_least(hparams[field], 1, f"{KEY}.{field}")
    checks.at_least(hparams["num_workers"], 0, f"{KEY}.num_workers")


class ResumableSampler(DistributedSampler):
    """This rank's shard, in an order fixed by (seed, epoch), that can start an epoch part-way.

    Lightning keeps a DistributedSampler it is given and calls ``set_epoch`` on it, so the order of
    every epoch is the same whether a run went straight through or was resumed from a checkpoint.
    """

    def __init__(self, rows: Sequence, world_size: int, rank: int, seed: int) -> None:
        super().__init__(rows, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        self.resume_epoch, self.resume_offset = -1, 0

    def resume(self, epoch: int, offset: int) -> None:
        """In ``epoch``, skip the first ``offset`` indices (those trained on before the checkpoint)."""
        self.resume_epoch, self.resume_offset = epoch, offset

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.resume_offset :] if self.epoch == self.resume_epoch else indices)


def split_by_task(train: Sequence[Problem], eval_only: Sequence[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(training problems, evaluation problems): a task_id evaluated anywhere is never trained on."""
    evaluated = [p for p in train if p.split == "eval"] + list(eval_only)
    held_out = {p.task_id for p in evaluated}
    return [p for p in train if p.task_id not in held_out], evaluated


def mixture_report(rows: Sequence[dict]) -> dict[str, dict[str, int]]:
    """Examples, and tokens (all and answer-only), per language of the SFT data."""
    report: dict[str, Counter] = {}
    for row in rows:
        counts = report.setdefault(row["language"], Counter())
        counts["examples"] += 1
        counts["tokens"] += len(row["input_ids"])
        counts["answer_tokens"] += sum(label != IGNORE_INDEX for label in row["labels"])
    return {lang: dict(counts) for lang, counts in sorted(report.items())}
