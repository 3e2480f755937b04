"""`lit-parallel experiment` on the tiny configs: two arms, one seed, every stage for real; the report's
numbers are the run's own; a re-run skips what is done; bad experiment files are named."""

import argparse
import json
import re
import shutil
import statistics
from collections import defaultdict
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_parallel.cli import main
from lit_parallel.commands import experiment as experiment_command
from lit_parallel.errors import DataError
from lit_parallel.experiment import load_experiment, plan, write_report
from lit_parallel.experiment.statistics import interval

TINY = Path(__file__).resolve().parents[1] / "configs" / "experiments" / "tiny.yaml"
EXPERIMENTS = sorted(TINY.parent.glob("*.yaml"))


def run_experiment(path: Path) -> int:
    """``lit-parallel experiment`` with its stages run in this process: the command runs each as a child
    process (a Python start with torch and Lightning: ~7 s a stage here), which
    test_an_interrupted_fit_resumes_from_its_checkpoint takes; the stages and files are the same."""
    return experiment_command.run(argparse.Namespace(config=path, dry_run=False), run_command=main)


def tiny_experiment(tmp_path: Path, **changes) -> Path:
    config = {**yaml.safe_load(TINY.read_text()), "output_dir": str(tmp_path / "run"), **changes}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cell_means(report: str, arm: str, stage: str) -> list[float]:
    """The pass@1 means of a row of the report's first table (after its seeds column)."""
    row = re.search(rf"^\| {arm} \| {stage} \| \d+ \| (.*) \|$", report, re.MULTILINE)
    assert row, f"no row {arm}/{stage} in\n{report}"
    return [float(cell.split(" ")[0]) for cell in row.group(1).split(" | ")]


def tables(report: str, heading: str) -> list[list[dict[str, str]]]:
    """The markdown tables of the section under ``heading``: rows as header -> cell."""
    section = report.split(heading, 1)[1].split("\n## ", 1)[0]
    found, rows = [], []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            found.append([dict(zip(rows[0], row, strict=True)) for row in rows[2:]])
            rows = []
    return found


def per_problem(
    run: Path, arm: str, point: str, language: str, seeds: list[int], records: str = "eval.jsonl"
) -> dict[str, float]:
    """From the stage files alone: each problem's share of passed samples, averaged over the seeds."""
    by_seed = []
    for seed in seeds:
        directory = run / arm / f"seed={seed}" / ("" if point == "base" else point)
        passed = defaultdict(list)
        for line in (directory / records).read_text().splitlines():
            record = json.loads(line)
            if record["language"] == language and record["verdict"] != "sandbox_error":
                passed[record["task_id"]].append(float(record["passed"]))
        by_seed.append({task: sum(v) / len(v) for task, v in passed.items()})
    return {task: statistics.mean(s[task] for s in by_seed) for task in by_seed[0]}


def minus(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {task: a[task] - b[task] for task in a}


def expected(scores: dict[str, float], signed: bool = False) -> tuple[str, str]:
    """The report's text of an interval recomputed from ``scores``, and the verdict it implies."""
    found = interval(scores)
    word = "better" if found.low > 0 else "worse" if found.high < 0 else "cannot tell"
    return found.format(signed), word


def check_report_against_stage_files(report: str, run: Path, experiment: dict) -> None:
    """Every pass@1 cell, transfer, arm difference and verdict of ``report`` is recomputed from the
    eval.jsonl files under ``run`` (seeds pooled, differences paired per problem) and matches."""
    seeds, targets, ours = experiment["seeds"], experiment["targets"], experiment.get("treatment", "parallel")
    [cells] = tables(report, "## pass@1 per language")
    for row in cells:
        measured = seeds[:1] if row["arm"] == "base" else seeds  # greedy: the base model once
        for lang in experiment["evaluation"]["languages"]:
            assert row[lang] == expected(per_problem(run, row["arm"], row["stage"], lang, measured))[0]
    transfers = {
        arm: {
            lang: minus(*(per_problem(run, arm, p, lang, seeds) for p in ("rl", "sft")))
            for lang in [experiment["source_language"], *targets]
        }
        for arm in experiment["arms"]
    }
    [moved] = tables(report, "## Transfer")
    for row in moved:
        arm = row["arm (RL from)"].split(" ")[0]
        source = experiment["source_language"]
        assert row[f"{source} (RL's own)"] == expected(transfers[arm][source], signed=True)[0]
        for lang in targets:
            assert row[lang] == expected(transfers[arm][lang], signed=True)[0]
    differences, verdicts = tables(report, f"## {ours} against the other arms")
    others = [arm for arm in experiment["arms"] if arm != ours]
    assert [row["difference"] for row in differences] == [f"{ours} - {o}" for o in others for _ in (0, 1)]
    for row in differences:
        other = row["difference"].split(" - ")[1]
        for lang in targets:
            final = minus(*(per_problem(run, arm, "rl", lang, seeds) for arm in (ours, other)))
            diff = minus(transfers[ours][lang], transfers[other][lang]) if row["measure"] == "transfer" else final
            assert row[lang] == " ".join(expected(diff, signed=True))
    for row in verdicts:
        words = [row[f"transfer vs {other}"] for other in others]
        if row["target"] in targets:
            lang = row["target"]
            assert words == [expected(minus(transfers[ours][lang], transfers[o][lang]))[1] for o in others]
        assert row["verdict"] == f"**{words[0] if len(set(words)) == 1 else 'cannot tell'}**"
    for measure, options in experiment.get("also_evaluate", {}).items():
        check_further_tables(report, run, experiment, measure, options["languages"])


def check_further_tables(report: str, run: Path, experiment: dict, measure: str, languages: list[str]) -> None:
    """The pass@1 and RL-change tables of one ``also_evaluate`` measurement, recomputed from its own files."""
    seeds, records = experiment["seeds"], f"eval-{measure}.jsonl"
    cells, changes = tables(report, f"## pass@1 on `{measure}`")
    assert {(row["arm"], row["stage"]) for row in cells} == {
        ("base", "base"),
        *((arm, point) for arm in experiment["arms"] for point in ("sft", "rl")),
    }
    for row in cells:
        measured = seeds[:1] if row["arm"] == "base" else seeds
        for lang in languages:
            assert row[lang] == expected(per_problem(run, row["arm"], row["stage"], lang, measured, records))[0]
    source = experiment["source_language"]
    for row in changes:
        arm = row["arm (RL from)"].split(" ")[0]
        after, before = (per_problem(run, arm, point, source, seeds, records) for point in ("rl", "sft"))
        assert row[f"{source} (RL's own)"] == expected(minus(after, before), signed=True)[0]


def test_tiny_experiment_runs_every_stage_and_reports_its_own_numbers(tmp_path, capsys):
    path = tiny_experiment(tmp_path)
    assert run_experiment(path) == 0
    out = tmp_path / "run"
    report = (out / "report.md").read_text()
    for header in ("## pass@1 per language", "## Transfer", "## Programs that compile", "## Alignment"):
        assert header in report
    assert (out / "pass_at_1.png").stat().st_size and (out / "alignment.png").stat().st_size
    assert list((out / "tb").glob("events.out.tfevents.*"))
    check_report_against_stage_files(report, out, yaml.safe_load(path.read_text()))
    # The budgets: the SFT stages' answer tokens and the RL stages' reward, from their own logs.
    [sft_budget, rl_budget] = tables(report, "## Budgets and reward")
    assert [row["SFT arm"] for row in sft_budget] == ["baseline", "control", "parallel"]
    for row in sft_budget:
        events = EventAccumulator(str(out / row["SFT arm"] / "seed=0" / "sft" / "tb" / "version_0")).Reload()
        answers = [t for t in events.Tags()["scalars"] if t.startswith("train/answer_tokens/")]
        assert float(row["answer tokens trained (mean over seeds)"]) == round(
            sum(events.Scalars(t)[-1].value for t in answers)
        )
    assert {row["reward"] for row in rl_budget} == {"pass"}  # configs/tiny/grpo.yaml's binary reward
    events = EventAccumulator(str(out / "parallel" / "seed=0" / "rl" / "tb" / "version_0")).Reload()
    equal = statistics.mean(e.value for e in events.Scalars("rl/all_equal_groups"))
    assert float(rl_budget[1]["share of all-equal groups"]) == pytest.approx(equal, abs=0.005)

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
    assert run_experiment(path) == 0
    log = capsys.readouterr().out
    assert log.count("done before, skipped") == len(plan(load_experiment(path))) - 1
    assert re.search(r"parallel seed=0 rl evaluate: \d+ s, CPU \d+%", log)
    # Each stage records its CPU time, the sandbox's workers included; the report sums them.
    records = [json.loads(stage.marker.read_text()) for stage in plan(load_experiment(path))]
    assert all(record["cpu_seconds"] > 0 for record in records)
    busy = sum(r["cpu_seconds"] for r in records) / sum(r["seconds"] for r in records)
    assert f"CPU {busy:.0%} over the {len(records)} stages" in (out / "report.md").read_text()


def test_an_interrupted_fit_resumes_from_its_checkpoint(tmp_path):
    arms = {"parallel": "configs/tiny/sft.yaml"}
    sft_args = ["--trainer.max_steps=4", "--trainer.callbacks=[]"]
    path = tiny_experiment(tmp_path, arms=arms, rl_config=None, alignment=None, sft_args=sft_args, also_evaluate={})
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


@pytest.mark.parametrize(("temperature", "base_seeds"), [(0.0, [0]), (0.8, [0, 1])])
def test_the_base_model_is_measured_at_each_seed_only_when_sampling(tmp_path, temperature, base_seeds):
    evaluation = {"languages": ["python"], "temperature": temperature}
    stages = plan(load_experiment(tiny_experiment(tmp_path, seeds=[0, 1], evaluation=evaluation)))
    assert [s.seed for s in stages if s.arm == "base" and s.name == "evaluate"] == base_seeds
    # Seed by seed: every stage of seed 0 comes before the first of seed 1.
    order = [s.seed for s in stages if s.seed is not None]
    assert order == sorted(order)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arms": {"a": "configs/tiny/missing.yaml"}}, r"experiment\.yaml:\d+: field 'a': no such config"),
        ({"seedz": [1]}, r"experiment\.yaml:\d+: field 'seedz' is unknown"),
        ({"arms": {"a": 3}}, r"experiment\.yaml:\d+: field 'arms\.a': must be a config path"),
        ({"against": ["baseline", "nobody"]}, r"experiment\.yaml:\d+: field 'against': 'nobody' is not an arm"),
        ({"treatment": ["parallel"]}, r"experiment\.yaml:\d+: field 'treatment': \['parallel'\] is not an arm"),
        ({"against": "baseline"}, r"experiment\.yaml:\d+: field 'against': must be a list of arm names"),
        ({"also_evaluate": {"held out": {}}}, r"experiment\.yaml:\d+: field 'also_evaluate\.held out': a name of"),
        ({"also_evaluate": ["heldout"]}, r"experiment\.yaml:\d+: field 'also_evaluate': must map names"),
    ],
)
def test_bad_experiment_files_name_the_place(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        load_experiment(tiny_experiment(tmp_path, **change))


PROBLEMS = [f"p{i:02d}" for i in range(40)]


def hand_built_run(
    tmp_path: Path, solved: dict[tuple[str, str], dict[str, range]], rl_only: bool = False
) -> tuple[str, Path, dict]:
    """An experiment's evaluation files written by hand, then its report. ``solved``: (arm, point) ->
    language -> the problems whose one sample passes (seed 1 also loses the last of them); ``rl_only``
    adds an arm of RL straight from the base model."""
    arms = {arm: "configs/tiny/sft.yaml" for arm in ("baseline", "control", "parallel")} | (
        {"rl_only": None} if rl_only else {}
    )
    config = {
        **yaml.safe_load(TINY.read_text()),
        **{"output_dir": str(tmp_path / "run"), "arms": arms, "seeds": [0, 1], "alignment": None},
        **{"targets": ["go", "php"], "evaluation": {"languages": ["python", "go", "php"]}},
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    experiment = load_experiment(path)
    for stage in plan(experiment):
        if stage.kind == "evaluate":
            stage.directory.mkdir(parents=True, exist_ok=True)
            stage.output.write_text(json.dumps({"metrics": {}}))
            wins = solved.get((stage.arm, stage.point), {})
            records = []
            for lang in ("python", "go", "php"):
                passing = {PROBLEMS[i] for i in list(wins.get(lang, ()))[: None if stage.seed == 0 else -1]}
                for task in PROBLEMS:
                    verdict = "passed" if task in passing else "failed"
                    records.append({"language": lang, "task_id": task, "passed": task in passing, "verdict": verdict})
            stage.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = write_report(experiment, "by hand", "now", 0.0).read_text()
    return report, tmp_path / "run", config


def verdict_of(report: str) -> dict[str, str]:
    """Target (and "overall") -> the report's verdict."""
    [_, verdicts] = tables(report, "## parallel against the other arms")
    found = {row["target"].split(" ")[0].strip("*"): row["verdict"].strip("*") for row in verdicts}
    line = re.search(r"^\*\*Verdict: does RL on python transfer better after parallel\? (.+)\.\*\*$", report, re.M)
    assert line and line.group(1) == found["overall"]
    return found


@pytest.mark.parametrize("flip", [False, True], ids=["parallel transfers more", "parallel transfers less"])
def test_the_verdict_follows_hand_built_records_and_flips_when_they_do(tmp_path, flip):
    sft = {"python": range(10), "go": range(10), "php": range(5)}
    # After RL on python: in go, one arm gains 14 problems, the others 1 or 2; php moves nowhere.
    strong, weak = {"go": range(24), "php": range(5)}, {"go": range(12), "php": range(5)}
    solved = {(arm, "sft"): sft for arm in ("baseline", "control", "parallel")}
    solved |= {("parallel", "rl"): weak if flip else strong, ("baseline", "rl"): strong if flip else weak}
    solved |= {("control", "rl"): strong if flip else {"go": [*range(10), 30], "php": range(5)}}
    report, run, config = hand_built_run(tmp_path, solved)
    check_report_against_stage_files(report, run, config)
    word = "worse" if flip else "better"
    assert verdict_of(report) == {"go": word, "php": "cannot tell", "overall": word}


def test_the_verdict_cannot_tell_when_the_arms_disagree(tmp_path):
    sft = {"go": range(10), "php": range(10)}
    solved = {(arm, "sft"): sft for arm in ("baseline", "control", "parallel")}
    # Parallel-SFT transfers more than the baseline in go but no more than the control.
    solved |= {("parallel", "rl"): {"go": range(24), "php": range(10)}, ("baseline", "rl"): sft}
    solved |= {("control", "rl"): {"go": range(24), "php": range(10)}}
    report, run, config = hand_built_run(tmp_path, solved)
    check_report_against_stage_files(report, run, config)
    [_, verdicts] = tables(report, "## parallel against the other arms")
    assert verdicts[0] == {
        "target": "go",
        "transfer vs baseline": "better",
        "transfer vs control": "cannot tell",
        "verdict": "**cannot tell**",
    }
    assert verdict_of(report) == {"go": "cannot tell", "php": "cannot tell", "overall": "cannot tell"}


def test_the_budgets_come_from_the_training_logs_and_an_arm_off_budget_is_flagged(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    hand_built_run(tmp_path, {})
    tokens = {"baseline": 1000, "control": 1200, "parallel": 1010}  # the control trained on 19% more
    for stage in plan(load_experiment(tmp_path / "experiment.yaml")):
        if stage.kind != "fit":
            continue
        logs = stage.directory / "tb" / "version_0"
        with SummaryWriter(str(logs)) as writer:
            for step in range(3):
                if stage.point == "sft":  # the answer-token counters only grow
                    writer.add_scalar("train/answer_tokens/python", tokens[stage.arm] * (step + 1) / 3, step)
                else:  # the control's groups never had spread
                    writer.add_scalar("rl/reward_mean", 0.25, step)
                    writer.add_scalar("rl/all_equal_groups", 1.0 if stage.arm == "control" else step / 4, step)
        reward = {"reward": {"kind": "partial", "format_penalty": 0.5}}
        (logs / "config.yaml").write_text(yaml.safe_dump({"model": {"init_args": reward}}))
        stage.marker.write_text('{"seconds": 1}')
    experiment = load_experiment(tmp_path / "experiment.yaml")
    report = write_report(experiment, "by hand", "now", 0.0).read_text()
    sft, rl = tables(report, "## Budgets and reward")
    assert {row["SFT arm"]: row["answer tokens trained (mean over seeds)"] for row in sft} == {
        arm: str(n) for arm, n in tokens.items()
    }
    assert "**Not the same SFT budget**: against parallel's tokens, control +19%." in report
    assert {row["RL arm"]: row["share of all-equal groups"] for row in rl} == {
        "baseline": "0.25",
        "control": "1.00",
        "parallel": "0.25",
    }
    assert {row["reward"] for row in rl} == {"partial, format penalty 0.5"}
    assert {row["steps per stage"] for row in rl} == {"3"} and {row["seeds"] for row in rl} == {"2"}
    assert "**RL had almost no signal in control**" in report


def test_rl_from_the_base_model_transfers_from_the_base_models_own_scores(tmp_path):
    solved = {("base", "base"): {"go": range(4)}, ("rl_only", "rl"): {"go": range(20), "python": range(30)}}
    report, run, _ = hand_built_run(tmp_path, solved, rl_only=True)
    [moved] = tables(report, "## Transfer")
    row = next(row for row in moved if row["arm (RL from)"] == "rl_only (base)")
    base = per_problem(run, "base", "base", "go", [0])  # greedy: the base model is measured once
    after = per_problem(run, "rl_only", "rl", "go", [0, 1])
    assert row["go"] == expected(minus(after, base), signed=True)[0] and row["go"].startswith("+0.388")
    # ((20 + 19) / 2 - 4) / 40: the base, measured once, is the start of both seeds.
    assert row["python (RL's own)"].startswith("+0.73")  # (30 + 29) / 2 of 40 problems, from 0
    # The verdict compares parallel with every other arm by default, RL from the base model included.
    [_, verdicts] = tables(report, "## parallel against the other arms")
    assert verdicts[0]["transfer vs rl_only"] == "worse"


def test_an_arm_is_evaluated_on_the_model_it_was_trained_on(tmp_path):
    # The tiny config quantizes to nf4; this arm's own args train (and so must evaluate) unquantized.
    arms = {"fp32": {"config": "configs/tiny/sft.yaml", "args": ["--model.init_args.model.quantization=none"]}}
    sft_args = ["--trainer.max_steps=1", "--trainer.callbacks=[]"]
    path = tiny_experiment(tmp_path, arms=arms, rl_config=None, alignment=None, sft_args=sft_args, also_evaluate={})
    assert run_experiment(path) == 0
    out = tmp_path / "run"
    trained = json.loads((out / "fp32" / "seed=0" / "sft" / "eval.json").read_text())["model"]
    assert trained["quantization"] == "none"
    assert trained["adapter"] == str(out / "fp32" / "seed=0" / "sft" / "adapters" / "final")
    base = json.loads((out / "base" / "seed=0" / "eval.json").read_text())["model"]
    assert base["quantization"] == "nf4" and base["adapter"] is None
