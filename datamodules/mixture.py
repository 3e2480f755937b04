"""The Parallel-SFT mixture: which problem, in which languages and which format, makes each example.

Pure and deterministic for a seed: no Lightning, no tensors. Counts are allocated exactly (largest
remainder), so the configured ratios hold to within one example per language and format. The same
config with ``parallel: false`` builds its non-parallel control.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import Problem
from lit_parallel.prompts import (
    PromptStyle,
    multi_message,
    problems_message,
    render_prompt,
    render_target,
    translation_prompt,
    variant_prompt,
)

EXAMPLE_FORMATS = ("single", "multi", "translation")


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
    parallel: bool = True
    """False: the non-parallel control. The parallel mixture of this config is built, then every
    program of its answers is swapped for one in the same language and of about the same tokens (left
    after the cut to max_length), of a problem that appears in no other language: the same languages,
    shares, examples per language and answer tokens (the loss's budget), but no equivalent programs.
    Formats parallel by nature become their nearest non-parallel kin: a ``translation`` (a program in,
    its equivalent out) becomes a ``single`` example (statement in, program out); a ``multi`` example
    keeps its languages, each now solving a different problem whose statement the prompt lists.
    Prompts are therefore longer: a statement where a translation showed a program, a statement per
    program in a ``multi`` example (keep max_length above three statements, or it is dropped). Each
    problem serves one language, so a language sees fewer distinct problems than in the parallel
    mixture once examples outnumber problems."""
    seed: int = 0


@dataclass(frozen=True)
class Example:
    """One SFT example: the model sees ``prompt`` and learns ``target``."""

    task_id: str
    language: str
    """The language of the answer's (first) program: what the ratios count."""
    kind: str
    """``source`` or one of EXAMPLE_FORMATS."""
    prompt: str
    target: str
    programs: tuple[tuple[str, str], ...]
    """``(task_id, language)`` of every program the example shows, in the prompt or the answer."""


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

    def __init__(
        self, config: MixtureConfig, tokenizer: object, style: PromptStyle, max_length: int | None = None
    ) -> None:
        """``max_length``: the tokens an example is cut to, so that the control matches the answer tokens
        that are left after the cut (its prompts are longer)."""
        unknown = set(config.formats) - set(EXAMPLE_FORMATS)
        if unknown:
            raise ValueError(f"unknown mixture formats {sorted(unknown)} (known: {', '.join(EXAMPLE_FORMATS)})")
        self.config, self.tokenizer, self.style, self.max_length = config, tokenizer, style, max_length

    def build(self, problems: Sequence[Problem]) -> list[Example]:
        cfg = self.config
        rng = random.Random(cfg.seed)
        pools = {lang: [p for p in problems if _solved(p, lang)] for lang in cfg.languages}
        empty = [lang for lang, share in cfg.languages.items() if share > 0 and not pools[lang]]
        if empty:
            raise DataError(f"no training problem has a solution in {', '.join(empty)}")
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
        return examples if cfg.parallel else self.control(examples, problems, rng)

    def control(self, examples: Sequence[Example], problems: Sequence[Problem], rng: random.Random) -> list[Example]:
        """The non-parallel counterpart of ``examples``: each answer program swapped for one in the same
        language, of about the same length in tokens, of a problem seen in no other language."""
        answers = [e.programs[-1:] if e.kind == "translation" else e.programs for e in examples]
        sizes = self.single_sizes(problems)
        translations = iter(self.answer_tokens([e for e in examples if e.kind == "translation"]))
        slots = [
            (lang, example.language, next(translations) if example.kind == "translation" else sizes[task_id][lang])
            for example, shown in zip(examples, answers, strict=True)
            for task_id, lang in shown
        ]
        by_id = {p.task_id: p for p in problems}
        swapped = iter(by_id[task_id] for task_id in decouple(slots, sizes, rng))
        control = []
        for example, shown in zip(examples, answers, strict=True):
            chosen = [(next(swapped), lang) for _, lang in shown]
            if example.kind == "multi":
                control.append(self.several(chosen))
            else:
                [(problem, lang)] = chosen
                control.append(self.single(problem, lang, "single" if example.kind == "translation" else example.kind))
        return control

    def single_sizes(self, problems: Sequence[Problem]) -> dict[str, dict[str, int]]:
        """task_id -> language -> answer tokens of its ``single`` example, for the mixture's languages."""
        languages = self.config.languages
        singles = [self.single(p, lang, "single") for p in problems for lang in languages if _solved(p, lang)]
        sizes: dict[str, dict[str, int]] = {}
        for single, tokens in zip(singles, self.answer_tokens(singles), strict=True):
            sizes.setdefault(single.task_id, {})[single.language] = tokens
        return sizes

    def answer_tokens(self, examples: Sequence[Example]) -> list[int]:
        """The answer tokens each example trains on (the closing EOS included), after the cut to max_length."""
        answers = self.tokenizer([e.target for e in examples], add_special_tokens=False)["input_ids"]
        if self.max_length is None:
            return [len(answer) + 1 for answer in answers]
        prompts = self.tokenizer([e.prompt for e in examples], add_special_tokens=not self.style.chat)["input_ids"]
        return [max(0, min(len(a) + 1, self.max_length - len(p))) for a, p in zip(answers, prompts, strict=True)]

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
        target = render_target(variant.solution)
        return Example(problem.task_id, language, kind, prompt, target, ((problem.task_id, language),))

    def multi(self, problem: Problem, language: str, rng: random.Random) -> Example:
        others = [lang for lang in self.config.languages if lang != language and _solved(problem, lang)]
        chosen = [language, *rng.sample(others, min(len(others), self.config.multi_languages - 1))]
        programs = problem.parallel_group()
        message = multi_message(problem.description, chosen)
        prompt = render_prompt(message, language, self.tokenizer, self.style)
        answer = _blocks([(lang, programs[lang]) for lang in chosen])
        shown = tuple((problem.task_id, lang) for lang in chosen)
        return Example(problem.task_id, language, "multi", prompt, answer, shown)

    def several(self, chosen: Sequence[tuple[Problem, str]]) -> Example:
        """The control's ``multi``: several ``(problem, language)``, a different problem in each language."""
        (first, language) = chosen[0]
        message = problems_message([(problem.description, lang) for problem, lang in chosen])
        prompt = render_prompt(message, language, self.tokenizer, self.style)
        answer = _blocks([(lang, problem.parallel_group()[lang]) for problem, lang in chosen])
        shown = tuple((problem.task_id, lang) for problem, lang in chosen)
        return Example(first.task_id, language, "multi", prompt, answer, shown)

    def translation(self, problem: Problem, language: str) -> Example:
        programs = problem.parallel_group()
        source = self.config.source_language
        prompt = translation_prompt(source, programs[source], language, self.tokenizer, self.style)
        shown = ((problem.task_id, source), (problem.task_id, language))
        return Example(problem.task_id, language, "translation", prompt, render_target(programs[language]), shown)


def decouple(
    slots: Sequence[tuple[str, str, int]], sizes: Mapping[str, Mapping[str, int]], rng: random.Random
) -> list[str]:
    """A task_id for each ``(language, account, length)`` slot, with no task in two languages.

    ``sizes`` gives each task's answer length per language it is solved in. First each language
    claims tasks in proportion to its slots (one per slot while there are enough): its slots, sorted
    by length, are cut into that many equal groups, each of which claims the unclaimed task nearest
    the group's mean length; languages claim in turn, longest groups first. Then each slot takes, of
    its language's tasks used fewer than twice their even share of times, the one that keeps the
    running length of its (language, account) closest to the slots': so the examples counted under
    each account (the mixture's languages) keep their length budget.
    """
    claimed = _claim([(lang, length) for lang, _, length in slots], sizes, rng)
    counts = Counter(lang for lang, _, _ in slots)
    cap = {lang: 2 * math.ceil(counts[lang] / len(pool)) for lang, pool in claimed.items()}
    used: Counter[str] = Counter()
    drift: Counter[tuple[str, str]] = Counter()  # length taken minus length asked, so far
    taken = []
    for lang, account, length in slots:
        candidates = [task for task in claimed[lang] if used[task] < cap[lang]]
        best = min(candidates, key=lambda task: abs(drift[lang, account] + sizes[task][lang] - length))
        used[best] += 1
        drift[lang, account] += sizes[best][lang] - length
        taken.append(best)
    return taken


def _claim(
    slots: Sequence[tuple[str, int]], sizes: Mapping[str, Mapping[str, int]], rng: random.Random
) -> dict[str, list[str]]:
    """Disjoint pools of tasks, one per language of ``slots``, spanning its slots' lengths (see decouple)."""
    counts = Counter(lang for lang, _ in slots)
    if len(sizes) < len(counts):
        raise ValueError(f"non-parallel control: {len(sizes)} problems cannot serve {len(counts)} languages one each")
    quota = allocate(min(len(sizes), len(slots)), counts)
    for lang in [lang for lang, n in quota.items() if n == 0]:  # a language with few slots still needs one
        donor = max(quota, key=quota.__getitem__)
        quota[donor], quota[lang] = quota[donor] - 1, 1
    groups = []  # (turn, language, mean length)
    for lang, n in quota.items():
        lengths = sorted(length for slot_lang, length in slots if slot_lang == lang)
        bounds = [round(k * len(lengths) / n) for k in range(n + 1)]
        means = [sum(lengths[a:b]) / max(b - a, 1) for a, b in itertools.pairwise(bounds)]
        groups += [((n - k - rng.random()) / n, lang, mean) for k, mean in enumerate(means)]
    unclaimed = list(sizes)
    rng.shuffle(unclaimed)
    claimed: dict[str, list[str]] = {lang: [] for lang in counts}
    for _, lang, mean in sorted(groups, key=lambda group: group[0]):
        solved = [task for task in unclaimed if lang in sizes[task]]
        if not solved:
            raise ValueError(f"non-parallel control: no problem solved in {lang} is left (each is in one language)")
        best = min(solved, key=lambda task: abs(sizes[task][lang] - mean))
        unclaimed.remove(best)
        claimed[lang].append(best)
    return claimed


def _blocks(programs: Sequence[tuple[str, str]]) -> str:
    """The target of several ``(language, code)`` programs, one code block each: the prompt opened
    the first block, each further block closes the one before."""
    (_, first), rest = programs[0], programs[1:]
    return render_target(first.rstrip() + "".join(f"\n```\n\n```{lang}\n{code.rstrip()}" for lang, code in rest))


def _solved(problem: Problem, language: str) -> bool:
    variant = problem.variants.get(language)
    return variant is not None and variant.solution is not None
