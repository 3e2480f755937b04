"""`lit-parallel experiment` on the tiny configs: two arms, one seed, every stage for real; the report's
numbers are the run's own; a re-run skips what is done; bad experiment files are named."""

import json
import re
import shutil
import statistics
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_parallel.cli import main
from lit_parallel.errors import DataError
from lit_parallel.experiment import load_experiment, plan

TINY = Path(__file__).resolve().parents[1] / "configs" / "experiments" / "tiny.yaml"
EXPERIMENTS = sorted(TINY.parent.glob("*.yaml"))


def tiny_experiment(tmp_path: Path, **changes) -> Path:
    config = {**yaml.safe_load(TINY.read_text()), "output_dir": str(tmp_path / "run"), **changes}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cell_means(report: str, arm: str, stage: str) -> list[float]:
    """The pass@1 means of a row of the report's first table."""
    row = re.search(rf"^\| {arm} \| {stage} \| (.*) \|$", report, re.MULTILINE)
    assert row, f"no row {arm}/{stage} in\n{report}"
    return [float(cell.split(" ")[0]) for cell in row.group(1).split(" | ")]


def test_tiny_experiment_runs_every_stage_and_reports_its_own_numbers(tmp_path, capsys):
    path = tiny_experiment(tmp_path)
    assert main(["experiment", "--config", str(path)]) == 0
    out = tmp_path / "run"
    report = (out / "report.md").read_text()
    for header in ("## pass@1 per language", "## Transfer", "## Programs that compile", "## Alignment"):
        assert header in report
    assert (out / "pass_at_1.png").stat().st_size and (out / "alignment.png").stat().st_size
    assert list((out / "tb").glob("events.out.tfevents.*"))

    # Every pass@1 cell is the value in that stage's eval.json (one seed: the mean is the value).
    for arm, stage, directory in [
        ("base", "base", out / "base" / "seed=0"),
        ("baseline", "sft", out / "baseline" / "seed=0" / "sft"),
        ("parallel", "rl", out / "parallel" / "seed=0" / "rl"),
    ]:
        metrics = json.loads((directory / "eval.json").read_text())["metrics"]
        expected = [round(metrics[f"pass@1/{lang}"], 3) for lang in ("lua", "python")]
        assert cell_means(report, arm, stage) == expected
    # The table of programs that ran to their end: the passed + failed verdict shares of eval.json.
    ran = report[report.index("## Programs that compile and run") :]
    metrics = json.loads((out / "parallel" / "seed=0" / "rl" / "eval.json").read_text())["metrics"]
    shares = [
        metrics.get(f"verdicts/{lang}/passed", 0) + metrics.get(f"verdicts/{lang}/failed", 0)
        for lang in ("lua", "python")
    ]
    assert cell_means(ran, "parallel", "rl") == [round(share, 3) for share in shares]
    # The transfer cell of lua: after RL minus after SFT, per arm.
    for arm in ("baseline", "parallel"):
        rl, sft = (json.loads((out / arm / "seed=0" / s / "eval.json").read_text())["metrics"] for s in ("rl", "sft"))
        row = re.search(rf"^\| {arm} \(sft\) \| (\S+) ", report, re.MULTILINE)
        assert float(row.group(1)) == pytest.approx(rl["pass@1/lua"] - sft["pass@1/lua"], abs=1e-3)
    # The alignment row of an arm is its align.json's mean-pooled top-1 curve.
    top1 = json.loads((out / "parallel" / "seed=0" / "sft" / "align.json").read_text())["curves"]["mean"]["mean"][
        "top1"
    ]
    row = re.search(r"^\| parallel \| sft \| (\d+) \| (\S+) \|", report, re.MULTILINE)
    assert int(row.group(1)) == max(range(len(top1)), key=top1.__getitem__)
    assert float(row.group(2)) == pytest.approx(max(top1), abs=1e-3)

    # A re-run does nothing but the report; a stage whose outputs are gone runs again, alone.
    capsys.readouterr()
    (out / "parallel" / "seed=0" / "rl" / "evaluate.done.json").unlink()
    assert main(["experiment", "--config", str(path)]) == 0
    log = capsys.readouterr().out
    assert log.count("done before, skipped") == len(plan(load_experiment(path))) - 1
    assert re.search(r"parallel seed=0 rl evaluate: \d+ s", log)


def test_an_interrupted_fit_resumes_from_its_checkpoint(tmp_path):
    arms = {"parallel": "configs/tiny/sft.yaml"}
    sft_args = ["--trainer.max_steps=4", "--trainer.callbacks=[]"]
    path = tiny_experiment(tmp_path, arms=arms, rl_config=None, alignment=None, sft_args=sft_args)
    fit = next(s for s in plan(load_experiment(path)) if s.kind == "fit")
    # A run killed after step 3: its checkpoint (the tiny config checkpoints every 3 steps) and no adapter.
    assert main([*fit.argv, "--trainer.max_steps=3"]) == 0
    shutil.rmtree(fit.directory / "adapters" / "final")
    assert main(["experiment", "--config", str(path)]) == 0
    resumed = Path(json.loads(fit.marker.read_text())["resumed_from"])
    assert torch.load(resumed, weights_only=False)["global_step"] == 3
    # The 4th step was trained, once: its loss is logged by the resumed run only.
    events = EventAccumulator(str(fit.directory / "tb" / "version_0")).Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [0, 1, 2, 3]
    assert (fit.directory / "adapters" / "final" / "adapter_config.json").exists()


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_parse_and_plan(experiment):
    stages = plan(load_experiment(experiment))
    assert {s.kind for s in stages} >= {"fit", "evaluate"}
    assert statistics.mean(len(s.argv) for s in stages) > 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arms": {"a": "configs/tiny/missing.yaml"}}, r"experiment\.yaml:\d+: field 'a': no such config"),
        ({"seedz": [1]}, r"experiment\.yaml:\d+: field 'seedz' is unknown"),
        ({"arms": {"a": 3}}, r"experiment\.yaml:\d+: field 'arms\.a': must be a config path"),
    ],
)
def test_bad_experiment_files_name_the_place(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        load_experiment(tiny_experiment(tmp_path, **change))
