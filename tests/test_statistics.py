"""The experiment's statistics: the bootstrap covers what it should, pairing is what narrows a difference,
a seed fixes every interval, and a verdict follows its interval."""

import numpy as np
import pytest

from lit_parallel.experiment.statistics import (
    BETTER,
    CANNOT_TELL,
    WORSE,
    Interval,
    agree,
    interval,
    percentile_interval,
    pool,
    problem_scores,
    ran_to_end,
    resample_means,
    subtract,
    verdict,
)


def test_the_interval_covers_the_true_pass_rate_about_95_times_in_100():
    rng = np.random.default_rng(1)
    truth, problems, trials = 0.3, 80, 300
    covered = 0
    for trial in range(trials):
        found = interval(list(rng.random(problems) < truth), resamples=1000, seed=trial)
        covered += found.low <= truth <= found.high
    # the percentile bootstrap of a binary mean slightly undercovers at this size; 300 trials: +-2.5 points
    assert 0.88 <= covered / trials <= 0.99


def test_the_interval_narrows_with_more_problems_and_is_a_point_when_every_problem_agrees():
    rng = np.random.default_rng(2)
    widths = [(lambda iv: iv.high - iv.low)(interval(list(rng.random(n) < 0.5))) for n in (25, 400)]
    assert widths[1] < widths[0] / 2.5  # ~1/sqrt(n): 4x narrower for 16x the problems
    assert interval([0.0] * 30) == Interval(0.0, 0.0, 0.0, 30)
    assert interval({}) is None
    assert Interval(-1e-17, -0.0004, 0.25, 3).format(signed=True) == "+0.000 [+0.000, +0.250]"


def test_pairing_per_problem_sees_a_difference_that_independent_resampling_cannot():
    rng = np.random.default_rng(3)
    before = {f"p{i:02d}": float(x) for i, x in enumerate(rng.random(40) < 0.5)}
    after = dict(before)
    for task in [t for t, v in before.items() if v == 0.0][:6]:  # RL fixes 6 problems and breaks none
        after[task] = 1.0
    paired = interval(subtract(after, before))
    assert paired.mean == pytest.approx(6 / 40) and paired.low > 0 and verdict(paired) == BETTER
    # The same two cells resampled independently: the problems' own spread swamps the difference.
    a, b = ([s[t] for t in sorted(s)] for s in (after, before))
    unpaired = percentile_interval(np.subtract(a, b), resample_means(a, seed=1) - resample_means(b, seed=2))
    assert unpaired.mean == pytest.approx(paired.mean)
    assert unpaired.low < 0 < unpaired.high and verdict(unpaired) == CANNOT_TELL
    assert unpaired.high - unpaired.low > 1.5 * (paired.high - paired.low)


def test_a_seed_fixes_the_interval_whatever_order_the_problems_came_in():
    rng = np.random.default_rng(4)
    scores = {f"p{i:03d}": float(x) for i, x in enumerate(rng.random(50))}  # shares, as pooled samples give
    shuffled = dict(reversed(list(scores.items())))
    assert interval(scores, seed=7) == interval(shuffled, seed=7) == interval(scores, seed=7)
    assert interval(scores, seed=7) != interval(scores, seed=8)


def test_verdicts_follow_the_interval_and_agree_only_when_every_comparison_does():
    assert verdict(Interval(0.1, 0.01, 0.2, 9)) == BETTER
    assert verdict(Interval(-0.1, -0.2, -0.01, 9)) == WORSE
    assert verdict(Interval(0.1, 0.0, 0.2, 9)) == CANNOT_TELL  # an interval that touches 0 holds it
    assert verdict(None) == CANNOT_TELL
    assert agree([BETTER, BETTER]) == BETTER
    assert agree([BETTER, CANNOT_TELL]) == agree([BETTER, WORSE]) == agree([]) == CANNOT_TELL


def test_problem_scores_pool_samples_and_seeds_and_leave_sandbox_failures_out():
    def rec(task, verdict_, language="go"):
        return {"language": language, "task_id": task, "verdict": verdict_, "passed": verdict_ == "passed"}

    seed0 = [rec("a", "passed"), rec("a", "failed"), rec("b", "sandbox_error"), rec("b", "passed")]
    seed1 = [rec("a", "passed"), rec("a", "passed"), rec("b", "compile_error"), rec("c", "passed")]
    first, second = problem_scores(seed0)["go"], problem_scores(seed1)["go"]
    assert first == {"a": 0.5, "b": 1.0}  # the sandbox's failure is no evidence about the model
    assert pool([first, second]) == {"a": 0.75, "b": 0.5}  # c: measured at one seed only
    assert subtract(second, first) == {"a": 0.5, "b": -1.0}
    assert problem_scores(seed1, ran_to_end)["go"] == {"a": 1.0, "b": 0.0, "c": 1.0}
