"""The corpus: a training set and three eval sets, split by program, not by task.

- ``train``: composed problems (:mod:`.pipeline`) of the trained parts, every one a program no other
  training instance has, and every 8th instance one of the trained task families (:mod:`.families`).
- ``unseen`` (a): programs never trained, of trained skills: a trained composition with other
  constants, or a family's program held back (a quarter of each family's programs).
- ``compositions`` (b): compositions with a pair of parts that no training instance has together.
- ``heldout`` (c): the held-out families and the compositions with a held-out part.

A composed program is held back when the hash of its text says so (one in ten), so whether a program
is ever trained does not depend on the corpus's size or seed. No eval instance's reference program,
in any language, equals a training instance's (whitespace normalised): one that would is left out
(none is in the default corpus: no composed program is a family's, and a set repeats no composed
program). Everything is drawn from ``random.Random(f"{seed}/{set}/{index}")``; a training instance depends
on the ones before it (none repeats a program), an ``unseen`` one on the training set's compositions.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from lit_parallel.caching import cached_value, source_fingerprint
from lit_parallel.errors import DataError
from lit_parallel.execution import TestCase, executor
from lit_parallel.problems import schema
from lit_parallel.problems.schema import Problem, Variant
from lit_parallel.problems.synthetic import families  # noqa: F401  (registers every family)
from lit_parallel.problems.synthetic.backends import backends
from lit_parallel.problems.synthetic.family import REGISTRY, Shape
from lit_parallel.problems.synthetic.ir import Solution
from lit_parallel.problems.synthetic.pipeline import Pipeline, draw, with_constants

LANGUAGES = ("python", "cpp", "java", "javascript", "go", "php", "ruby", "lua", "perl", "ocaml")
"""Every instance has a reference solution in each of these."""
SETS = ("train", "unseen", "compositions", "heldout")
EVAL_SETS = SETS[1:]
HELD_OUT = ("leap-year", "prefix-sums", "above-average", "fizzbuzz", "collatz", "gcd-lcm", "palindrome", "runs")
"""Families that appear in no training instance: their instances are in the ``heldout`` set."""
TRAINED = tuple(name for name in REGISTRY if name not in HELD_OUT)
TESTS = 6
"""io tests per instance: the example first, then edge cases, then random inputs."""
EVAL_SHARE = 10
"""Each eval set holds one instance per 10 training instances."""
FAMILY_EVERY = 8
"""Every 8th instance of ``train`` and ``unseen`` is a task family's; every 4th of ``heldout``."""
HELD_FAMILY_EVERY = 4
UNSEEN_SHARE = 10
"""One composed program in 10 (by the hash of its text) is never trained."""
FAMILY_UNSEEN_SHARE = 4
"""A quarter of each family's programs (rounded down) is never trained."""
ATTEMPTS = 2000
"""Draws a composed instance may take before the corpus is declared too small to fill its set."""
TASK_PREFIX = "synthetic/"
BACKENDS = backends()
PYTHON = BACKENDS["python"]


def normalized(code: str) -> str:
    """A program with its whitespace normalised: the text two programs are compared by."""
    return " ".join(code.split())


def held_back(code: str) -> bool:
    """Whether a composed program belongs to the never-trained share (by the hash of its text)."""
    return int(hashlib.sha256(normalized(code).encode()).hexdigest(), 16) % UNSEEN_SHARE == 0


@dataclass(frozen=True)
class Corpus:
    """``size`` training instances and ``size // EVAL_SHARE`` in each eval set, drawn from ``seed``."""

    size: int = 6000
    seed: int = 0

    def counts(self) -> dict[str, int]:
        return {"train": self.size, **{name: self.size // EVAL_SHARE for name in EVAL_SETS}}

    def problems(self, sets: Collection[str] = SETS) -> list[Problem]:
        """The instances of ``sets``, set by set in the order of :data:`SETS`, each in index order
        (so any first N of a set spread over its families and compositions)."""
        generated = _generate(self)
        return [p for name in SETS if name in sets for p in generated[name]]


@cache
def _generate(corpus: Corpus) -> dict[str, list[Problem]]:
    # Generating the default corpus takes seconds of CPU, which every stage's every process would pay.
    return cached_value("synthetic", code_fingerprint(), f"{corpus.size}-{corpus.seed}", partial(_draw, corpus))


@cache
def code_fingerprint() -> str:
    """The code a corpus is made by: this package, and the classes its problems are made of."""
    here = Path(__file__).parent
    return source_fingerprint([*here.rglob("*.py"), Path(schema.__file__), Path(executor.__file__)])


def _draw(corpus: Corpus) -> dict[str, list[Problem]]:
    out: dict[str, list[Problem]] = {}
    compositions: list[tuple[str, ...]] = []
    for name, count in corpus.counts().items():
        taken: set[str] = set()
        out[name] = [_instance(name, j, corpus, compositions, taken) for j in range(count)]
    seen = {normalized(code) for p in out["train"] for code in p.parallel_group().values()}
    for name in EVAL_SETS:
        out[name] = [p for p in out[name] if seen.isdisjoint(map(normalized, p.parallel_group().values()))]
    return out


def _instance(name: str, j: int, corpus: Corpus, compositions: list[tuple[str, ...]], taken: set[str]) -> Problem:
    """Instance ``j`` of set ``name``. ``compositions`` collects the training set's (an ``unseen``
    instance is one of them); ``taken`` holds the set's composed programs so far (none repeats)."""
    if name in ("train", "unseen") and j % FAMILY_EVERY == 0:
        families = TRAINED if name == "train" else tuple(n for n in TRAINED if unseen(n))
        family = families[(j // FAMILY_EVERY) % len(families)]
        return family_instance(family, name, j, corpus.seed, lambda key: (key in unseen(family)) == (name == "unseen"))
    if name == "heldout" and j % HELD_FAMILY_EVERY == 0:
        family = HELD_OUT[(j // HELD_FAMILY_EVERY) % len(HELD_OUT)]
        return family_instance(family, name, j, corpus.seed, lambda key: True)
    r = _rng(corpus.seed, name, j)
    for _ in range(ATTEMPTS):
        pipeline = with_constants(r.choice(compositions), r) if name == "unseen" else draw(r, DRAWS[name])
        solution = pipeline.solution()
        code = normalized(PYTHON.program(solution))
        wanted = HELD_BACK.get(name)
        if code in taken or code in family_programs() or (wanted is not None and held_back(code) != wanted):
            continue
        taken.add(code)
        if name == "train":
            compositions.append(pipeline.kinds)
        return pipeline_instance(pipeline, solution, name, j, corpus.seed, r)
    raise DataError(f"synthetic:{corpus.size}: too small a corpus to draw {name} instance {j} (tried {ATTEMPTS})")


DRAWS: dict[str, Callable[[Pipeline], bool]] = {
    "train": lambda p: not (p.held_out_part or p.held_out_pair),
    "compositions": lambda p: p.held_out_pair and not p.held_out_part,
    "heldout": lambda p: p.held_out_part,
}
"""Which compositions each set draws from (``unseen`` takes the training set's)."""
HELD_BACK = {"train": False, "unseen": True}
"""Whether a set's composed programs are the never-trained share (other sets: either)."""


@cache
def family_programs() -> frozenset[str]:
    """The python programs of every family's every parameter choice: no composed problem has one, so
    that a program's split is its family's."""
    return frozenset(normalized(solutions(name, key)["python"]) for name in REGISTRY for key in parameters(name))


def _rng(seed: int, name: str, j: int) -> random.Random:
    return random.Random(f"{seed}/{name}/{j}")


Params = tuple[tuple[str, object], ...]


def family_instance(name: str, set_name: str, j: int, seed: int, allowed: Callable[[Params], bool]) -> Problem:
    """Instance ``j`` of ``set_name``: a problem of family ``name`` whose parameters ``allowed`` takes."""
    r = _rng(seed, set_name, j)
    while True:
        params, shape = REGISTRY[name].shape(r)
        key = tuple(sorted(params.items()))
        if allowed(key):
            break
    title = shape.title or f"{name} ({', '.join(f'{k}={v}' for k, v in params.items())})"
    family = REGISTRY[name]
    return _problem(shape, solutions(name, key), r, set_name, j, seed, family.difficulty, title, name)


def pipeline_instance(
    pipeline: Pipeline, solution: Solution, set_name: str, j: int, seed: int, r: random.Random
) -> Problem:
    programs = programs_of(solution)
    shape = pipeline.shape(r)
    return _problem(shape, programs, r, set_name, j, seed, pipeline.difficulty, shape.title, pipeline.composition)


def _problem(
    shape: Shape,
    programs: dict[str, str],
    r: random.Random,
    set_name: str,
    j: int,
    seed: int,
    difficulty: int,
    title: str,
    cluster: str,
) -> Problem:
    task_id = f"{TASK_PREFIX}{set_name}/{j:05d}"
    tests = draw_tests(shape, r, task_id)
    statement = render(shape, r, tests[0])
    variants = {lang: Variant(lang, statement, programs[lang], tests) for lang in LANGUAGES}
    split = "train" if set_name == "train" else "eval"
    return Problem(task_id, statement, variants, split, difficulty, title, f"synthetic@{seed}:{set_name}/{j}", cluster)


def programs_of(solution: Solution) -> dict[str, str]:
    return {lang: backend.program(solution) for lang, backend in BACKENDS.items()}


@cache
def solutions(name: str, params: Params) -> dict[str, str]:
    """The reference programs of a family for fixed parameters (the same for all its instances, so a
    compiled language compiles each once)."""
    return programs_of(REGISTRY[name].build(**dict(params)).solution())


def parameters(name: str) -> list[Params]:
    """Every parameter choice of family ``name``."""
    options = REGISTRY[name].options
    return [tuple(sorted(zip(options, values, strict=True))) for values in itertools.product(*options.values())]


@cache
def unseen(name: str) -> frozenset[Params]:
    """The parameters of family ``name`` whose programs are never trained: those of the quarter (rounded
    down) of its distinct programs with the smallest hashes (some parameters change the statement only)."""
    program = {key: normalized(solutions(name, key)["python"]) for key in parameters(name)}
    ranked = sorted(set(program.values()), key=lambda code: hashlib.sha256(code.encode()).digest())
    held = set(ranked[: len(ranked) // FAMILY_UNSEEN_SHARE])
    return frozenset(key for key, code in program.items() if code in held)


def draw_tests(shape: Shape, rng: random.Random, what: str) -> tuple[TestCase, ...]:
    """TESTS distinct cases: one random input (the statement's example: one with some output), the edge
    cases, random ones."""
    example = shape.sample(rng)
    for _ in range(200):
        if shape.stdout(example).strip():
            break
        example = shape.sample(rng)
    inputs = [example, *shape.edges]
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


def set_of(task_id: str) -> str | None:
    """The set (train, unseen, compositions, heldout) of a synthetic task id, None for any other task."""
    if not task_id.startswith(TASK_PREFIX):
        return None
    return task_id[len(TASK_PREFIX) :].split("/", 1)[0]
