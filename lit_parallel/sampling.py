"""Batched sampling with a KV cache, each row drawn from its own seeded generator.

A row's tokens depend on its prompt and seed, not on which other prompts share its batch or on how
many processes split the work: that is what lets a sharded evaluation equal a single-process one.
Finished rows leave the batch, so long completions do not make short ones pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class SamplingSpec:
    """How completions are drawn."""

    n: int = 1
    """Samples per problem."""
    temperature: float = 0.0
    """0 is greedy decoding (pass@1 only makes sense with n=1 then)."""
    top_p: float = 1.0
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches top_p."""
    max_new_tokens: int = 256
    batch_size: int = 8
    """Prompts generated together."""
    seed: int = 0
    """Sample i of a problem is drawn with a seed made from (seed, task, language, i)."""


def choose(logits: torch.Tensor, spec: SamplingSpec, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """The next token of each row: argmax when greedy, else a top-p sample from the row's generator."""
    if spec.temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / spec.temperature, -1)
    if spec.top_p < 1.0:
        sorted_probs, order = probs.sort(-1, descending=True)
        # drop a token when the mass before it already reaches top_p (the top token always stays)
        drop = sorted_probs.cumsum(-1) - sorted_probs >= spec.top_p
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs.masked_fill(drop, 0.0))
    # Inverse-CDF sampling: one uniform per row from the row's own generator (batch-invariant), then one
    # batched search; a torch.multinomial per row costs ~80x more on CPU over a 49k-token vocabulary.
    draws = torch.cat([torch.rand(1, generator=g, device=probs.device) for g in generators])
    cdf = probs.cumsum(-1)
    # right=True: the first token whose cumulative mass exceeds the draw, never a zero-probability one
    chosen = torch.searchsorted(cdf, (draws * cdf[:, -1])[:, None], right=True)[:, 0]
    return chosen.clamp(max=probs.shape[-1] - 1)


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to its earliest stop sequence, and whether one was found."""
    ends = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


def sample(
    model: torch.nn.Module,
    tokenizer: object,
    prompts: Sequence[str],
    seeds: Sequence[int],
    stops: Sequence[Sequence[str]],
    spec: SamplingSpec,
    add_special_tokens: bool = False,
) -> list[str]:
    """One completion per prompt, cut at EOS, at the prompt's first stop sequence, or at max_new_tokens."""
    return [text for text, _ in sample_tokens(model, tokenizer, prompts, seeds, stops, spec, add_special_tokens)]


@torch.no_grad()
def sample_tokens(
    model: torch.nn.Module,
    tokenizer: object,
    prompts: Sequence[str],
    seeds: Sequence[int],
    stops: Sequence[Sequence[str]],
    spec: SamplingSpec,
    add_special_tokens: bool = False,
) -> list[tuple[str, list[int]]]:
    """``sample``'s completions with the tokens drawn (up to the one that completed a stop sequence,
    and the EOS token when drawn): what RL scores and trains on."""
    device = next(model.parameters()).device
    enc = tokenizer(
        list(prompts), return_tensors="pt", padding=True, padding_side="left", add_special_tokens=add_special_tokens
    )
    ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    generators = [torch.Generator(device).manual_seed(s) for s in seeds]
    rows = list(range(len(prompts)))  # prompt index of each row still generating
    tokens: list[list[int]] = [[] for _ in prompts]
    drawn: list[list[int]] = [[] for _ in prompts]  # tokens with the EOS
    texts = [""] * len(prompts)
    cache, step_ids = None, ids
    for _ in range(spec.max_new_tokens):
        # logits_to_keep=1: the prefill would otherwise project every prompt position onto the vocabulary.
        out = model(
            input_ids=step_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        cache = out.past_key_values
        chosen = choose(out.logits[:, -1, :].float(), spec, [generators[r] for r in rows])
        keep = []
        for slot, (row, token) in enumerate(zip(rows, chosen.tolist(), strict=True)):
            drawn[row].append(token)
            if token != tokenizer.eos_token_id:
                tokens[row].append(token)
            texts[row], stopped = cut_at_stop(tokenizer.decode(tokens[row], skip_special_tokens=True), stops[row])
            if token != tokenizer.eos_token_id and not stopped:
                keep.append(slot)
        if not keep:
            break
        index = torch.tensor(keep, device=device)
        rows = [rows[k] for k in keep]
        if len(keep) < len(chosen):
            cache.batch_select_indices(index)
        step_ids = chosen[index][:, None]
        mask = torch.cat([mask[index], mask.new_ones(len(keep), 1)], -1)
        positions = positions[index][:, -1:] + 1
    return list(zip(texts, drawn, strict=True))
