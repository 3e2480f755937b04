"""Composed problems: an input, a filter, a transformation, an aggregation and an output format.

A :class:`Pipeline` is one choice of the five parts (:mod:`.parts`, :mod:`.results`) with their constants. Its
*composition* is the parts' kinds without the constants (``list/compare/scale/sum/plain``): the skill
it exercises, and the cluster statistics resample. Some pairs of parts never appear together in
training (:data:`HELD_OUT_PAIRS`: unseen compositions of trained parts) and some parts never appear
in training at all (:data:`HELD_OUT_PARTS`: held-out skills).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from lit_parallel.problems.synthetic.family import Shape, Values
from lit_parallel.problems.synthetic.ir import If, Solution
from lit_parallel.problems.synthetic.parts import ALPHABET, Filter, Input, K, Transform
from lit_parallel.problems.synthetic.results import Aggregate, Format

INPUTS = {"list": 4, "range": 2, "interval": 2, "digits": 2, "word": 3}
"""Input kinds and their weights when drawing (so are the tables below): the mix of difficulty."""
FILTERS = {"all": 4, "compare": 4, "parity": 2, "multiple": 2, "between": 1, "outside": 1, "position": 1}
WORD_FILTERS = {"vowel": 2, "letter": 3, "letters": 1, "position": 1}
TRANSFORMS = {"same": 12, "scale": 1, "shift": 1, "square": 1, "abs": 1, "affine": 1, "lastdigit": 1}
TRANSFORMS |= {"half": 1, "cap": 1, "floor": 1, "digitsum": 1}
AGGREGATES = {"sum": 14, "count": 12, "product": 1, "max": 1, "min": 1, "first": 1, "last": 1, "line": 1}
AGGREGATES |= {"lines": 1, "any": 1, "all": 1, "both": 1, "running": 2}
WORD_AGGREGATES = {"count": 6, "first": 1, "last": 1, "keep": 1, "any": 1, "all": 1}
FORMATS = {"plain": 10, "label": 1, "threshold": 1, "parity": 1}
ORDERED = {"first", "last", "line", "lines", "running", "keep"}
"""Aggregations whose answer depends on the order of the items."""
LABELS = ("Answer:", "Result:", "Total:", "Value:")
WORDS = (("YES", "NO"), ("Yes", "No"), ("TRUE", "FALSE"))

HELD_OUT_PARTS = frozenset({"aggregate:running", "transform:digitsum"})
"""Parts no training instance has: their compositions make the held-out-skills eval set."""
HELD_OUT_PAIRS = tuple(
    frozenset(pair)
    for pair in (
        ("filter:parity", "aggregate:max"),
        ("filter:compare", "aggregate:product"),
        ("filter:multiple", "aggregate:sum"),
        ("filter:between", "aggregate:line"),
        ("filter:outside", "aggregate:count"),
        ("filter:position", "aggregate:min"),
        ("filter:vowel", "aggregate:first"),
        ("filter:letter", "aggregate:any"),
        ("input:range", "transform:square"),
        ("input:interval", "transform:scale"),
        ("input:digits", "aggregate:max"),
        ("transform:abs", "aggregate:last"),
        ("transform:shift", "format:label"),
        ("input:list", "format:parity"),
    )
)
"""Pairs of parts, each trained, never trained together: the unseen-compositions eval set."""


@dataclass(frozen=True)
class Pipeline:
    """One composed problem's program: the five parts with their constants."""

    input: Input
    filter: Filter
    transform: Transform
    aggregate: Aggregate
    format: Format

    @property
    def kinds(self) -> tuple[str, str, str, str, str]:
        return (self.input.kind, self.filter.kind, self.transform.kind, self.aggregate.kind, self.format.kind)

    @property
    def composition(self) -> str:
        """The kinds of the parts, e.g. ``list/compare/scale/sum/plain``: the cluster."""
        return "/".join(self.kinds)

    @cached_property
    def labels(self) -> frozenset[str]:
        roles = ("input", "filter", "transform", "aggregate", "format")
        return frozenset(f"{role}:{kind}" for role, kind in zip(roles, self.kinds, strict=True))

    @property
    def held_out_part(self) -> bool:
        return bool(self.labels & HELD_OUT_PARTS)

    @property
    def held_out_pair(self) -> bool:
        return any(pair <= self.labels for pair in HELD_OUT_PAIRS)

    @property
    def difficulty(self) -> int:
        """1 with at most one part beyond the plainest, else 2."""
        extra = (self.filter.kind != "all", self.transform.kind != "same", self.format.kind not in ("plain", "words"))
        return 1 if sum(extra) <= 1 else 2

    @cached_property
    def question(self) -> Filter:
        """The filter the program tests: for "is every item ...?" the items that fail (they settle it)."""
        return self.filter.negated() if self.aggregate.kind == "all" else self.filter

    def values(self, v: Values) -> list:
        """The Python reference of what the loop hands the aggregation."""
        items = self.input.items(v)
        kept = [(i, x) for i, x in enumerate(items) if self.question.keeps(x, i)]
        if self.input.kind == "word":
            return [i + 1 if self.aggregate.kind in ("first", "last") else x for i, x in kept]
        return [self.transform.value(x) for _, x in kept]

    def reference(self, v: Values) -> object:
        result = self.aggregate.combine(self.values(v))
        if isinstance(result, list):
            return result
        return "NONE" if result is None else self.format.show(result)

    def solution(self) -> Solution:
        return Solution(self.input.fields(), self.body())

    def body(self) -> list:
        x = self.input.item
        pre, y = self.transform.apply(x)
        if self.input.kind == "word" and self.aggregate.kind in ("first", "last"):
            y = K + 1
        step = pre + self.aggregate.step(y)
        guarded = step if self.question.kind == "all" else [If(self.question.test(x, K), step)]
        finish = self.aggregate.finish(self.format)
        return [*self.transform.setup(), *self.aggregate.setup(), *self.input.loop(guarded), *finish]

    def shape(self, r: random.Random) -> Shape:
        """The problem: statement parts worded from ``r``, input layout, solution, inputs and reference."""
        noun = {"word": "letter", "digits": "digit"}.get(self.input.kind, "number")
        intro, input_text, constraints = self.input.describe(r)
        question = self.aggregate.kind in ("any", "all")
        kept = self.filter.phrase() if self.filter.kind != "all" else ""
        sentences = [
            intro,
            "" if question else self.filter.sentence(r, noun),
            self.transform.sentence(r, noun, bool(kept)),
            self.aggregate.sentence(r, noun, kept),
            self.format.sentence(),
        ]
        counts = {"a": "n"} if self.input.kind == "list" else {}
        return Shape(
            task=[" ".join(s for s in sentences if s)],
            input=input_text,
            output=self.aggregate.output(self.format, bool(kept)),
            constraints=constraints,
            lines=self.input.lines(),
            body=self.body(),
            sample=self.input.sample,
            reference=self.reference,
            edges=[*self.input.edges(), *self._nothing_kept(r)],
            title=self.composition,
            counts=counts,
        )

    def _nothing_kept(self, r: random.Random) -> list[Values]:
        """An input that the filter leaves empty, when a few random ones hold one (the NONE case)."""
        for _ in range(30):
            v = self.input.sample(r)
            if not any(self.filter.keeps(x, i) for i, x in enumerate(self.input.items(v))):
                return [v]
        return []


def valid(kinds: tuple[str, ...]) -> bool:
    """Whether the parts make a sound problem (every variable read, every answer well defined)."""
    source, filt, transform, aggregate, form = kinds
    if source == "word":
        if filt not in WORD_FILTERS or transform != "same" or aggregate not in WORD_AGGREGATES:
            return False
    elif filt not in FILTERS or aggregate not in AGGREGATES or (filt == "position" and source != "list"):
        return False
    if aggregate in ("count", "any", "all", "keep") and (transform != "same" or filt == "all"):
        return False
    if aggregate == "all" and not Filter(filt).negatable:
        return False
    if aggregate in ORDERED and source == "digits":
        return False
    if aggregate == "product" and transform not in ("same", "shift", "abs"):
        return False
    if transform == "abs" and source not in ("list", "interval"):
        return False
    if source == "digits" and transform in ("lastdigit", "digitsum"):
        return False
    return form in formats(aggregate)


def formats(aggregate: str) -> Mapping[str, int]:
    """The formats an aggregation's result may be printed in, with their weights."""
    if aggregate in ("any", "all"):
        return {"words": 1}
    return FORMATS if Aggregate(aggregate).scalar else {"plain": 1}


def domain(kinds: tuple[str, ...]) -> str:
    """The numbers' range: small for products, natural where a remainder or digits are taken."""
    if kinds[3] == "product":
        return "small"
    if kinds[2] in ("lastdigit", "half", "digitsum") or kinds[0] in ("range", "digits"):
        return "natural"
    return "signed"


def draw_kinds(r: random.Random) -> tuple[str, str, str, str, str]:
    """A sound composition, each part drawn by its weight (redrawn until :func:`valid`)."""
    while True:
        source = _pick(r, INPUTS)
        word = source == "word"
        kinds = (
            source,
            _pick(r, WORD_FILTERS if word else FILTERS),
            "same" if word else _pick(r, TRANSFORMS),
            _pick(r, WORD_AGGREGATES if word else AGGREGATES),
            _pick(r, FORMATS),
        )
        allowed = formats(kinds[3])
        if kinds[4] not in allowed:
            kinds = (*kinds[:4], next(iter(allowed)))
        if valid(kinds):
            return kinds


def with_constants(kinds: tuple[str, ...], r: random.Random) -> Pipeline:
    """The pipeline of composition ``kinds`` with its constants drawn from ``r``."""
    source = Input(kinds[0], domain(kinds))
    lo, hi = source.bounds()
    return Pipeline(
        source,
        Filter(kinds[1], _filter_args(kinds[1], lo, hi, r)),
        Transform(kinds[2], _transform_args(kinds[2], lo, hi, r)),
        Aggregate(kinds[3]),
        Format(kinds[4], _format_args(kinds[4], r)),
    )


def draw(r: random.Random, accept: Callable[[Pipeline], bool]) -> Pipeline:
    """A pipeline drawn from ``r`` that ``accept`` takes."""
    while True:
        pipeline = with_constants(draw_kinds(r), r)
        if accept(pipeline):
            return pipeline


def _pick(r: random.Random, weights: Mapping[str, int]) -> str:
    return r.choices(list(weights), list(weights.values()))[0]


def _filter_args(kind: str, lo: int, hi: int, r: random.Random) -> tuple:
    # A constant from the middle half of the items' range: the filter keeps some and drops some.
    inner = r.randint(lo + (hi - lo) // 4, hi - (hi - lo) // 4)
    match kind:
        case "compare":
            return (r.choice([">", "<", ">=", "<=", "==", "!="]), inner)
        case "parity" | "position":
            return (r.random() < 0.5,)
        case "multiple":
            # Never 2: "divisible by 2" is the parity filter's program.
            return (r.choice([3, 4] if hi <= 9 else [3, 4, 5, 7]), r.random() < 0.8)
        case "between" | "outside":
            return (inner, r.randint(inner + 1, hi - (hi - lo) // 8))
        case "letter":
            return (r.choice(ALPHABET), r.random() < 0.75)
        case "letters":
            return ("".join(sorted(r.sample(ALPHABET, r.randint(2, 3)))),)
        case _:
            return ()


def _transform_args(kind: str, lo: int, hi: int, r: random.Random) -> tuple:
    match kind:
        case "scale":
            return (r.randint(2, 9),)
        case "shift":
            return (r.choice([-1, 1]) * r.randint(1, 9),)
        case "affine":
            return (r.randint(2, 5), r.choice([-1, 1]) * r.randint(1, 9))
        case "cap" | "floor":
            return (r.randint(lo + (hi - lo) // 4, hi - (hi - lo) // 4),)
        case _:
            return ()


def _format_args(kind: str, r: random.Random) -> tuple:
    match kind:
        case "label":
            return (r.choice(LABELS),)
        case "threshold":
            return (r.randint(0, 50),)
        case "words":
            return r.choice(WORDS)
        case _:
            return ()
