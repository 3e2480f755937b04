"""Program identity, and the share of training programs kept for the warm start.

A corpus may state one program under several task_ids (reworded statements, other constants in the tests),
so ``task_id`` does not say which problems hold the same program. Two problems hold the same program when
any of their reference solutions are equal as text, whitespace normalised; the problems linked that way,
directly or through others, form one *program*. The non-parallel control uses a program in one language
only, and the warm start and the arms never share one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Literal

from lit_parallel.problems.schema import Problem

Part = Literal["all", "warm", "arms"]
PARTS = ("all", "warm", "arms")
BUCKETS = 10_000
"""The warm start's share is counted in these many hash buckets of a program's identity."""


def normalized(code: str) -> str:
    """A program's text with its whitespace normalised: what two programs are compared by."""
    return " ".join(code.split())


def solutions(problem: Problem) -> list[str]:
    """The normalised reference solutions of every language of ``problem``."""
    return [normalized(v.solution) for v in problem.variants.values() if v.solution is not None]


def program_ids(problems: Sequence[Problem]) -> dict[str, str]:
    """task_id -> its program's identity: the hash of the smallest normalised solution among the problems
    that share a solution with it (directly or through others), so it does not depend on their order."""
    parent = {p.task_id: p.task_id for p in problems}

    def root(task: str) -> str:
        while parent[task] != task:
            parent[task] = parent[parent[task]]
            task = parent[task]
        return task

    owner: dict[str, str] = {}
    for problem in problems:
        for code in solutions(problem):
            other = owner.setdefault(code, problem.task_id)
            parent[root(other)] = root(problem.task_id)
    smallest: dict[str, str] = {}
    for problem in problems:
        for code in solutions(problem) or [problem.task_id]:
            key = root(problem.task_id)
            smallest[key] = min(smallest.get(key, code), code)
    return {p.task_id: hashlib.sha256(smallest[root(p.task_id)].encode()).hexdigest()[:16] for p in problems}


def distinct_programs(problems: Sequence[Problem]) -> list[Problem]:
    """The first problem of each program, in order."""
    ids, seen, out = program_ids(problems), set(), []
    for problem in problems:
        if ids[problem.task_id] not in seen:
            seen.add(ids[problem.task_id])
            out.append(problem)
    return out


def in_warm_share(program_id: str, share: float) -> bool:
    """Whether a program belongs to the warm start: by its identity's hash, so the same program is in the
    same part in every corpus size, seed and order."""
    return int(program_id, 16) % BUCKETS < round(share * BUCKETS)


def select_part(problems: Sequence[Problem], evaluated: Iterable[Problem], part: Part, share: float) -> list[Problem]:
    """The training problems of ``part``: ``all``; ``warm``, the programs in the warm start's ``share`` that
    share no solution with an ``evaluated`` problem; ``arms``, every other one."""
    if part == "all":
        return list(problems)
    held_out = {code for problem in evaluated for code in solutions(problem)}
    ids = program_ids(problems)
    blocked = {ids[p.task_id] for p in problems if not held_out.isdisjoint(solutions(p))}
    warm = {i for i in ids.values() if in_warm_share(i, share) and i not in blocked}
    return [p for p in problems if (ids[p.task_id] in warm) == (part == "warm")]
