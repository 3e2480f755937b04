"""`lit-parallel experiment` on the tiny configs: two arms, one seed, every stage for real; the report's
numbers are the run's own; a re-run skips what is done; bad experiment files are named."""

import json
import re
import shutil
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_parallel.cli import main
from lit_parallel.commands import experiment as experiment_command
from lit_parallel.errors import DataError
from lit_parallel.experiment import load_experiment, plan, write_report
from lit_parallel.experiment.pipeline import in_process
from lit_parallel.experiment.statistics import TOO_FEW, estimate

TINY = Path(__file__).resolve().parents[1] / "configs" / "experiments" / "tiny.yaml"
EXPERIMENTS = sorted(TINY.parent.glob("*.yaml"))


def run_experiment(path: Path) -> int:
    """``lit-parallel experiment`` with its stages run in this process: the command runs each as a child
    process (a Python start with torch and Lightning: ~7 s a stage here), which
    test_an_interrupted_fit_resumes_from_its_checkpoint takes; the stages and files are the same."""
    return experiment_command.execute(load_experiment(path), run_command=in_process(main))


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


PerSeed = dict[int, dict[str, float]]


def per_seed(run: Path, arm: str, point: str, language: str, seeds: list[int], records: str = "eval.jsonl") -> PerSeed:
    """From the stage files alone: each problem's share of passed samples (sandbox failures left out), per seed."""
    found = {}
    for seed in seeds:
        directory = run / arm / f"seed={seed}" / ("" if point == "base" else point)
        passed = defaultdict(list)
        for line in (directory / records).read_text().splitlines():
            record = json.loads(line)
            if record["language"] == language and record["verdict"] != "sandbox_error":
                passed[record["task_id"]].append(float(record["passed"]))
        found[seed] = {task: sum(v) / len(v) for task, v in passed.items()}
    return found


def minus(a: PerSeed, b: PerSeed) -> PerSeed:
    """Per seed both have, per problem both measured: a - b."""
    return {
        seed: {task: a[seed][task] - b[seed][task] for task in a[seed] if task in b[seed]} for seed in a if seed in b
    }


def averaged(parts: list[PerSeed]) -> PerSeed:
    """Per seed, each problem's mean over ``parts`` (the problems in all of them)."""
    seeds = set.intersection(*(set(part) for part in parts))
    tasks = {seed: set.intersection(*(set(part[seed]) for part in parts)) for seed in seeds}
    return {seed: {task: statistics.mean(part[seed][task] for part in parts) for task in tasks[seed]} for seed in seeds}


def clusters_of_run(run: Path) -> dict[str, str]:
    """task_id -> the cluster its records name, over every evaluation under ``run``."""
    found = {}
    for path in run.rglob("eval*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            found[record["task_id"]] = record.get("cluster") or record["task_id"]
    return found


def most_problems(run: Path, languages: list[str], records: str = "eval.jsonl") -> int:
    """The most problems one evaluation under ``run`` judged in every one of ``languages``."""
    sizes = []
    for path in run.rglob(records):
        tasks = defaultdict(set)
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["verdict"] != "sandbox_error":
                tasks[record["language"]].add(record["task_id"])
        sizes.append(len(set.intersection(*(tasks[lang] for lang in languages))))
    return max(sizes)


def expected(
    scores: PerSeed, run: Path, languages: list[str], signed: bool = False, level: float = 0.95, **options
) -> tuple[str, str]:
    """The report's text of an estimate recomputed from per-seed ``scores`` of ``languages`` (with the problems
    and clusters behind it when fewer than an evaluation measured), and the verdict it implies."""
    found = estimate(scores, clusters_of_run(run), level)
    text = found.format(signed)
    if found.problems < most_problems(run, languages, options.get("records", "eval.jsonl")):
        text += f" ({found.problems} problems, {found.clusters} clusters)"
    if len(found.seeds) < options.get("min_seeds", 3):
        return text, TOO_FEW
    return text, "better" if found.low > 0 else "worse" if found.high < 0 else "cannot tell"


def start_seeds(arm: str, experiment: dict, seeds: list[int]) -> tuple[str, str, list[int]]:
    """What an arm's RL started from (arm and point) and the seeds it was measured at."""
    if experiment["arms"][arm] is None:  # RL from the base model, measured once (greedy)
        return "base", "base", seeds[:1]
    return arm, "sft", seeds


def transfer_of(run: Path, experiment: dict, arm: str, lang: str, records: str = "eval.jsonl") -> PerSeed:
    seeds = experiment["seeds"]
    start, point, measured = start_seeds(arm, experiment, seeds)
    before = per_seed(run, start, point, lang, measured, records)
    if len(measured) == 1 and start == "base":
        before = dict.fromkeys(seeds, before[measured[0]])
    return minus(per_seed(run, arm, "rl", lang, seeds, records), before)


def floors(run: Path, experiment: dict, arms: tuple[str, str]) -> set[str]:
    """Targets where one of ``arms`` passed nothing before RL at every seed."""
    found = set()
    for lang in experiment["targets"]:
        for arm in arms:
            start, point, measured = start_seeds(arm, experiment, experiment["seeds"])
            if not any(v for scores in per_seed(run, start, point, lang, measured).values() for v in scores.values()):
                found.add(lang)
    return found


def check_report_against_stage_files(report: str, run: Path, experiment: dict) -> None:
    """Every pass@1 cell, transfer, arm difference and verdict of ``report`` is recomputed from the
    eval.jsonl files under ``run`` (per seed, paired per problem, then over seeds) and matches."""
    seeds, targets = experiment["seeds"], experiment["targets"]
    [cells] = tables(report, "## pass@1 per language")
    for row in cells:
        measured = seeds[:1] if row["arm"] == "base" else seeds  # greedy: the base model once
        for lang in experiment["evaluation"]["languages"]:
            assert row[lang] == expected(per_seed(run, row["arm"], row["stage"], lang, measured), run, [lang])[0]
    source = experiment["source_language"]
    transfers = {
        arm: {lang: transfer_of(run, experiment, arm, lang) for lang in [source, *targets]}
        for arm in experiment["arms"]
    }
    [moved] = tables(report, "## Transfer")
    for row in moved:
        arm = row["arm (RL from)"].split(" ")[0]
        assert row[f"{source} (RL's own)"] == expected(transfers[arm][source], run, [source], signed=True)[0]
        for lang in targets:
            assert row[lang] == expected(transfers[arm][lang], run, [lang], signed=True)[0]
        mean = averaged([transfers[arm][t] for t in targets])
        assert row["mean over targets"] == expected(mean, run, targets, signed=True)[0]
    check_comparisons(report, run, experiment, transfers)
    for measure, options in experiment.get("also_evaluate", {}).items():
        check_further_tables(report, run, experiment, measure, options["languages"])


def check_comparisons(report: str, run: Path, experiment: dict, transfers: dict) -> None:
    """The primary verdict and every secondary cell, recomputed: floors, Bonferroni level, verdicts."""
    seeds, targets, ours = experiment["seeds"], experiment["targets"], experiment.get("treatment", "parallel")
    others = experiment.get("against") or [arm for arm in experiment["arms"] if arm != ours]
    declared = experiment.get("primary", {})
    default = "control" if "control" in others else others[0]
    main = (declared.get("against", default), declared.get("measure", "transfer"), declared.get("target", "mean"))
    min_seeds = experiment.get("min_seeds", 3)
    wanted = {}  # (other, measure, column) -> (per-seed differences, the targets they average), None: a floor
    for other in others:
        floored = floors(run, experiment, (ours, other))
        for measure in ("transfer", "final"):
            if measure == "transfer":
                by_target = {t: minus(transfers[ours][t], transfers[other][t]) for t in targets}
            else:
                by_target = {t: minus(*(per_seed(run, arm, "rl", t, seeds) for arm in (ours, other))) for t in targets}
            kept = [t for t in targets if measure == "final" or t not in floored]
            for target in targets:
                wanted[other, measure, target] = (by_target[target], [target]) if target in kept else None
            mean = (averaged([by_target[t] for t in kept]), kept) if kept else None
            wanted[other, measure, "mean"] = mean
    counted = [key for key, found in wanted.items() if key != main and found is not None]
    level = 1 - 0.05 / len(counted)
    [table] = tables(report, "## Secondary")
    names = {"transfer": "transfer", "final": "pass@1 after RL"}
    rows = [(row["difference"], row["measure"]) for row in table]
    assert rows == [(f"{ours} - {o}", name) for o in others for name in names.values()]
    for row in table:
        other, measure = row["difference"].split(" - ")[1], next(m for m, n in names.items() if n == row["measure"])
        for column in [*targets, "mean"]:
            cell, found = row["mean over targets" if column == "mean" else column], wanted[other, measure, column]
            if (other, measure, column) == main:
                assert cell == "**primary** (above)"
            elif found is None:
                assert cell == "floor: not comparable"
            else:
                assert cell == " ".join(expected(*found[:1], run, found[1], True, level, min_seeds=min_seeds))
    if wanted[main] is None:
        word = "floor: not comparable"
    else:
        word = expected(wanted[main][0], run, wanted[main][1], min_seeds=min_seeds)[1]
    assert re.search(rf"^\*\*Verdict: .* after {ours} than after {main[0]}\? {word}\.\*\*$", report, re.M)


def check_further_tables(report: str, run: Path, experiment: dict, measure: str, languages: list[str]) -> None:
    """The pass@1 and RL-change tables of one ``also_evaluate`` measurement, recomputed from its own files."""
    seeds, records = experiment["seeds"], f"eval-{measure}.jsonl"
    cells, changes = tables(report, f"## pass@1 on `{measure}`")
    assert {(row["arm"], row["stage"]) for row in cells} == {
        ("base", "base"),
        *((arm, point) for arm, spec in experiment["arms"].items() for point in ("sft", "rl")[0 if spec else 1 :]),
    }
    for row in cells:
        measured = seeds[:1] if row["arm"] == "base" else seeds
        for lang in languages:
            scores = per_seed(run, row["arm"], row["stage"], lang, measured, records)
            assert row[lang] == expected(scores, run, [lang], records=records)[0]
    source = experiment["source_language"]
    for row in changes:
        arm = row["arm (RL from)"].split(" ")[0]
        change = transfer_of(run, experiment, arm, source, records)
        assert row[f"{source} (RL's own)"] == expected(change, run, [source], signed=True, records=records)[0]


def quiet_output_problems(printed: str) -> list[str]:
    """What a user would learn to ignore in an experiment's output: warnings, Lightning's tips, transformers'
    weight-loading bar, and a line a stage prints twice (as every DDP rank did); tables (the report's cells)
    and the command's own progress lines may repeat.
    Lines of the ``lightning`` logger's own handler ("INFO: ...") are left out of the count: with every stage
    run in one process (this test's runner) Lightning's loggers print through two handlers; a stage's own
    process, as the command runs it, prints each once."""
    problems = [line for line in printed.splitlines() if re.search("Warning|Tip:|Loading weights", line)]
    for stage in re.split(r"^\[\d+/\d+\] .* \.\.\.$", printed, flags=re.M):
        lines = [line.strip() for line in stage.splitlines() if line.strip(" -─━═│┃┏┓┗┛┡┩└┘")]
        lines = [line for line in lines if not re.match(r"\||INFO: |(evaluate|embed|Epoch)\b", line)]
        problems += [f"twice: {line}" for line, count in Counter(lines).items() if count > 1]
    return problems


def test_tiny_experiment_runs_every_stage_and_reports_its_own_numbers(tmp_path, capfd, recwarn):
    path = tiny_experiment(tmp_path)
    assert run_experiment(path) == 0
    printed = capfd.readouterr()
    problems = quiet_output_problems(printed.out + printed.err)
    assert not problems, "\n".join(problems)
    assert not [f"{w.category.__name__}: {w.message}" for w in recwarn]
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
    capfd.readouterr()
    (out / "parallel" / "seed=0" / "rl" / "evaluate.done.json").unlink()
    assert run_experiment(path) == 0
    log = capfd.readouterr().out
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


def test_stages_run_beside_each_other_once_the_fits_they_read_are_done(tmp_path):
    arms = {"parallel": "configs/tiny/sft.yaml"}
    sft_args = ["--trainer.max_steps=2", "--trainer.callbacks=[]"]
    changes = {"arms": arms, "alignment": None, "sft_args": sft_args, "also_evaluate": {}, "concurrent_stages": 2}
    path = tiny_experiment(tmp_path, **changes)
    assert main(["experiment", "--config", str(path)]) == 0  # each stage a child process, as users run it
    records = {(s.point, s.kind): json.loads(s.marker.read_text()) for s in plan(load_experiment(path))}
    order = [("base", "evaluate"), ("sft", "fit"), ("sft", "evaluate"), ("rl", "fit"), ("rl", "evaluate")]
    assert list(records) == order

    def end(record: dict) -> float:
        return record["started"] + record["seconds"]

    # The base model's evaluation needs no fit: it ran beside the SFT fit.
    base, sft = records["base", "evaluate"], records["sft", "fit"]
    assert base["started"] < end(sft) and sft["started"] < end(base)
    # Each model's evaluation and the fit from its adapter waited for its fit (0.2 s: the records' rounding).
    for point, kind, fit in [("sft", "evaluate", "sft"), ("rl", "fit", "sft"), ("rl", "evaluate", "rl")]:
        assert records[point, kind]["started"] >= end(records[fit, "fit"]) - 0.2
    # Each stage's CPU time is its own process tree's, also while another ran beside it.
    assert all(0 < r["cpu_seconds"] < 3 * r["seconds"] for r in records.values())


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.name)
def test_shipped_experiments_parse_and_plan(experiment):
    stages = plan(load_experiment(experiment))
    assert {s.kind for s in stages} >= {"fit", "evaluate"}
    assert statistics.mean(len(s.argv) for s in stages) > 3


@pytest.mark.parametrize(("temperature", "base_seeds"), [(0.0, [0]), (0.8, [0, 1])])
def test_the_base_model_is_measured_at_each_seed_only_when_sampling(tmp_path, temperature, base_seeds):
    evaluation = {"languages": ["python"], "sampling": {"temperature": temperature}}
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
        ({"concurrent_stages": 0}, r"experiment\.yaml:\d+: field 'concurrent_stages': an integer of at least 1"),
    ],
)
def test_bad_experiment_files_name_the_place(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        load_experiment(tiny_experiment(tmp_path, **change))


PROBLEMS = [f"p{i:02d}" for i in range(40)]


def hand_built_run(
    tmp_path: Path,
    solved: dict[tuple[str, str], dict[str, range]],
    rl_only: bool = False,
    seeds: tuple[int, ...] = (0, 1, 2),
    clustered: bool = False,
    sandbox: tuple[tuple[str, str, int], ...] = (),
    missing: tuple[tuple[str, int], ...] = (),
    **changes,
) -> tuple[str, Path, dict]:
    """An experiment's evaluation files written by hand, then its report. ``solved``: (arm, point) ->
    language -> the problems whose one sample passes (seed s loses the last s of them: runs differ);
    ``rl_only`` adds an arm of RL straight from the base model; ``clustered`` names a cluster of two
    problems in each record; ``sandbox``: (arm, point, seed) whose go record of the first problem is a
    sandbox failure; ``missing``: (arm, seed) whose evaluations were never run; ``changes``: config fields."""
    arms = {arm: "configs/tiny/sft.yaml" for arm in ("baseline", "control", "parallel")} | (
        {"rl_only": None} if rl_only else {}
    )
    config = {
        **yaml.safe_load(TINY.read_text()),
        **{"output_dir": str(tmp_path / "run"), "arms": arms, "seeds": list(seeds), "alignment": None},
        **{"targets": ["go", "php"], "evaluation": {"languages": ["python", "go", "php"]}},
        **changes,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config))
    experiment = load_experiment(path)
    for stage in plan(experiment):
        if stage.kind != "evaluate" or (stage.arm, stage.seed) in missing:
            continue
        stage.directory.mkdir(parents=True, exist_ok=True)
        stage.output.write_text(json.dumps({"metrics": {}}))
        wins = solved.get((stage.arm, stage.point), {})
        records = []
        for lang in ("python", "go", "php"):
            won = list(wins.get(lang, ()))
            passing = {PROBLEMS[i] for i in won[: len(won) - stage.seed]}
            for number, task in enumerate(PROBLEMS):
                verdict = "passed" if task in passing else "failed"
                if (stage.arm, stage.point, stage.seed) in sandbox and lang == "go" and number == 0:
                    verdict = "sandbox_error"
                record = {"language": lang, "task_id": task, "passed": verdict == "passed", "verdict": verdict}
                records.append(record | ({"cluster": f"c{number // 2}"} if clustered else {}))
        stage.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = write_report(experiment, "by hand", "now", 0.0).read_text()
    return report, tmp_path / "run", config


def primary_verdict(report: str) -> str:
    line = re.search(r"^\*\*Verdict: does RL on python transfer better .*\? (.+)\.\*\*$", report, re.M)
    assert line, report
    return line.group(1)


def secondary(report: str) -> dict[tuple[str, str], dict[str, str]]:
    """(difference, measure) -> column -> the cell of the secondary table."""
    [table] = tables(report, "## Secondary")
    return {(row.pop("difference"), row.pop("measure")): row for row in table}


SFT = {"python": range(10), "go": range(10), "php": range(5)}


@pytest.mark.parametrize("flip", [False, True], ids=["parallel transfers more", "parallel transfers less"])
def test_the_verdict_follows_hand_built_records_and_flips_when_they_do(tmp_path, flip):
    # After RL on python: in go, one arm gains 14 problems, the others 1 or 2; php moves nowhere.
    strong, weak = {"go": range(24), "php": range(5)}, {"go": range(12), "php": range(5)}
    solved = {(arm, "sft"): SFT for arm in ("baseline", "control", "parallel")}
    solved |= {("parallel", "rl"): weak if flip else strong, ("baseline", "rl"): strong if flip else weak}
    solved |= {("control", "rl"): strong if flip else {"go": [*range(10), 30], "php": range(5)}}
    report, run, config = hand_built_run(tmp_path, solved)
    check_report_against_stage_files(report, run, config)
    word = "worse" if flip else "better"
    assert primary_verdict(report) == word  # the default primary: parallel - control, transfer, mean
    assert "Primary endpoint (the default): parallel - control, transfer, mean over targets." in report
    cells = secondary(report)
    assert cells["parallel - control", "transfer"]["go"].endswith(word)  # Bonferroni-adjusted, still clear
    assert cells["parallel - control", "transfer"]["php"] == "+0.000 [+0.000, +0.000] cannot tell"
    assert "Bonferroni over the 11 comparisons" in report and "each interval at 99.55%" in report


def test_the_primary_cannot_tell_where_a_secondary_can(tmp_path):
    sft = {"go": range(10), "php": range(10)}
    solved = {(arm, "sft"): sft for arm in ("baseline", "control", "parallel")}
    # Parallel-SFT transfers more than the baseline in go but no more than the control.
    solved |= {("parallel", "rl"): {"go": range(24), "php": range(10)}, ("baseline", "rl"): sft}
    solved |= {("control", "rl"): {"go": range(24), "php": range(10)}}
    report, run, config = hand_built_run(tmp_path, solved)
    check_report_against_stage_files(report, run, config)
    assert primary_verdict(report) == "cannot tell"
    cells = secondary(report)
    assert cells["parallel - baseline", "transfer"]["go"].endswith(" better")
    assert cells["parallel - control", "transfer"]["go"].endswith(" cannot tell")


def test_a_floor_is_labelled_and_left_out_of_the_verdict(tmp_path):
    # Python-only SFT: the baseline passes nothing in go or php before RL at any seed, so it cannot lose.
    solved = {("baseline", "sft"): {"python": range(10)}, ("baseline", "rl"): {"python": range(20)}}
    solved |= {(arm, "sft"): SFT for arm in ("control", "parallel")}
    solved |= {("parallel", "rl"): {"go": range(4), "php": range(5)}, ("control", "rl"): SFT}
    report, run, config = hand_built_run(tmp_path, solved, against=["baseline", "control"])
    check_report_against_stage_files(report, run, config)
    cells = secondary(report)
    assert set(cells["parallel - baseline", "transfer"].values()) == {"floor: not comparable"}
    # pass@1 after RL is a level, not a change: it stays comparable.
    assert cells["parallel - baseline", "pass@1 after RL"]["go"].startswith("+0.0")
    assert "Bonferroni over the 8 comparisons" in report  # 12 cells, less the primary, less 3 floors
    # The declared primary against the floored arm: no verdict, and the headline says why.
    declared = {"against": "baseline", "measure": "transfer", "target": "mean"}
    report, run, config = hand_built_run(tmp_path / "declared", solved, primary=declared)
    check_report_against_stage_files(report, run, config)
    assert primary_verdict(report) == "floor: not comparable"
    assert "(floor: not comparable in go, php: an arm scored 0 there before RL at every seed)" in report
    assert "Primary endpoint (declared in the experiment): parallel - baseline" in report


def test_a_floor_in_one_target_is_left_out_of_the_mean(tmp_path):
    solved = {("baseline", "sft"): {"python": range(10), "php": range(5)}}
    solved |= {(arm, "sft"): SFT for arm in ("control", "parallel")}
    solved |= {("parallel", "rl"): {"go": range(4), "php": range(5)}, ("baseline", "rl"): {"php": range(5)}}
    declared = {"against": "baseline", "measure": "transfer", "target": "mean"}
    report, run, config = hand_built_run(tmp_path, solved, primary=declared)
    check_report_against_stage_files(report, run, config)
    assert secondary(report)["parallel - baseline", "transfer"]["go"] == "floor: not comparable"
    assert "(floor: not comparable in go: an arm scored 0 there before RL at every seed)" in report
    assert primary_verdict(report) == "cannot tell"  # php alone: both arms unchanged


def test_unequal_seed_sets_are_reduced_to_the_shared_ones_and_said_so(tmp_path):
    strong = {"go": range(24), "php": range(5)}
    solved = {(arm, "sft"): SFT for arm in ("baseline", "control", "parallel")}
    solved |= {("parallel", "rl"): strong, ("baseline", "rl"): SFT, ("control", "rl"): SFT}
    report, _, _ = hand_built_run(tmp_path, solved, seeds=(0, 1, 2, 3), missing=(("control", 3), ("control", 2)))
    assert "Seeds measured after RL: parallel 0, 1, 2, 3; baseline 0, 1, 2, 3; control 0, 1." in report
    assert "**Unequal seeds**: parallel - control is compared on the seeds both have, 0, 1." in report
    # The primary (against the control) rests on 2 shared seeds: per-seed estimates and no verdict.
    assert primary_verdict(report) == "too few seeds for a verdict"
    assert re.search(
        r"seeds 0, 1; 40 problems, 40 clusters\)\.\n\nPer seed \(clusters resampled within the seed\): "
        r"seed 0 \+0\.\d+ \[.*\]; seed 1 \+0\.\d+ \[.*\]\.",
        report,
    )
    cells = secondary(report)
    assert cells["parallel - control", "transfer"]["go"].endswith(" too few seeds for a verdict")
    assert cells["parallel - baseline", "transfer"]["go"].endswith(" better")  # 4 shared seeds


def test_two_seeds_give_per_seed_estimates_and_no_verdict(tmp_path):
    strong = {"go": range(24), "php": range(5)}
    solved = {(arm, "sft"): SFT for arm in ("baseline", "control", "parallel")}
    solved |= {("parallel", "rl"): strong, ("baseline", "rl"): SFT, ("control", "rl"): SFT}
    report, run, config = hand_built_run(tmp_path, solved, seeds=(0, 1))
    check_report_against_stage_files(report, run, config)
    assert primary_verdict(report) == "too few seeds for a verdict"
    assert "Per seed (clusters resampled within the seed): seed 0 +0.175" in report  # 14 of 40 in go, 0 in php
    # Raising min_seeds asks more of the same data: 3 seeds no longer suffice.
    report, run, config = hand_built_run(tmp_path / "more", solved, min_seeds=4)
    check_report_against_stage_files(report, run, config)
    assert primary_verdict(report) == "too few seeds for a verdict"


def test_clusters_dropped_records_and_the_problems_behind_an_interval_are_printed(tmp_path):
    strong = {"go": range(24), "php": range(5)}
    solved = {(arm, "sft"): SFT for arm in ("baseline", "control", "parallel")}
    solved |= {("parallel", "rl"): strong, ("baseline", "rl"): SFT, ("control", "rl"): SFT}
    sandbox = (("parallel", "rl", 1), ("parallel", "rl", 2))
    report, run, config = hand_built_run(tmp_path, solved, clustered=True, sandbox=sandbox)
    check_report_against_stage_files(report, run, config)
    assert "Problems per language: go 40 (20 clusters), php 40 (20 clusters), python 40 (20 clusters)." in report
    assert "per arm: base 0, baseline 0, control 0, parallel 2." in report
    # The go problem lost at two seeds is out of every comparison of parallel in go, and the cells say so.
    [cells] = tables(report, "## pass@1 per language")
    assert next(r for r in cells if (r["arm"], r["stage"]) == ("parallel", "rl"))["go"].endswith(
        "(39 problems, 20 clusters)"
    )
    assert secondary(report)["parallel - control", "transfer"]["go"].endswith("(39 problems, 20 clusters) better")
    assert "seeds 0, 1, 2; 39 problems, 20 clusters)." in report  # the primary: problems in go and php


def test_bad_primary_endpoints_are_named(tmp_path):
    for primary, message in [
        ({"against": "nobody"}, r"field 'primary\.against': 'nobody' is not compared"),
        ({"measure": "speed"}, r"field 'primary\.measure': 'speed' is not one of transfer, final"),
        ({"target": "cobol"}, r"field 'primary\.target': 'cobol' is neither a target nor 'mean'"),
        ({"colour": "red"}, r"field 'primary': a mapping of against, measure, target"),
    ]:
        with pytest.raises(DataError, match=r"experiment\.yaml:\d+: " + message):
            load_experiment(tiny_experiment(tmp_path, primary=primary))
    with pytest.raises(DataError, match=r"experiment\.yaml:\d+: field 'min_seeds': an integer of at least 3"):
        load_experiment(tiny_experiment(tmp_path, min_seeds=2))


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
    assert {row["steps per stage"] for row in rl} == {"3"} and {row["seeds"] for row in rl} == {"3"}
    assert "**RL had almost no signal in control**" in report


def test_rl_from_the_base_model_transfers_from_the_base_models_own_scores(tmp_path):
    solved = {("base", "base"): {"go": range(4)}, ("rl_only", "rl"): {"go": range(20), "python": range(30)}}
    solved |= {(arm, point): SFT for arm in ("baseline", "control", "parallel") for point in ("sft", "rl")}
    report, run, config = hand_built_run(tmp_path, solved, rl_only=True)
    check_report_against_stage_files(report, run, config)
    [moved] = tables(report, "## Transfer")
    row = next(row for row in moved if row["arm (RL from)"] == "rl_only (base)")
    base = per_seed(run, "base", "base", "go", [0])[0]  # greedy: the base model is measured once
    after = per_seed(run, "rl_only", "rl", "go", [0, 1, 2])
    assert row["go"] == expected(minus(after, dict.fromkeys(after, base)), run, ["go"], signed=True)[0]
    assert row["go"].startswith("+0.375")  # ((20 + 19 + 18) / 3 - 4) / 40: the base starts every seed
    assert row["python (RL's own)"].startswith("+0.725")  # (30 + 29 + 28) / 3 of 40 problems, from 0
    # Parallel is compared with every other arm by default, RL from the base model included; the base
    # passed no php problem, so RL from it is a floor there.
    cells = secondary(report)["parallel - rl_only", "transfer"]
    assert cells["go"].endswith(" worse") and cells["php"] == "floor: not comparable"


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
