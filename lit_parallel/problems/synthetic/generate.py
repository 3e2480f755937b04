"""Instances of the families: statements, io tests and reference solutions in every language.

Everything is drawn from ``random.Random(f"{seed}/{family}/{index}")``, so an instance depends only
on the seed, its family and its index, never on which other families or sizes were asked for.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from lit_parallel.execution import TestCase
from lit_parallel.problems.schema import Problem, Variant
from lit_parallel.problems.synthetic import families  # noqa: F401  (registers every family)
from lit_parallel.problems.synthetic.backends import backends
from lit_parallel.problems.synthetic.family import REGISTRY, Family, Shape

LANGUAGES = ("python", "cpp", "java", "javascript", "go", "php", "ruby", "lua", "perl", "ocaml")
"""Every instance has a reference solution in each of these."""
HELD_OUT = ("leap-year", "prefix-sums", "above-average", "fizzbuzz", "collatz", "gcd-lcm", "palindrome", "runs")
"""Families that appear in no training instance: every instance of theirs is in the eval split."""
TESTS = 6
"""io tests per instance: the example first, then edge cases, then random inputs."""
EVAL_EVERY = 10
"""Every 10th instance of a trained family is in the eval split."""
HELD_OUT_SHARE = 18
"""Held-out families get one instance per 18 trained-family instances in all (and at least one each)."""
TASK_PREFIX = "synthetic/"


@dataclass(frozen=True)
class Corpus:
    """What to generate: ``size`` instances of the trained families, and the held-out ones beside them."""

    size: int = 2250
    seed: int = 0

    def counts(self) -> dict[str, int]:
        """Instances per family, in registry order."""
        trained = [name for name in REGISTRY if name not in HELD_OUT]
        held = list(HELD_OUT)
        return {**_spread(self.size, trained), **_spread(max(len(held), self.size // HELD_OUT_SHARE), held)}

    def problems(self, names: Sequence[str] | None = None) -> list[Problem]:
        """The instances of the families ``names`` (default: all), interleaved: instance 0 of every
        family, then instance 1, ..., so that any first N problems spread over the families."""
        wanted = set(REGISTRY if names is None else names)
        counts = {name: count for name, count in self.counts().items() if name in wanted}
        return [
            instance(REGISTRY[name], self.seed, k)
            for k in range(max(counts.values(), default=0))
            for name, count in counts.items()
            if k < count
        ]


def _spread(total: int, names: list[str]) -> dict[str, int]:
    base, extra = divmod(total, len(names))
    return {name: base + (i < extra) for i, name in enumerate(names)}


def split_of(family: Family, index: int) -> str:
    if family.name in HELD_OUT or index % EVAL_EVERY == EVAL_EVERY - 1:
        return "eval"
    return "train"


def instance(family: Family, seed: int, index: int) -> Problem:
    """Instance ``index`` of ``family`` for ``seed``: the same Problem every time."""
    rng = random.Random(f"{seed}/{family.name}/{index}")
    params, shape = family.shape(rng)
    tests = draw_tests(shape, rng, f"{family.name} {params}")
    statement = render(shape, rng, tests[0])
    programs = solutions(family.name, tuple(sorted(params.items())))
    variants = {lang: Variant(lang, statement, programs[lang], tests) for lang in LANGUAGES}
    task_id = f"{TASK_PREFIX}{family.name}/{index:04d}"
    title = shape.title or f"{family.name} ({', '.join(f'{k}={v}' for k, v in params.items())})"
    where = f"synthetic@{seed}:{family.name}/{index}"
    return Problem(task_id, statement, variants, split_of(family, index), family.difficulty, title, where)


@cache
def solutions(name: str, params: tuple[tuple[str, object], ...]) -> dict[str, str]:
    """The reference programs of a family for fixed parameters (the same for all its instances, so a
    compiled language compiles each once)."""
    solution = REGISTRY[name].build(**dict(params)).solution()
    return {lang: backend.program(solution) for lang, backend in backends().items()}


def draw_tests(shape: Shape, rng: random.Random, what: str) -> tuple[TestCase, ...]:
    """TESTS distinct cases: one random input (the statement's example), the edge cases, random ones."""
    inputs = [shape.sample(rng), *shape.edges]
    for _ in range(200):
        if len({shape.stdin(v) for v in inputs}) >= TESTS:
            break
        inputs.append(shape.sample(rng))
    cases: dict[str, TestCase] = {}
    for values in inputs:
        stdin = shape.stdin(values)
        cases.setdefault(stdin, TestCase(stdin, shape.stdout(values)))
    if len(cases) < TESTS:
        raise ValueError(f"{what}: only {len(cases)} distinct inputs")
    return tuple(cases.values())[:TESTS]


def render(shape: Shape, rng: random.Random, example: TestCase) -> str:
    """The statement: the task, then Input, Output, Constraints and Example sections."""
    return (
        f"{rng.choice(list(shape.task))}\n\nInput\n{shape.input}\n\nOutput\n{shape.output}\n\n"
        f"Constraints\n{shape.constraints}\n\nExample\nInput:\n{example.stdin.rstrip()}\nOutput:\n{example.stdout.rstrip()}"
    )


def family_of(task_id: str) -> str | None:
    """The family of a synthetic task id, None for any other task."""
    if not task_id.startswith(TASK_PREFIX):
        return None
    return task_id[len(TASK_PREFIX) :].rsplit("/", 1)[0]
