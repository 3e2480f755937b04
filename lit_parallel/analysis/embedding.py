"""Programs through a model: pooled hidden states at every layer, and the alignment report built on them.

A program's embedding at a layer is the mean of its tokens' hidden states (``mean``) or the hidden
state of its last token (``last``). Layer 0 is the token embeddings, layer L the last block's output
(after the final norm, as transformers returns it). Programs are tokenized as plain text, without a
prompt, right-padded and batched by length; under causal attention padding on the right changes no
real token's state, so a program's embedding does not depend on its batch.

Each program is preceded by the tokenizer's BOS token (EOS when it has none), and that position is
left out of both poolings. Models use the first position as an attention sink: from the middle layers
on its state dwarfs every other (SmolLM2-135M from layer 12: norm ~2e4 against ~150), so a mean that
included it would mostly say which token a program starts with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lit_parallel.analysis.similarity import alignment_curves, chance
from lit_parallel.errors import DataError
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import Problem, language_of

POOLINGS = ("mean", "last")
"""How a program's token states become one vector: their mean, or the last token's."""


@dataclass(frozen=True)
class ParallelPrograms:
    """Complete parallel groups: ``programs[lang][i]`` solves ``task_ids[i]`` in every language."""

    task_ids: tuple[str, ...]
    programs: dict[str, tuple[str, ...]]
    """Language -> one program per task, in ``task_ids`` order."""

    @property
    def languages(self) -> list[str]:
        return list(self.programs)


def parallel_programs(
    problems: Sequence[Problem], languages: Sequence[str] | None = None, limit: int | None = None
) -> ParallelPrograms:
    """The reference solutions of the problems that have one in every language of ``languages``.

    Default languages: every language with a solution somewhere. ``limit`` keeps the first N groups.
    DataError when fewer than two languages or two complete groups remain.
    """
    groups = [(p.task_id, p.parallel_group()) for p in problems]
    if languages is None:
        languages = list(dict.fromkeys(lang for _, group in groups for lang in group))
    else:
        languages = list(dict.fromkeys(language_of(name, "languages") for name in languages))
    if len(languages) < 2:
        raise DataError(f"languages: alignment needs at least two languages, got {languages}")
    complete = [(task_id, group) for task_id, group in groups if all(lang in group for lang in languages)]
    complete = complete[:limit] if limit else complete
    if len(complete) < 2:
        raise DataError(
            f"languages: {len(complete)} of {len(problems)} problems have a solution in each of {languages}; "
            "retrieval needs at least 2"
        )
    return ParallelPrograms(
        tuple(task_id for task_id, _ in complete),
        {lang: tuple(group[lang] for _, group in complete) for lang in languages},
    )


def dataset_programs(
    spec: str, languages: Sequence[str] | None = None, split: str = "eval", limit: int | None = None
) -> ParallelPrograms:
    """The complete parallel groups of a dataset SPEC's ``split`` problems (``all``: every split)."""
    problems = [p for p in load_problems(spec, languages) if split in ("all", p.split)]
    return parallel_programs(problems, languages, limit)


def _pool(states: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """``[B, T, H]`` states of right-padded rows with ``[B, T]`` mask -> ``[B, H]``."""
    if pooling == "mean":
        weights = mask[..., None].to(states.dtype)
        return (states * weights).sum(1) / weights.sum(1)
    if pooling == "last":
        return states[torch.arange(len(states)), mask.sum(1) - 1]
    raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")


@torch.no_grad()
def embed(
    model: torch.nn.Module,
    tokenizer: object,
    texts: Sequence[str],
    poolings: Sequence[str] = POOLINGS,
    batch_size: int = 8,
    max_length: int = 512,
) -> dict[str, torch.Tensor]:
    """``{pooling: [layers, N, H]}`` float32 CPU tensors of ``texts`` (each cut at ``max_length`` tokens,
    the sink token excluded).

    The model runs in eval mode (no dropout) and is put back in the mode it was in.
    """
    ids = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]
    if empty := [i for i, row in enumerate(ids) if not row]:
        raise ValueError(f"programs {empty[:5]} have no tokens")
    sink = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    ids = [[sink, *row] for row in ids]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch: less padding
    device = next(model.parameters()).device
    pooled: dict[str, list[torch.Tensor]] = {p: [] for p in poolings}
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            rows = [ids[i] for i in order[start : start + batch_size]]
            width = max(len(row) for row in rows)
            input_ids = torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows])
            mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
            out = model(input_ids=input_ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
            program = mask[:, 1:].to(device)  # the sink position is not the program's
            for p in poolings:
                pooled[p].append(torch.stack([_pool(h[:, 1:], program, p).float().cpu() for h in out.hidden_states]))
    finally:
        model.train(was_training)
    inverse = torch.argsort(torch.tensor(order))
    return {p: torch.cat(chunks, dim=1)[:, inverse] for p, chunks in pooled.items()}


def measure_alignment(
    model: torch.nn.Module,
    tokenizer: object,
    programs: ParallelPrograms,
    poolings: Sequence[str] = POOLINGS,
    batch_size: int = 8,
    max_length: int = 512,
) -> dict:
    """Embed every program (all languages in one batched pass) and measure alignment at every layer.

    Returns a JSON-ready report: ``languages``, ``task_ids``, ``groups`` (N), ``layers``, ``chance``
    (top-1 and MRR among N) and ``curves``: ``{pooling: {pair or "mean": {metric: [per layer]}}}``.
    """
    languages = programs.languages
    texts = [text for lang in languages for text in programs.programs[lang]]
    vectors = embed(model, tokenizer, texts, poolings, batch_size, max_length)
    n = len(programs.task_ids)
    curves = {}
    for pooling, states in vectors.items():
        by_language = {lang: states[:, k * n : (k + 1) * n].numpy() for k, lang in enumerate(languages)}
        curves[pooling] = alignment_curves(by_language)
    return {
        "languages": languages,
        "task_ids": list(programs.task_ids),
        "groups": n,
        "layers": int(next(iter(vectors.values())).shape[0]),
        "chance": chance(n),
        "curves": curves,
    }
