"""``lit-parallel experiment``: the paper's comparison as one resumable command.

Arms (baseline SFT, Parallel-SFT, optionally RL from the base model) x seeds; per arm: SFT, RL on the
source language, and pass@k (and alignment) after every stage; then the report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from lit_parallel.checks import existing_file
from lit_parallel.experiment import RunCommand, StageFailed, load_experiment, plan, write_report
from lit_parallel.experiment import run as run_stages


def run_child(argv: Sequence[str]) -> int:
    """One stage's command line as a child ``lit-parallel`` process: a stage can then run several
    processes of its own (a DDP fit relaunches its command line), and what it allocates ends with it."""
    return subprocess.run([sys.executable, "-m", "lit_parallel.cli", *argv], check=False).returncode


def run(args: argparse.Namespace, run_command: RunCommand = run_child) -> int:
    existing_file(args.config, "--config")
    experiment = load_experiment(args.config)
    if args.dry_run:
        for stage in plan(experiment):
            print(("done  " if stage.marker.exists() else "todo  ") + "lit-parallel " + " ".join(stage.argv))
        return 0
    started, clock = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), time.perf_counter()
    try:
        run_stages(experiment, run_command)
    except StageFailed as exc:
        print(f"lit-parallel experiment: {exc}; finished stages are kept, re-run to continue", file=sys.stderr)
        return 1
    command = f"lit-parallel experiment --config {args.config}"
    report = write_report(experiment, command, started, time.perf_counter() - clock)
    print(report.read_text())
    print(f"\nreport: {report}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser(
        "experiment", help="the arms (baseline, control, Parallel-SFT), then RL, then intervals and a verdict"
    )
    ex.add_argument("--config", type=Path, required=True, help="an experiment YAML (configs/experiments/)")
    ex.add_argument("--dry-run", action="store_true", help="print every stage's command and whether it is done")
    ex.set_defaults(func=run)
