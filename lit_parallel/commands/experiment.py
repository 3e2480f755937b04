"""``lit-parallel experiment``: the paper's comparison as one resumable command.

Arms (baseline SFT, Parallel-SFT, optionally RL from the base model) x seeds; per arm: SFT, RL on the
source language, and pass@k (and alignment) after every stage; then the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import yaml

from lit_parallel.checks import prefixed
from lit_parallel.commands import align, evaluate
from lit_parallel.commands.arguments import Command, parse
from lit_parallel.errors import DataError
from lit_parallel.experiment import ExperimentConfig, RunCommand, StageFailed, load_experiment, plan, write_report
from lit_parallel.experiment import run as run_stages
from lit_parallel.experiment.pipeline import Finished, merged


def run_child(argv: Sequence[str]) -> Finished:
    """One stage's command line as a child ``lit-parallel`` process: a stage can then run several
    processes of its own (a DDP fit relaunches its command line), and what it allocates ends with it.
    Its CPU time is its own process tree's (``wait4``), also while other stages run beside it."""
    child = subprocess.Popen([sys.executable, "-m", "lit_parallel.cli", *argv])
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return Finished(child.returncode, usage.ru_utime + usage.ru_stime)


def run(experiment: ExperimentConfig, dry_run: bool = False) -> int:
    """Every stage not done yet, each a child process, then the report.

    Args:
        dry_run: print every stage's command and whether it is done, and run nothing.
    """
    return execute(experiment, run_child, dry_run)


def execute(experiment: ExperimentConfig, run_command: RunCommand, dry_run: bool = False) -> int:
    """Every stage not done yet, each run by ``run_command``, then the report (``dry_run``: the plan)."""
    if dry_run:
        for stage in plan(experiment):
            print(("done  " if stage.marker.exists() else "todo  ") + "lit-parallel " + " ".join(stage.argv))
        return 0
    started, clock = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), time.perf_counter()
    saved = save(experiment)
    try:
        run_stages(experiment, run_command)
    except StageFailed as exc:
        print(f"lit-parallel experiment: {exc}; finished stages are kept, re-run to continue", file=sys.stderr)
        return 1
    command = f"lit-parallel experiment --config {saved}"
    report = write_report(experiment, command, started, time.perf_counter() - clock)
    print(report.read_text())
    print(f"\nreport: {report}")
    return 0


def save(experiment: ExperimentConfig) -> Path:
    """The experiment as it runs (overrides applied, stage configs found) in its output directory, as
    a YAML that ``--config`` reads back: what the report names as its command."""
    path = Path(experiment.output_dir) / "experiment.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(json.loads(json.dumps(asdict(experiment))), sort_keys=False))
    return path


def as_config(options: dict) -> list[str]:
    """A command's options as the ``--config`` argument that holds them (a YAML mapping, inline)."""
    return ["--config", yaml.safe_dump(options, default_flow_style=True, width=1 << 20).strip()]


def build(values: dict, files: list[str]) -> ExperimentConfig:
    """The experiment of the values read from its YAML (and the overrides): checked, and its stage
    configs found relative to the working directory or else to the experiment file."""
    if not files:
        raise DataError("config: an experiment is a YAML file: lit-parallel experiment --config FILE")
    experiment = load_experiment(files[-1], raw=values)
    # Every measurement's options are the command's own, checked now rather than after hours of training.
    for key, options in {
        "evaluation": {},
        **{f"also_evaluate.{k}": v for k, v in experiment.also_evaluate.items()},
    }.items():
        with prefixed(key):
            parse(evaluate.COMMAND, as_config(merged(experiment.evaluation, options)))
    if experiment.alignment is not None:
        with prefixed("alignment"):
            parse(align.COMMAND, as_config(experiment.alignment))
    return experiment


COMMAND = Command(
    "experiment",
    "the arms (baseline, control, Parallel-SFT), then RL, then intervals and a verdict",
    ExperimentConfig,
    run,
    build,
)
