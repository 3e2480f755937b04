"""The Parallel-SFT mixture: which problem, in which languages and which format, makes each example.

Pure and deterministic for a seed: no Lightning, no tensors. Counts are allocated exactly (largest
remainder), so the configured ratios hold to within one example per language and format.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from lit_parallel.problems.schema import Problem
from lit_parallel.prompts import (
    PromptStyle,
    multi_message,
    render_prompt,
    render_target,
    translation_prompt,
    variant_prompt,
)

FORMATS = ("single", "multi", "translation")


@dataclass
class MixtureConfig:
    """What one epoch of SFT data is made of."""

    source_language: str = "python"
    """The language RL trains on later; its examples are plain monolingual SFT."""
    languages: dict[str, float] = field(default_factory=lambda: {"python": 1.0})
    """Share of examples whose code is in each language. ``{source: 1.0}`` is the baseline SFT; adding
    target languages makes it Parallel-SFT. Normalised to sum to 1."""
    formats: dict[str, float] = field(default_factory=lambda: {"single": 1.0})
    """Share of each parallel format among the non-source examples: ``single`` (a solution as its own
    example), ``multi`` (several languages of one problem in one answer), ``translation`` (source
    program in the prompt, target program as the answer). Normalised to sum to 1."""
    num_examples: int | None = None
    """Examples per epoch; None: as many as make every source-language problem appear once."""
    multi_languages: int = 3
    """Languages in one ``multi`` example (fewer when a problem has fewer)."""
    seed: int = 0


@dataclass(frozen=True)
class Example:
    """One SFT example: the model sees ``prompt`` and learns ``target``."""

    task_id: str
    language: str
    """The language of the answer's (first) program: what the ratios count."""
    kind: str
    """``source`` or one of FORMATS."""
    prompt: str
    target: str


def allocate(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """``total`` split by ``shares`` in whole numbers that sum to ``total`` (largest remainder)."""
    weight = sum(shares.values())
    if weight <= 0 or any(s < 0 for s in shares.values()):
        raise ValueError(f"shares must be non-negative with a positive sum: {dict(shares)}")
    exact = {key: total * share / weight for key, share in shares.items()}
    counts = {key: math.floor(x) for key, x in exact.items()}
    by_remainder = sorted(exact, key=lambda key: counts[key] - exact[key])
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def _cycle(pool: Sequence[Problem], rng: random.Random) -> Iterator[Problem]:
    """Problems in a fresh shuffled order on every pass, so repeats spread evenly."""
    while True:
        order = list(pool)
        rng.shuffle(order)
        yield from order


class MixtureBuilder:
    """Turns training problems into the examples of a MixtureConfig."""

    def __init__(self, config: MixtureConfig, tokenizer: object, style: PromptStyle) -> None:
        unknown = set(config.formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown mixture formats {sorted(unknown)} (known: {', '.join(FORMATS)})")
        self.config, self.tokenizer, self.style = config, tokenizer, style

    def build(self, problems: Sequence[Problem]) -> list[Example]:
        cfg = self.config
        rng = random.Random(cfg.seed)
        pools = {lang: [p for p in problems if _solved(p, lang)] for lang in cfg.languages}
        empty = [lang for lang, share in cfg.languages.items() if share > 0 and not pools[lang]]
        if empty:
            raise ValueError(f"no training problem has a solution in {', '.join(empty)}")
        per_language = allocate(self._total(pools), cfg.languages)
        examples: list[Example] = []
        for lang, count in per_language.items():
            if lang == cfg.source_language:
                problems_of = _cycle(pools[lang], rng)
                examples += [self.single(next(problems_of), lang, "source") for _ in range(count)]
                continue
            for kind, n in allocate(count, cfg.formats).items():
                pool = pools[lang]
                if kind == "translation":
                    pool = [p for p in pool if _solved(p, cfg.source_language)]
                problems_of = _cycle(pool, rng)
                examples += [self.make(kind, next(problems_of), lang, rng) for _ in range(n)]
        rng.shuffle(examples)
        return examples

    def _total(self, pools: Mapping[str, list[Problem]]) -> int:
        cfg = self.config
        if cfg.num_examples is not None:
            return cfg.num_examples
        share = cfg.languages.get(cfg.source_language, 0) / sum(cfg.languages.values())
        if share > 0:
            return math.ceil(len(pools[cfg.source_language]) / share)
        return sum(len(pool) for pool in pools.values())

    def make(self, kind: str, problem: Problem, language: str, rng: random.Random) -> Example:
        if kind == "multi":
            return self.multi(problem, language, rng)
        if kind == "translation":
            return self.translation(problem, language)
        return self.single(problem, language, kind)

    def single(self, problem: Problem, language: str, kind: str) -> Example:
        variant = problem.variants[language]
        prompt = variant_prompt(variant, self.tokenizer, self.style)
        return Example(problem.task_id, language, kind, prompt, render_target(variant.solution))

    def multi(self, problem: Problem, language: str, rng: random.Random) -> Example:
        others = [lang for lang in self.config.languages if lang != language and _solved(problem, lang)]
        chosen = [language, *rng.sample(others, min(len(others), self.config.multi_languages - 1))]
        programs = problem.parallel_group()
        message = multi_message(problem.description, chosen)
        prompt = render_prompt(message, language, self.tokenizer, self.style)
        # The prompt opened the first block; each further block closes the one before.
        answer = programs[language].rstrip() + "".join(
            f"\n```\n\n```{lang}\n{programs[lang].rstrip()}" for lang in chosen[1:]
        )
        return Example(problem.task_id, language, "multi", prompt, render_target(answer))

    def translation(self, problem: Problem, language: str) -> Example:
        programs = problem.parallel_group()
        source = self.config.source_language
        prompt = translation_prompt(source, programs[source], language, self.tokenizer, self.style)
        return Example(problem.task_id, language, "translation", prompt, render_target(programs[language]))


def _solved(problem: Problem, language: str) -> bool:
    variant = problem.variants.get(language)
    return variant is not None and variant.solution is not None
