"""A synthetic parallel corpus that measures generalization: thousands of distinct stdin/stdout
programs in ten languages, split by program (see :mod:`.generate`).

The dataset SPEC is ``synthetic[:N][@SEED][#SELECT]``: N training instances (default 6000) and N/10
in each of the three eval sets, drawn from SEED (default 0). SELECT is a comma-separated list of
``train``, ``unseen`` (a: unseen programs of trained skills), ``compositions`` (b: unseen compositions
of trained parts), ``heldout`` (c: held-out skills), ``trained`` (train and unseen: what a fit trains on
and evaluates), and family names (only their instances, of the sets named or all); the instances kept
are the same as in the whole corpus.
"""

from __future__ import annotations

import re

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import Problem
from lit_parallel.problems.synthetic.family import REGISTRY
from lit_parallel.problems.synthetic.generate import EVAL_SETS, HELD_OUT, LANGUAGES, SETS, Corpus, set_of

SPEC = re.compile(r"synthetic(?::(?P<size>[^@#]*))?(?:@(?P<seed>[^#]*))?(?:#(?P<select>.*))?")
SELECTIONS = {**{name: (name,) for name in SETS}, "trained": ("train", "unseen")}
SPEC_HELP = (
    "synthetic[:N][@SEED][#trained|train|unseen|compositions|heldout|FAMILY,...] (the generated corpus: N "
    "training programs, N/10 in each eval set, 10 languages)"
)


def is_synthetic(spec: str) -> bool:
    return SPEC.fullmatch(spec) is not None


def parse_synthetic(spec: str) -> tuple[Corpus, list[str], list[str]]:
    """The corpus, the sets and the families (empty: every one) ``spec`` names; DataError says what is
    wrong with it, a corpus too small to fill a named set included."""
    match = SPEC.fullmatch(spec)
    if match is None:
        raise DataError(f"{spec}: a synthetic dataset is {SPEC_HELP.split(' (')[0]}")
    corpus = Corpus(_number(spec, match["size"], "size", Corpus.size, 1), _number(spec, match["seed"], "seed", 0, 0))
    sets, names = _select(spec, match["select"])
    empty = [name for name in sets if corpus.counts()[name] == 0]
    if empty:
        raise DataError(
            f"{spec}: a corpus of {corpus.size} training instances has no {empty[0]} instances "
            f"(each eval set holds N/10: N must be at least 10)"
        )
    return corpus, sets, names


def load_synthetic(spec: str) -> list[Problem]:
    """The problems ``spec`` names, each with a reference solution in every one of LANGUAGES."""
    corpus, sets, names = parse_synthetic(spec)
    problems = corpus.problems(sets)
    if not names:
        return problems
    missing = set(names) - {p.cluster for p in problems}
    if missing:
        raise DataError(f"{spec}: a corpus of {corpus.size} training instances has no instance of {min(missing)!r}")
    return [p for p in problems if p.cluster in names]


def _number(spec: str, text: str | None, what: str, default: int, minimum: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < minimum:
        kind = "a positive integer" if minimum else "a non-negative integer"
        raise DataError(f"{spec}: the {what} must be {kind}, not {text!r}")
    return int(text)


def _select(spec: str, select: str | None) -> tuple[list[str], list[str]]:
    """(the sets to generate, the families to keep of them)."""
    if select is None:
        return list(SETS), []
    sets, names = [], []
    for term in (t.strip() for t in select.split(",")):
        if term in SELECTIONS:
            sets += [name for name in SELECTIONS[term] if name not in sets]
        elif term in REGISTRY:
            names.append(term)
        else:
            known = ", ".join(SELECTIONS) + ", or a family: " + ", ".join(REGISTRY)
            raise DataError(f"{spec}: unknown eval set or family {term!r} (known: {known})")
    return sets or list(SETS), names


__all__ = [
    "EVAL_SETS",
    "HELD_OUT",
    "LANGUAGES",
    "REGISTRY",
    "SETS",
    "SPEC_HELP",
    "Corpus",
    "is_synthetic",
    "load_synthetic",
    "parse_synthetic",
    "set_of",
]
