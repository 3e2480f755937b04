"""pass@k: the unbiased estimator of Chen et al. (2021) and its aggregation per language."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n, of which c are correct, passes.

    1 - C(n-c, k) / C(n, k), computed as a product so that large n neither overflows nor loses
    precision.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """Mean pass@k over problems, each given as (n samples, c correct)."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("no problems to average")
    return float(np.mean(values))


def pass_at_k_by_language(records: Iterable[tuple[str, str, bool]], ks: Sequence[int]) -> dict[str, dict[int, float]]:
    """pass@k per language from (language, problem id, passed) records, one per sample.

    A k larger than a problem's number of samples is left out for that language.
    """
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for language, problem, passed in records:
        cell = counts[language][problem]
        cell[0] += 1
        cell[1] += int(passed)
    table = {}
    for language, problems in sorted(counts.items()):
        fewest = min(n for n, _ in problems.values())
        table[language] = {k: mean_pass_at_k(problems.values(), k) for k in ks if k <= fewest}
    return table
