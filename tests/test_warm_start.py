"""The tiny experiment with a warm start: its arms, from the data each fit stage of its plan would train on (each
stage's own LightningCLI config, instantiated, nothing trained): the warm start shares no program with
any arm's SFT or RL data or with any eval set; the control and Parallel-SFT have the same examples per
language and format; every arm starts from the warm start; the rollouts follow the experiment's seed."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from datamodules import MixtureBuilder
from datamodules.parallel_mixture import split_by_task
from datamodules.programs import solutions
from lit_parallel.cli import main
from lit_parallel.commands import experiment as experiment_command
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.errors import DataError
from lit_parallel.experiment import load_experiment, plan
from lit_parallel.experiment.pipeline import WARM, in_process, merged
from lit_parallel.problems.loading import load_problems

TINY = Path(__file__).resolve().parents[1] / "configs" / "experiments" / "tiny.yaml"


WARM_START = {"examples": 8, "share": 0.3}
"""Before the arms: python and lua (the source, the target, the evaluated), on programs no arm sees."""


def tiny(tmp_path: Path, **changes) -> Path:
    """The tiny experiment with a warm start."""
    config = {**yaml.safe_load(TINY.read_text()), "output_dir": str(tmp_path / "run"), "warm_start": WARM_START}
    config.update(changes)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def data_of(argv: tuple[str, ...]) -> object:
    """The DataModule a fit stage's command line builds, its problems loaded."""
    datamodule = build_lightning_cli(argv[1:], run=False).datamodule
    datamodule.load()
    return datamodule


def examples_of(datamodule: object) -> list:
    mixture = MixtureBuilder(datamodule.mixture, datamodule.tokenizer, datamodule.style, datamodule.hparams.max_length)
    return mixture.build(datamodule.train_problems)


def programs(problems, shown=None) -> set[str]:
    """The normalised solutions, in every language, of ``problems`` (of those a mixture showed)."""
    return {code for p in problems if shown is None or p.task_id in shown for code in solutions(p)}


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory):
    experiment = load_experiment(tiny(tmp_path_factory.mktemp("warm")))
    fits = {(s.arm, s.point): s for s in plan(experiment) if s.kind == "fit"}
    return experiment, fits, {key: data_of(stage.argv) for key, stage in fits.items()}


def test_the_warm_start_shares_no_program_with_any_arm_or_eval_set(tiny_plan):
    experiment, _, data = tiny_plan
    warm = data[WARM, WARM]
    warm_examples = examples_of(warm)
    taught = programs(warm.train_problems, {task for e in warm_examples for task, _ in e.programs})
    assert {e.language for e in warm_examples} == {"python", "lua"}  # the source, the targets, the evaluated
    assert {e.kind for e in warm_examples} == {"source", "single"}
    # Monolingual: no program of the warm start in two languages.
    languages = {}
    for example in warm_examples:
        for task, lang in example.programs:
            languages.setdefault(task, set()).add(lang)
    assert all(len(langs) == 1 for langs in languages.values())
    for (arm, point), datamodule in data.items():
        if arm == WARM:
            continue
        shown = {task for e in examples_of(datamodule) for task, _ in e.programs} if point == "sft" else None
        trained = programs(datamodule.train_problems, shown)
        assert trained and not taught & trained, (arm, point)
        assert not taught & programs(datamodule.eval_problems), (arm, point)
    measurements = [
        experiment.evaluation,
        *(merged(experiment.evaluation, o) for o in experiment.also_evaluate.values()),
    ]
    for options in measurements:
        specs = options.get("dataset", ["bundled"])
        evaluated = split_by_task([p for spec in specs for p in load_problems(spec)], [])[1]
        assert evaluated and not taught & programs(evaluated), specs


def test_the_control_and_parallel_sft_get_the_same_examples_per_language_and_format(tiny_plan):
    _, _, data = tiny_plan
    parallel, control = (examples_of(data[arm, "sft"]) for arm in ("parallel", "control"))
    counts = Counter((e.language, e.kind) for e in parallel)
    assert counts[("lua", "translation")] and counts[("ruby", "single")]
    assert Counter((e.language, e.kind) for e in control) == counts


def test_every_arm_starts_from_the_warm_start_and_rollouts_follow_the_seed(tmp_path):
    stages = plan(load_experiment(tiny(tmp_path, seeds=[0, 3])))
    for seed in (0, 3):
        fits = [s for s in stages if s.kind == "fit" and s.seed == seed]
        assert fits[0].arm == WARM  # before every arm of its seed
        warm_adapter = fits[0].directory / "adapters" / "final"
        for stage in fits[1:]:
            argv = " ".join(stage.argv)
            assert "--data.init_args.mixture.part=arms" in argv
            if stage.point == "sft":
                assert f"--model.init_args.model.adapter={warm_adapter}" in argv
            else:
                assert f"--model.init_args.sampling.seed={seed}" in argv


def test_without_a_warm_start_the_arms_use_every_training_program(tmp_path):
    stages = plan(load_experiment(tiny(tmp_path, warm_start=None)))
    assert all(s.arm != WARM and "mixture.part" not in " ".join(s.argv) for s in stages)


@pytest.mark.parametrize(
    ("warm_start", "message"),
    [
        ({"examples": 0}, "field 'warm_start.examples': a positive integer"),
        ({"share": 1.5}, "field 'warm_start.share': a number between 0 and 1"),
        ({"budget": 3}, "field 'warm_start': a mapping of"),
    ],
)
def test_a_bad_warm_start_is_named(tmp_path, warm_start, message):
    with pytest.raises(DataError, match=message):
        load_experiment(tiny(tmp_path, warm_start=warm_start))


def test_a_warm_started_experiment_runs_and_rl_from_the_start_is_measured_from_the_warm_model(tmp_path):
    arms = {"parallel": "configs/tiny/sft.yaml", "rl_only": None}
    path = tiny(tmp_path, arms=arms, against=["rl_only"], alignment=None, also_evaluate={})
    assert experiment_command.execute(load_experiment(path), run_command=in_process(main)) == 0
    out = tmp_path / "run"
    saved = (out / "parallel" / "seed=0" / "sft" / "tb" / "version_0" / "config.yaml").read_text()
    assert str(out / WARM / "seed=0" / "adapters" / "final") in saved
    # RL straight from the start of every arm: its transfer is after RL minus the warm model, per problem.
    report = (out / "report.md").read_text()
    warm, rl = (
        json.loads((out / d / "eval.json").read_text())["metrics"] for d in ("warm/seed=0", "rl_only/seed=0/rl")
    )
    row = re.search(r"^\| rl_only \(warm\) \| (\S+) ", report, re.MULTILINE)
    assert row and float(row.group(1)) == pytest.approx(rl["pass@1/python"] - warm["pass@1/python"], abs=1e-3)
    assert re.search(r"^\| warm \| warm \| 1 \|", report, re.MULTILINE)
