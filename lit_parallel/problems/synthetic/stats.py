"""``data stats`` of the synthetic corpus: per set, its instances, clusters, distinct programs per
language, and how many of its instances have a program equal to a training instance's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from lit_parallel.problems.schema import Problem
from lit_parallel.problems.synthetic.generate import SETS, normalized, set_of


def set_table(problems: Sequence[Problem]) -> tuple[list[str], list[list[object]]] | None:
    """Header (a column per synthetic set among ``problems``) and rows: instances, clusters, instances
    of which any language's program equals a program of a training instance loaded with them ("-"
    when none is), then distinct programs per language. Programs are compared whitespace-normalised.
    None when no problem is synthetic."""
    by_set: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        name = set_of(problem.task_id)
        if name is not None:
            by_set[name].append(problem)
    if not by_set:
        return None
    sets = [name for name in SETS if name in by_set]
    trained = {normalized(code) for p in by_set.get("train", []) for code in p.parallel_group().values()}

    def same_as_train(name: str) -> object:
        if name == "train" or not trained:
            return "-"
        return sum(not trained.isdisjoint(map(normalized, p.parallel_group().values())) for p in by_set[name])

    rows = [
        ["instances", *(len(by_set[name]) for name in sets)],
        ["clusters", *(len({p.cluster for p in by_set[name]}) for name in sets)],
        ["same program as a train instance", *(same_as_train(name) for name in sets)],
    ]
    for lang in sorted({lang for group in by_set.values() for p in group for lang in p.variants}):
        programs = [{normalized(p.variants[lang].solution) for p in by_set[s] if lang in p.variants} for s in sets]
        rows.append([f"distinct {lang} programs", *map(len, programs)])
    return ["", *sets], rows
