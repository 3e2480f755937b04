"""PassAtK on two real DDP processes (CPU, gloo), and ``lit-parallel evaluate --devices 2``, equal the
single-process evaluation, sample for sample."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lit_parallel.cli import main

SCRIPT = Path(__file__).with_name("ddp") / "eval_ranks.py"
TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"


def evaluate(out: Path, world: int, problems: int) -> tuple[list[dict], list[dict]]:
    command = [sys.executable, str(SCRIPT), str(out), str(world), str(problems)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in (out / "pass_at_k" / "epoch=1.jsonl").open()]
    metrics = [json.loads((out / f"metrics{rank}.json").read_text()) for rank in range(world)]
    return records, metrics


@pytest.mark.parametrize("problems", [3, 1])  # odd: ranks get 2 and 1 jobs; one: rank 1 has none
def test_two_ranks_evaluate_each_sample_once_and_agree_with_one(tmp_path, problems):
    single, [single_metrics] = evaluate(tmp_path / "one", 1, problems)
    double, metrics = evaluate(tmp_path / "two", 2, problems)
    key = lambda r: (r["language"], r["task_id"], r["sample"])  # noqa: E731
    assert len(double) == len({key(r) for r in double}) == problems
    strip = lambda rs: sorted(({k: v for k, v in r.items() if k != "duration_s"} for r in rs), key=key)  # noqa: E731
    assert strip(double) == strip(single), "sharded generation or judging differs from one process"
    assert metrics[0] == metrics[1] == single_metrics


def test_evaluate_on_two_processes_gives_the_records_and_metrics_of_one(tmp_path):
    args = [
        "evaluate",
        "--model.fit_config",
        str(TINY),
        "--languages",
        "[python, lua]",
        "--limit",
        "3",
        "--sampling.n",
        "2",
    ]
    args += [
        "--ks",
        "[1, 2]",
        "--sampling.temperature",
        "1.0",
        "--sampling.max_new_tokens",
        "8",
        "--sampling.batch_size",
        "2",
    ]
    for devices in (1, 2):
        assert main([*args, "--devices", str(devices), "--output", str(tmp_path / f"{devices}.json")]) == 0
    one, two = ([json.loads(line) for line in (tmp_path / f"{d}.jsonl").open()] for d in (1, 2))
    strip = lambda rs: [{k: v for k, v in r.items() if k != "duration_s"} for r in rs]  # noqa: E731
    assert len(one) == 12 and strip(two) == strip(one), "in the same order, sample for sample"
    reports = [json.loads((tmp_path / f"{d}.json").read_text()) for d in (1, 2)]
    assert reports[0]["metrics"] == reports[1]["metrics"] and reports[0]["problems"] == reports[1]["problems"]
