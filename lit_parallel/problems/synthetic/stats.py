"""``data stats`` per synthetic family: instances by split, languages, solution tokens."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from lit_parallel.problems.schema import Problem
from lit_parallel.problems.synthetic.generate import HELD_OUT, REGISTRY, family_of

HEADER = ["family", "skill", "level", "held out", "train", "eval", "languages", "python tokens", "all tokens"]


def family_table(problems: Sequence[Problem], tokenizer: object) -> tuple[list[str], list[list[object]]] | None:
    """Header and one row per family of the synthetic problems among ``problems``, plus a total row
    (None when there are none). Token counts are of the reference solutions, with ``tokenizer``."""
    by_family: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        name = family_of(problem.task_id)
        if name is not None:
            by_family[name].append(problem)
    if not by_family:
        return None
    rows, totals = [], [0] * 5
    for name, group in by_family.items():
        python = [p.variants["python"].solution for p in group if "python" in p.variants]
        every = [v.solution for p in group for v in p.variants.values() if v.solution is not None]
        counts = [
            sum(p.split == "train" for p in group),
            sum(p.split == "eval" for p in group),
            len({lang for p in group for lang in p.variants}),
            _tokens(tokenizer, python),
            _tokens(tokenizer, every),
        ]
        family = REGISTRY[name]
        rows.append([name, family.skill, family.difficulty, "yes" if name in HELD_OUT else "", *counts])
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
    totals[2] = len({lang for p in problems if family_of(p.task_id) for lang in p.variants})
    rows.append([f"{len(by_family)} families", "", "", sum(n in HELD_OUT for n in by_family), *totals])
    return HEADER, rows


def _tokens(tokenizer: object, texts: list[str]) -> int:
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0
