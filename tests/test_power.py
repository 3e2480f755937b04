"""Sizing an experiment from a pilot: the spread read off a pilot's per-seed, per-problem values is the one
that made them; the power of the interval is what 1,000 simulated experiments of the method give; the
smallest detectable effect and the cheapest design follow from it; the report states its own design's."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lit_parallel.experiment import load_experiment
from lit_parallel.experiment.comparisons import Measured, comparisons, primary
from lit_parallel.experiment.power import (
    Spread,
    cheapest,
    designs,
    most_sensitive,
    pilot_spread,
    power,
    smallest_effect,
    spread_of,
)
from lit_parallel.experiment.statistics import combine
from lit_parallel.experiment.verdicts import primary_lines

SPREAD, PER_CLUSTER = Spread(run=0.03, cluster=0.05, problem=0.4), 2
TINY = Path(__file__).resolve().parents[1] / "configs" / "experiments" / "tiny.yaml"


def simulate(rng, experiments, seeds, clusters, effect, spread=SPREAD):
    """(experiments, seeds, problems) paired values of the normal two-way model: effect + run + cluster + noise."""
    problems = clusters * PER_CLUSTER
    run = rng.normal(0, spread.run, (experiments, seeds, 1))
    shared = np.repeat(rng.normal(0, spread.cluster, (experiments, 1, clusters)), PER_CLUSTER, axis=-1)
    return effect + run + shared + rng.normal(0, spread.problem, (experiments, seeds, problems))


def test_a_pilot_gives_back_the_spread_that_made_it():
    # A pilot far larger than a real one (200 seeds), so the moment estimates are close: within 20%.
    values = simulate(np.random.default_rng(0), 1, seeds=200, clusters=200, effect=0.02)[0]
    tasks = [f"t{i}" for i in range(values.shape[1])]
    clusters = {task: f"c{i // PER_CLUSTER}" for i, task in enumerate(tasks)}
    found, per_cluster = spread_of(values, tasks, clusters)
    assert per_cluster == PER_CLUSTER
    for name in ("run", "cluster", "problem"):
        assert getattr(found, name) == pytest.approx(getattr(SPREAD, name), rel=0.2), name
    # The same from the report's form of a comparison: seed -> task -> paired value.
    per_seed = {seed: dict(zip(tasks, row, strict=True)) for seed, row in enumerate(values)}
    again, per_cluster_again = pilot_spread(per_seed, clusters)
    assert per_cluster_again == per_cluster
    assert [again.run, again.cluster, again.problem] == pytest.approx([found.run, found.cluster, found.problem])


@pytest.mark.parametrize(("seeds", "clusters", "effect"), [(4, 50, 0.05), (6, 150, 0.04), (4, 50, 0.0)])
def test_the_power_is_what_simulated_experiments_of_the_method_give(seeds, clusters, effect):
    values = simulate(np.random.default_rng(seeds + clusters), 1000, seeds, clusters, effect)
    found = combine(values, np.arange(clusters * PER_CLUSTER) // PER_CLUSTER)
    rate = float(np.mean((found.low > 0) | (found.high < 0)))
    # 1,000 experiments: at most +-0.032 at 2 standard errors; the method errs on the safe side at 0.
    assert rate == pytest.approx(power(effect, seeds, clusters, SPREAD, PER_CLUSTER), abs=0.04)


def test_the_smallest_effect_has_80_percent_power_and_shrinks_with_seeds():
    four, eight = (smallest_effect(SPREAD, s, 150, PER_CLUSTER) for s in (4, 8))
    assert power(four, 4, 150, SPREAD, PER_CLUSTER) == pytest.approx(0.8, abs=1e-3)
    assert 0 < eight < four
    # Run-to-run spread bounds what problems can buy: more problems help less than more seeds here.
    assert smallest_effect(SPREAD, 4, 1500, PER_CLUSTER) > eight


def test_the_cheapest_design_has_the_power_and_the_budget_picks_the_most_sensitive():
    found = designs(SPREAD, PER_CLUSTER, 3600, 2.0, seeds=(3, 4, 6, 8), problems=(100, 300, 600), effect=0.06)
    best = cheapest(found)
    assert best is not None and best.power >= 0.8
    assert all(d.power < 0.8 for d in found if d.seconds < best.seconds)
    assert cheapest(found, target=1.0) is None
    within = most_sensitive(found, budget_seconds=6 * 3600 * 1.2)
    assert within.seconds <= 6 * 3600 * 1.2
    assert all(d.smallest_effect >= within.smallest_effect for d in found if d.seconds <= 6 * 3600 * 1.2)


def test_the_report_gives_the_designs_minimum_detectable_effect_from_its_own_spread():
    experiment = load_experiment(TINY)
    experiment = replace(experiment, seeds=[0, 1, 2, 3], targets=["go", "php"], against=None)
    rng, tasks = np.random.default_rng(5), [f"t{i}" for i in range(60)]
    measured = Measured(clusters={task: f"c{i // 3}" for i, task in enumerate(tasks)})
    for arm in experiment.arms:
        for point in ("sft", "rl"):
            for seed in experiment.seeds:
                rate = 0.3 + 0.02 * seed + (0.1 if point == "rl" else 0.0)
                cell = {lang: {t: float(rng.random() < rate) for t in tasks} for lang in ("python", "go", "php")}
                measured.cells[arm, point][seed] = cell
    endpoint = primary(comparisons(measured, experiment), experiment)
    lines = primary_lines(measured, experiment, endpoint)
    line = next(line for line in lines if line.startswith("Minimum detectable effect"))
    spread, per_cluster = pilot_spread(endpoint.per_seed, measured.clusters)
    expected = smallest_effect(spread, 4, 20, per_cluster)
    assert per_cluster == 3 and 0 < expected < 1
    assert f"(4 seeds, 20 clusters): ±{expected:.3f} at 80% power" in line
