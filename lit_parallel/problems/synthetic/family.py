"""What a task family is: a function from parameters to one concrete problem shape.

A family module defines functions decorated with :func:`family`. Each takes the chosen parameters
and returns a :class:`Shape`: the statement's parts, the input layout and solution (in the tiny
language of :mod:`.ir`), a sampler of inputs, edge cases, and a Python reference that computes the
expected output independently of the solution (so verification checks one against the other).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lit_parallel.problems.synthetic.ir import INT, LIST, STR, Field, Solution, Var

Values = dict[str, object]
"""One test's input: a value per input variable."""


@dataclass
class Shape:
    """One concrete problem of a family, for fixed parameters."""

    task: Sequence[str]
    """Alternative phrasings of the task (one is drawn per instance)."""
    input: str
    output: str
    constraints: str
    lines: list[list[Var]]
    body: list
    sample: Callable[[random.Random], Values]
    reference: Callable[[Values], object]
    """Expected output: a value, or a list of lines."""
    edges: Sequence[Values] = ()
    title: str = ""
    counts: Mapping[str, str] = field(default_factory=dict)
    """For each input list, the int variable holding its length."""

    def solution(self) -> Solution:
        return Solution(
            [[Field(v, _var(self.counts.get(v.name), self.lines)) for v in line] for line in self.lines], self.body
        )

    def stdin(self, values: Values) -> str:
        rows = []
        for line in self.lines:
            cells = [" ".join(map(str, values[v.name])) if v.type == LIST else str(values[v.name]) for v in line]
            rows.append(" ".join(cells))
        return "\n".join(rows) + "\n"

    def stdout(self, values: Values) -> str:
        result = self.reference(values)
        lines = result if isinstance(result, list) else [result]
        return "\n".join(str(x) for x in lines) + "\n"


def _var(name: str | None, lines: list[list[Var]]) -> Var | None:
    return next((v for line in lines for v in line if v.name == name), None) if name else None


@dataclass(frozen=True)
class Family:
    """A task family: its name, skill, difficulty (1 trivial, 2 easy), parameter choices and builder."""

    name: str
    skill: str
    difficulty: int
    options: Mapping[str, tuple]
    build: Callable[..., Shape]

    def shape(self, rng: random.Random) -> tuple[dict, Shape]:
        params = {key: rng.choice(choices) for key, choices in self.options.items()}
        return params, self.build(**params)


REGISTRY: dict[str, Family] = {}


def family(name: str, skill: str, difficulty: int = 1, **options: Sequence) -> Callable:
    """Register the decorated builder as family ``name``; ``options`` are its parameters' choices."""

    def register(build: Callable[..., Shape]) -> Callable[..., Shape]:
        if name in REGISTRY:
            raise ValueError(f"family {name!r} defined twice")
        REGISTRY[name] = Family(name, skill, difficulty, {k: tuple(v) for k, v in options.items()}, build)
        return build

    return register


def ints(names: str) -> list[Var]:
    return [Var(n, INT) for n in names.split()]


def word(name: str = "s") -> Var:
    return Var(name, STR)


def int_list(name: str = "a") -> Var:
    return Var(name, LIST)


def loop(name: str = "i") -> Var:
    return Var(name, INT)


def sized(r: random.Random, lo: int, hi: int, n_max: int, n_min: int = 1) -> Values:
    """A list input: ``n`` and ``a`` with ``n_min <= n <= n_max`` elements in [lo, hi]."""
    n = r.randint(n_min, n_max)
    return {"n": n, "a": [r.randint(lo, hi) for _ in range(n)]}


def letters(r: random.Random, n_min: int = 1, n_max: int = 12, alphabet: str = "abcdefghijklmnopqrstuvwxyz") -> str:
    return "".join(r.choice(alphabet) for _ in range(r.randint(n_min, n_max)))


def yes_no(flag: bool, words: tuple[str, str] = ("YES", "NO")) -> str:
    return words[0] if flag else words[1]


LIST_INPUT = "The first line contains an integer n. The second line contains n integers a_1, a_2, ..., a_n."
WORD_INPUT = "A single line containing a word s of lowercase English letters."
