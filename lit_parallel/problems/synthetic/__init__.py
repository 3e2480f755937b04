"""A graded synthetic parallel corpus: small stdin/stdout problems solved in ten languages.

The dataset SPEC is ``synthetic[:N][@SEED][#SELECT]``: N instances of the trained families (default
2250, every 10th in the eval split) plus the held-out families' instances (N/18, all eval), drawn
from SEED (default 0). SELECT keeps ``trained`` or ``heldout`` families, or a comma-separated list
of family names; the instances kept are the same as in the whole corpus.
"""

from __future__ import annotations

import re

from lit_parallel.errors import DataError
from lit_parallel.problems.schema import Problem
from lit_parallel.problems.synthetic.generate import HELD_OUT, LANGUAGES, REGISTRY, Corpus, family_of

SPEC = re.compile(r"synthetic(?::(?P<size>[^@#]*))?(?:@(?P<seed>[^#]*))?(?:#(?P<select>.*))?")
SPEC_HELP = "synthetic[:N][@SEED][#trained|heldout|FAMILY,...] (the generated corpus, 57 families in 10 languages)"


def is_synthetic(spec: str) -> bool:
    return SPEC.fullmatch(spec) is not None


def parse_synthetic(spec: str) -> tuple[Corpus, list[str] | None]:
    """The corpus and the families (None: all) ``spec`` names; DataError says what is wrong with it."""
    match = SPEC.fullmatch(spec)
    if match is None:
        raise DataError(f"{spec}: a synthetic dataset is {SPEC_HELP.split(' (')[0]}")
    size = _number(spec, match["size"], "size", Corpus.size, minimum=1)
    seed = _number(spec, match["seed"], "seed", Corpus.seed, minimum=0)
    return Corpus(size, seed), _families(spec, match["select"])


def load_synthetic(spec: str) -> list[Problem]:
    """The problems ``spec`` names, each with a reference solution in every one of LANGUAGES."""
    corpus, names = parse_synthetic(spec)
    return corpus.problems(names)


def _number(spec: str, text: str | None, what: str, default: int, minimum: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < minimum:
        kind = "a positive integer" if minimum else "a non-negative integer"
        raise DataError(f"{spec}: the {what} must be {kind}, not {text!r}")
    return int(text)


def _families(spec: str, select: str | None) -> list[str] | None:
    if select is None:
        return None
    if select == "trained":
        return [name for name in REGISTRY if name not in HELD_OUT]
    if select == "heldout":
        return list(HELD_OUT)
    names = [name.strip() for name in select.split(",")]
    for name in names:
        if name not in REGISTRY:
            raise DataError(f"{spec}: unknown family {name!r} (known: trained, heldout, {', '.join(REGISTRY)})")
    return names


__all__ = [
    "HELD_OUT",
    "LANGUAGES",
    "REGISTRY",
    "SPEC_HELP",
    "Corpus",
    "family_of",
    "is_synthetic",
    "load_synthetic",
    "parse_synthetic",
]
