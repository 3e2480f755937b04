"""The experiment's statistics on hand-built outcomes, no model: over 1,000 simulated experiments the false
verdicts stay under 7% with run-to-run spread and the power is what the method's sampling distribution
predicts; each part of the interval is the t interval it should be; clusters are the unit; seeds must be
shared; verdicts, floors and Bonferroni follow their rules."""

import numpy as np
import pytest
from scipy import stats

from lit_parallel.experiment.power import Spread, power
from lit_parallel.experiment.statistics import (
    BETTER,
    CANNOT_TELL,
    TOO_FEW,
    WORSE,
    Estimate,
    Interval,
    at_floor,
    bonferroni,
    cluster_codes,
    cluster_means,
    clusters_of,
    combine,
    estimate,
    machinery_failures,
    pool,
    problem_scores,
    ran_to_end,
    seed_interval,
    subtract,
    verdict,
)

# The setting: 3 targets, 100 problems in 50 clusters of 2, 4 seeds; pass@1 near 0.3; the run-level
# standard deviation of the transfer difference 0.03 (the largest the issue simulated); clusters that favour
# the treatment by their own amount (sd 0.05), the same at every seed.
SEEDS, PROBLEMS, PER_CLUSTER, TARGETS, RATE, RUN_SD, CLUSTER_SD = 4, 100, 2, 3, 0.3, 0.03, 0.05
EXPERIMENTS = 1000
CODES = np.arange(PROBLEMS) // PER_CLUSTER


def simulate(rng: np.random.Generator, effect: float, run_sd: float = RUN_SD, cluster_sd: float = CLUSTER_SD):
    """Per experiment, seed and problem: the treatment's transfer minus the control's, mean over targets, each
    from one greedy sample's pass or fail per (arm, before/after RL, target). The treatment after RL passes
    with ``RATE + effect`` plus its run's and its cluster's shift; the three other cells with ``RATE``."""
    clusters = PROBLEMS // PER_CLUSTER
    shared = np.repeat(rng.normal(0, cluster_sd, (EXPERIMENTS, 1, clusters)), PER_CLUSTER, axis=-1)
    run = rng.normal(0, run_sd, (EXPERIMENTS, SEEDS, 1))
    after = np.clip(RATE + effect + shared + run, 0, 1)[..., None]
    shape = (EXPERIMENTS, SEEDS, PROBLEMS, TARGETS)
    treated_after = rng.random(shape) < after
    treated_before, control_after, control_before = (rng.random((3, *shape)) < RATE).astype(float)
    return ((treated_after - treated_before) - (control_after - control_before)).mean(axis=-1)


def verdict_rate(values: np.ndarray) -> float:
    found = combine(values, CODES)
    return float(np.mean((found.low > 0) | (found.high < 0)))


def predicted_power(effect: float, run_sd: float = RUN_SD, cluster_sd: float = CLUSTER_SD, shared: bool = True):
    """The method's chance of a verdict (``power.power``: its sampling distribution under the normal two-way
    model) for the spread of ``simulate``: one problem's noise is the variance of its mean over targets of the
    four Bernoulli cells beyond the run's and the cluster's shifts."""
    variance = (RATE + effect) * (1 - RATE - effect) - cluster_sd**2 - run_sd**2 + 3 * RATE * (1 - RATE)
    spread = Spread(run=run_sd, cluster=cluster_sd, problem=float(np.sqrt(variance / TARGETS)))
    return power(effect, SEEDS, PROBLEMS // PER_CLUSTER, spread, PER_CLUSTER, shared=shared)


def test_with_no_true_effect_and_run_to_run_spread_false_verdicts_stay_under_7_percent():
    rate = verdict_rate(simulate(np.random.default_rng(30), effect=0.0))
    # Measured 0.028 here, the integral predicts 0.042 (the method errs on the safe side); 1,000 experiments:
    # +-0.013 at 2 standard errors.
    assert rate <= 0.07
    assert rate == pytest.approx(predicted_power(0.0), abs=0.025)


def test_a_true_effect_of_005_is_detected_at_the_rate_the_method_predicts():
    rate, predicted = verdict_rate(simulate(np.random.default_rng(31), effect=0.05)), predicted_power(0.05)
    assert predicted == pytest.approx(0.195, abs=0.01)  # four seeds against this spread find 0.05 rarely
    assert rate == pytest.approx(predicted, abs=0.05)  # measured 0.195; +-0.025 at 2 standard errors


def test_the_power_integral_is_the_noncentral_t_when_no_problem_is_shared():
    # Without shared problems, the interval is the t interval on S-1 df: its power is the noncentral t's.
    effect, seeds = 0.05, SEEDS
    noise = ((RATE + effect) * (1 - RATE - effect) - RUN_SD**2 + 3 * RATE * (1 - RATE)) / TARGETS / PER_CLUSTER
    sd = np.sqrt(RUN_SD**2 / seeds + noise / (seeds * PROBLEMS // PER_CLUSTER))
    quantile = stats.t.ppf(0.975, seeds - 1)
    noncentral = stats.nct.sf(quantile, seeds - 1, effect / sd) + stats.nct.cdf(-quantile, seeds - 1, effect / sd)
    assert predicted_power(effect, cluster_sd=0.0, shared=False) == pytest.approx(noncentral, abs=0.005)


def test_the_old_pooled_bootstrap_would_fail_where_this_holds():
    # The finding, reproduced: seeds pooled per problem and problems resampled alone (the report's
    # method before) give false verdicts beyond the bound once runs differ; the interval over seeds does not.
    values = simulate(np.random.default_rng(32), effect=0.0)
    pooled = values.mean(axis=1)  # each problem's mean over seeds
    rows = np.random.default_rng(0).integers(0, PROBLEMS, size=(400, PROBLEMS))
    low, high = np.percentile(pooled[:, rows].mean(axis=-1), [2.5, 97.5], axis=-1)
    assert np.mean((low > 0) | (high < 0)) > 0.07  # measured 0.11 (0.094-0.110 at three RNG seeds)
    assert verdict_rate(values) < 0.07  # measured 0.043


def test_runs_alone_give_the_t_interval_on_s_minus_1_degrees_of_freedom():
    # Every problem alike within a seed: all the spread is between runs (the issue's +0.110 / +0.020 ...).
    shifts = np.array([0.110, 0.020, 0.080, 0.050])
    values = np.repeat(shifts[:, None], 40, axis=1)
    found = combine(values, np.arange(40) // 2)
    half = stats.t.ppf(0.975, 3) * shifts.std(ddof=1) / 2
    assert float(found.mean) == pytest.approx(shifts.mean())
    assert (float(found.low), float(found.high)) == pytest.approx((shifts.mean() - half, shifts.mean() + half))
    assert float(found.problems) == pytest.approx(0.0, abs=1e-9)
    # Two seeds: one degree of freedom, the two baseline runs span far more than their pooled interval.
    two = combine(np.repeat(shifts[:2, None], 40, axis=1), np.arange(40))
    assert float(two.low) < -0.5 and float(two.high) > 0.6


def test_shared_problems_give_the_t_interval_over_clusters():
    # Every seed alike: all the spread is between the clusters the seeds share.
    rng = np.random.default_rng(5)
    by_cluster = rng.normal(0.1, 0.2, 25)
    values = np.tile(np.repeat(by_cluster, 2), (3, 1))  # 3 seeds, 25 clusters of 2 problems
    found = combine(values, np.arange(50) // 2)
    half = stats.t.ppf(0.975, 24) * by_cluster.std(ddof=1) / 5
    assert float(found.runs) == pytest.approx(0.0, abs=1e-9)
    assert (float(found.low), float(found.high)) == pytest.approx((by_cluster.mean() - half, by_cluster.mean() + half))


def test_clusters_are_the_unit_within_a_seed():
    rng = np.random.default_rng(6)
    values = (rng.random(40) < 0.5).astype(float)
    twins = np.repeat(values[:20], 2)  # 20 clusters of two problems that always agree
    alone, paired_twins = seed_interval(twins, np.arange(40)), seed_interval(twins, np.arange(40) // 2)
    assert alone.mean == paired_twins.mean == twins.mean()
    # Resampling problems treats twins as independent evidence: ~1/sqrt(2) of the honest width.
    ratio = (alone.high - alone.low) / (paired_twins.high - paired_twins.low)
    assert 0.6 < ratio < 0.82
    # Clusters of unequal size: the mean over clusters is the mean over problems.
    codes = cluster_codes([f"t{i}" for i in range(6)], {"t0": "a", "t1": "a", "t2": "a", "t3": "b", "t4": "c"})
    assert codes.tolist() == [0, 0, 0, 1, 2, 3]
    row = np.array([[1.0, 0.0, 0.0, 1.0, 0.5, 0.25]])
    assert cluster_means(row, codes).mean() == pytest.approx(row.mean())


def test_an_estimate_rests_on_the_problems_every_seed_measured():
    per_seed = {
        0: {"a": 0.1, "b": 0.2, "c": 0.3},
        1: {"a": 0.0, "b": 0.4, "c": 0.2},
        2: {"a": 0.2, "b": 0.1},  # c dropped at seed 2 (a sandbox failure, say)
        3: {},  # measured nothing: not a seed of this comparison
    }
    found = estimate(per_seed, {"a": "x", "b": "x"})
    assert found.seeds == (0, 1, 2) and found.problems == 2 and found.clusters == 1
    assert [iv.mean for iv in found.per_seed] == pytest.approx([0.15, 0.2, 0.15])
    assert found.mean == pytest.approx(0.5 / 3)
    assert estimate({0: {"a": 1.0}, 1: {"b": 1.0}}, {}) is None
    one = estimate({4: {"a": 1.0, "b": 0.0}}, {})
    assert one.parts is None and one.seeds == (4,) and (one.low, one.high) == (0.0, 1.0)
    # The interval does not depend on the order the problems came in.
    shuffled = {seed: dict(reversed(list(scores.items()))) for seed, scores in per_seed.items()}
    assert estimate(shuffled, {"a": "x", "b": "x"}) == found


def test_verdicts_need_enough_seeds_and_follow_the_interval():
    def made(low: float, high: float, seeds: int) -> Estimate:
        return Estimate((low + high) / 2, low, high, tuple(range(seeds)), 10, 10, (), (0.0, 0.0))

    assert verdict(made(0.01, 0.2, 3), 3) == BETTER
    assert verdict(made(-0.2, -0.01, 3), 3) == WORSE
    assert verdict(made(0.0, 0.2, 3), 3) == CANNOT_TELL  # an interval that touches 0 holds it
    assert verdict(made(0.01, 0.2, 2), 3) == verdict(made(0.01, 0.2, 3), 4) == TOO_FEW
    assert verdict(None, 3) == CANNOT_TELL
    assert Interval(-1e-17, -0.0004, 0.25).format(signed=True) == "+0.000 [+0.000, +0.250]"


def test_a_floor_is_zero_on_every_problem_at_every_seed():
    assert at_floor([{"a": 0.0, "b": 0.0}, {"a": 0.0}])
    assert not at_floor([{"a": 0.0}, {"a": 0.5}])  # one seed learnt something: it can lose it
    assert not at_floor([]) and not at_floor([{}])  # nothing measured is no floor


def test_bonferroni_splits_the_error_over_the_comparisons():
    assert bonferroni(0.95, 10) == pytest.approx(0.995)
    assert bonferroni(0.95, 1) == bonferroni(0.95, 0) == pytest.approx(0.95)
    # Wider at the adjusted level.
    values = simulate(np.random.default_rng(7), effect=0.0)[0]
    wide, narrow = combine(values, CODES, bonferroni(0.95, 8)), combine(values, CODES)
    assert float(wide.high - wide.low) > 1.3 * float(narrow.high - narrow.low)


def test_records_give_the_same_estimate_as_the_arrays():
    # One simulated experiment written as records of a difference's two arms, read back the report's way.
    values = simulate(np.random.default_rng(8), effect=0.05)[0]  # seeds x problems, in [-2, 2] / 3 steps
    tasks = [f"p{i:03d}" for i in range(PROBLEMS)]
    per_seed = {}
    for seed, row in enumerate(values):
        records = []
        for task, value in zip(tasks, row, strict=True):
            wins = round((value + 2) * TARGETS)  # 0 .. 12 passes of 12 samples: mean = (value + 2) / 4
            for sample in range(4 * TARGETS):
                ok = sample < wins
                cluster = f"c{int(task[1:]) // PER_CLUSTER}"
                records.append(
                    {
                        "language": "go",
                        "task_id": task,
                        "cluster": cluster,
                        "passed": ok,
                        "verdict": "passed" if ok else "failed",
                    }
                )
        scores = problem_scores(records)["go"]
        per_seed[seed] = {task: 4 * score - 2 for task, score in scores.items()}
        clusters = clusters_of(records)
    found, arrays = estimate(per_seed, clusters), combine(values, CODES)
    assert (found.mean, found.low, found.high) == pytest.approx(
        (float(arrays.mean), float(arrays.low), float(arrays.high))
    )
    assert found.clusters == PROBLEMS // PER_CLUSTER


def test_problem_scores_pool_samples_and_leave_sandbox_failures_out():
    def rec(task, verdict_, language="go", **extra):
        return {"language": language, "task_id": task, "verdict": verdict_, "passed": verdict_ == "passed", **extra}

    seed0 = [rec("a", "passed", cluster="k"), rec("a", "failed"), rec("b", "sandbox_error"), rec("b", "passed")]
    seed1 = [rec("a", "passed"), rec("a", "passed"), rec("b", "compile_error"), rec("c", "passed")]
    first, second = problem_scores(seed0)["go"], problem_scores(seed1)["go"]
    assert first == {"a": 0.5, "b": 1.0}  # the sandbox's failure is no evidence about the model
    assert machinery_failures(seed0) == 1 and machinery_failures(seed1) == 0
    assert pool([first, second]) == {"a": 0.75, "b": 0.5}  # c: measured at one seed only
    assert subtract(second, first) == {"a": 0.5, "b": -1.0}
    assert problem_scores(seed1, ran_to_end)["go"] == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert clusters_of(seed0[:1] + seed1[3:]) == {"a": "k", "c": "c"}  # a record without one: its own task
