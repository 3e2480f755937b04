"""The Parallel-SFT mixture: which problem, in which languages and which format, makes each example.

Pure and deterministic for a seed: no Lightning, no tensors. Counts are allocated exactly (largest
remainder), so the configured ratios hold to within one example per language and format. The same
config with ``parallel: false`` builds its non-parallel control, and with ``source_only: true`` the
baseline of the same answer-token budget in the source language alone.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from datamodules.programs import PARTS, Part, distinct_programs
from lit_parallel.errors import DataError
from lit_parallel.problems.schema import Problem
from lit_parallel.prompts import (
    PromptStyle,
    multi_message,
    problems_message,
    reference_prompt,
    render_prompt,
    render_target,
    translation_prompt,
    variant_prompt,
)

EXAMPLE_FORMATS = ("single", "multi", "translation")
REFERENCES = 8
"""The most source programs the control's translations show (each a program used in no other language)."""
REFERENCED = "referenced:"
"""Prefixes a language in the control's table of answer sizes: its ``translation`` answers (a longer prompt)."""


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
    program it shows is swapped for one in the same language and of about the same tokens (left after
    the cut to max_length), of a *program* (``datamodules.programs``: equal solutions under any
    task_id are one) that appears in no other language: the same languages, shares, examples per
    language and format, and answer tokens (the loss's budget), but no equivalent programs. Formats
    parallel by nature keep their shape without the equivalence: a ``translation`` (a source program
    in, its equivalent out) shows a source program of one problem and asks for a different problem,
    stated, in the target; a ``multi`` example keeps its languages, each now solving a different
    problem whose statement the prompt lists. Prompts are therefore longer (a statement per answer
    program; keep max_length above three statements, or a ``multi`` example is dropped). Each program
    serves one language, so a language sees fewer distinct problems than in the parallel mixture once
    examples outnumber programs."""
    source_only: bool = False
    """True: the baseline. The mixture of this config is built, and its answer tokens (after the cut
    to max_length) become the budget of source-language examples alone (to within one example)."""
    part: Part = "all"
    """Which training problems the data draws on: ``all``; ``warm``, the programs of the warm start's
    ``warm_share`` (``datamodules.programs``); ``arms``, every other one (what the arms of an experiment
    with a warm start train on, SFT and RL alike)."""
    warm_share: float = 0.0
    """The share of training programs kept for the warm start (chosen by a hash of each program)."""
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
        if config.part not in PARTS:
            raise ValueError(f"unknown mixture part {config.part!r} (known: {', '.join(PARTS)})")
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
        if cfg.source_only:
            return self.source_budget(sum(self.answer_tokens(examples)), pools[cfg.source_language], rng)
        return examples if cfg.parallel else self.control(examples, problems, rng)

    def source_budget(self, budget: int, pool: Sequence[Problem], rng: random.Random) -> list[Example]:
        """Source-language examples whose answer tokens sum to ``budget``, to within one example."""
        problems_of, examples, spent = _cycle(pool, rng), [], 0
        while spent < budget:
            batch = [self.single(next(problems_of), self.config.source_language, "source") for _ in range(64)]
            for example, tokens in zip(batch, self.answer_tokens(batch), strict=True):
                if spent + tokens / 2 >= budget:  # the next one would overshoot more than stopping falls short
                    return examples
                examples.append(example)
                spent += tokens
        return examples

    def control(self, examples: Sequence[Example], problems: Sequence[Problem], rng: random.Random) -> list[Example]:
        """The non-parallel counterpart of ``examples``: each program it shows swapped for one in the same
        language, of about the same length in tokens, of a program seen in no other language."""
        sizes = self.single_sizes(problems)
        distinct = distinct_programs(problems)
        candidates = {p.task_id: dict(sizes[p.task_id]) for p in distinct}
        translated = [e for e in examples if e.kind == "translation"]
        references = self.references(distinct, sizes) if translated else []
        for reference in references:  # shown in prompts only, and no answer shows it
            del candidates[reference.task_id]
        if translated:
            for task_id, by_language in self.referenced_sizes(distinct, references).items():
                candidates[task_id].update(by_language)
        translations = iter(self.answer_tokens(translated))
        slots = []  # (language, account, length, size key)
        for example in examples:
            if example.kind == "translation":
                lang = example.language
                slots.append((lang, lang, next(translations), REFERENCED + lang))
            else:
                slots += [(lang, example.language, sizes[task][lang], lang) for task, lang in example.programs]
        by_id = {p.task_id: p for p in problems}
        swapped = iter(by_id[task_id] for task_id in decouple(slots, candidates, rng))
        shown = itertools.cycle(references)
        control = []
        for example in examples:
            if example.kind == "translation":
                asked = (next(swapped), example.language)
                control.append(self.referenced((next(shown), self.config.source_language), asked))
                continue
            chosen = [(next(swapped), lang) for _, lang in example.programs]
            if example.kind == "multi":
                control.append(self.several(chosen))
            else:
                [(problem, lang)] = chosen
                control.append(self.single(problem, lang, example.kind))
        return control

    def references(self, problems: Sequence[Problem], sizes: Mapping[str, Mapping[str, int]]) -> list[Problem]:
        """The source programs the control's translations show: the shortest few, so that a prompt that also
        states the asked problem is not cut (or dropped) more often than a translation's."""
        source = self.config.source_language
        solved = sorted((p for p in problems if _solved(p, source)), key=lambda p: sizes[p.task_id][source])
        return solved[: min(REFERENCES, max(len(problems) // 10, 1))]

    def single_sizes(self, problems: Sequence[Problem]) -> dict[str, dict[str, int]]:
        """task_id -> language -> answer tokens of its ``single`` example, for the mixture's languages."""
        languages = self.config.languages
        singles = [self.single(p, lang, "single") for p in problems for lang in languages if _solved(p, lang)]
        sizes: dict[str, dict[str, int]] = {}
        for single, tokens in zip(singles, self.answer_tokens(singles), strict=True):
            sizes.setdefault(single.task_id, {})[single.language] = tokens
        return sizes

    def referenced_sizes(self, problems: Sequence[Problem], references: Sequence[Problem]) -> dict:
        """task_id -> ``REFERENCED + language`` -> answer tokens of its control ``translation`` (after the cut
        to max_length, which its longer prompt makes deeper), shown the median of the ``references``."""
        source, reference = self.config.source_language, references[len(references) // 2]
        targets = [lang for lang in self.config.languages if lang != source]
        asked = [(p, lang) for p in problems if p not in references for lang in targets if _solved(p, lang)]
        made = [self.referenced((reference, source), pair) for pair in asked]
        sizes: dict[str, dict[str, int]] = {}
        for (problem, lang), tokens in zip(asked, self.answer_tokens(made), strict=True):
            sizes.setdefault(problem.task_id, {})[REFERENCED + lang] = tokens
        return sizes

    def answer_tokens(self, examples: Sequence[Example]) -> list[int]:
        """The answer tokens each example trains on (the closing EOS included), after the cut to max_length."""
        if not examples:
            return []
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

    def referenced(self, shown: tuple[Problem, str], asked: tuple[Problem, str]) -> Example:
        """The control's ``translation``: a source program in the prompt, as a translation shows one, and a
        different problem, stated, to solve in the target language."""
        (reference, source), (problem, language) = shown, asked
        variant = problem.variants[language]
        prompt = reference_prompt(source, reference.parallel_group()[source], variant, self.tokenizer, self.style)
        programs = ((reference.task_id, source), (problem.task_id, language))
        return Example(problem.task_id, language, "translation", prompt, render_target(variant.solution), programs)

    def translation(self, problem: Problem, language: str) -> Example:
        programs = problem.parallel_group()
        source = self.config.source_language
        prompt = translation_prompt(source, programs[source], language, self.tokenizer, self.style)
        shown = ((problem.task_id, source), (problem.task_id, language))
        return Example(problem.task_id, language, "translation", prompt, render_target(programs[language]), shown)


def decouple(
    slots: Sequence[tuple[str, str, int, str]], sizes: Mapping[str, Mapping[str, int]], rng: random.Random
) -> list[str]:
    """A task_id for each ``(language, account, length, size key)`` slot, with no task in two languages.

    ``sizes`` gives each task's answer length per language it is solved in (and per further size key:
    the slot's answer as its example will cut it). First each language
    claims tasks in proportion to its slots (one per slot while there are enough): its slots, sorted
    by length, are cut into that many equal groups, each of which claims the unclaimed task nearest
    the group's mean length; languages claim in turn, longest groups first. Then each slot takes, of
    its language's tasks used fewer than twice their even share of times, the one that keeps the
    running length of its (language, account) closest to the slots': so the examples counted under
    each account (the mixture's languages) keep their length budget.
    """
    claimed = _claim([(lang, length) for lang, _, length, _ in slots], sizes, rng)
    counts = Counter(lang for lang, _, _, _ in slots)
    cap = {lang: 2 * math.ceil(counts[lang] / len(pool)) for lang, pool in claimed.items()}
    used: Counter[str] = Counter()
    drift: Counter[tuple[str, str]] = Counter()  # length taken minus length asked, so far
    taken = []
    for lang, account, length, key in slots:
        candidates = [task for task in claimed[lang] if used[task] < cap[lang]]
        best = min(candidates, key=lambda task: abs(drift[lang, account] + sizes[task][key] - length))
        used[best] += 1
        drift[lang, account] += sizes[best][key] - length
        taken.append(best)
    return taken


def _claim(
    slots: Sequence[tuple[str, int]], sizes: Mapping[str, Mapping[str, int]], rng: random.Random
) -> dict[str, list[str]]:
    """Disjoint pools of tasks, one per language of ``slots``, spanning its slots' lengths (see decouple)."""
    counts = Counter(lang for lang, _ in slots)
    if len(sizes) < len(counts):
        raise ValueError(f"non-parallel control: {len(sizes)} programs cannot serve {len(counts)} languages one each")
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
