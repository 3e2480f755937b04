"""Toolchains the sandbox must reach, and what happens when it cannot: a venv under /tmp runs Python
programs on both paths; a compiler whose real binary the sandbox hides fails its canary, its programs
get sandbox_error with the canary's reason (not compile_error), the other languages are unaffected,
`exec` exits non-zero and says why, `languages` shows it, and RL drops those completions."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.execution import SandboxFailure, bwrap_status, executor, languages
from lit_parallel.execution.verdicts import Verdict
from lit_parallel.modules import grpo
from lit_parallel.modules.rl_losses import advantages

pytestmark = pytest.mark.skipif(bwrap_status() is not None, reason=f"no bubblewrap: {bwrap_status()}")
ROOT = Path(__file__).resolve().parents[1]
TINY_RL = ROOT / "configs" / "tiny" / "grpo.yaml"
CPP_SUM = "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}\n"


@pytest.fixture
def open_tmp():
    """A directory right under /tmp that other users may enter, as `mkdir /tmp/env` would make."""
    path = Path(tempfile.mkdtemp(prefix="lp-toolchain-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


PROBE = """
import json, sys
from lit_parallel.execution import Executor, Program, TestCase
out = {}
for fast in (True, False):
    with Executor(workers=2, fast_python=fast) as ex:
        programs = [
            Program("python", "print(int(input()) + 1)\\n", (TestCase("1\\n", "2\\n"),), id="right"),
            Program("python", "print(int(input()))\\n", (TestCase("1\\n", "2\\n"),), id="wrong"),
            Program("python", "open(__import__('sys').prefix + '/x', 'w')\\n", None, id="write"),
            Program("python", "print(2)\\n", (TestCase("", "2\\n"),), id="after"),
        ]
        results = [ex.judge(p) for p in programs]
        out[str(fast)] = {"zygotes": ex.uses_zygotes, "verdicts": [r.verdict.value for r in results]}
        out[str(fast)]["reasons"] = [r.stderr_tail for r in results]
print(json.dumps({"executable": sys.executable, **out}))
"""


def test_python_in_a_venv_under_tmp_passes_and_fails_as_it_should_on_both_paths(open_tmp):
    venv = open_tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([venv / "bin" / "python3", "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["executable"] == str(venv / "bin" / "python3")
    assert report["True"]["zygotes"] and not report["False"]["zygotes"]
    # the venv is visible and read-only: a program cannot write into it, and the next one still runs
    for path in ("True", "False"):
        assert report[path]["verdicts"] == ["passed", "failed", "runtime_error", "passed"], report


def test_a_venv_behind_a_closed_directory_is_a_sandbox_error_that_names_it(open_tmp):
    venv = open_tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True)
    open_tmp.chmod(0o700)  # the runs' own uids cannot enter it
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([venv / "bin" / "python3", "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    for path in ("True", "False"):
        assert report[path]["verdicts"] == ["sandbox_error"] * 4, report
        reason = report[path]["reasons"][0]
        assert reason.startswith("python canary failed in the sandbox"), reason
        assert f"behind {open_tmp}, which other users cannot enter" in reason, reason


@pytest.fixture
def hidden_gxx(open_tmp, monkeypatch):
    """PATH starts with a g++ wrapper whose real binary sits in a directory the sandbox hides (its own
    /tmp): g++ works outside the sandbox, and not inside."""
    hidden, wrappers = open_tmp / "hidden", open_tmp / "wrappers" / "bin"
    hidden.mkdir()
    wrappers.mkdir(parents=True)
    (hidden / "g++").symlink_to(shutil.which("g++"))
    wrapper = wrappers / "g++"
    wrapper.write_text(f'#!/bin/sh\nexec {hidden}/g++ "$@"\n')
    wrapper.chmod(0o755)
    assert subprocess.run([wrapper, "--version"], capture_output=True).returncode == 0
    monkeypatch.setenv("PATH", f"{wrappers}:{os.environ['PATH']}")
    languages._which.cache_clear()
    executor._CANARIES.clear()
    yield wrapper
    monkeypatch.undo()
    languages._which.cache_clear()
    executor._CANARIES.clear()


def test_exec_gives_sandbox_error_with_the_canary_reason_and_exits_non_zero(hidden_gxx, tmp_path):
    programs, verdicts = tmp_path / "programs.jsonl", tmp_path / "verdicts.jsonl"
    tests = [{"stdin": "1 2\n", "stdout": "3\n"}]
    lines = [
        {"id": "cpp", "language": "cpp", "code": CPP_SUM, "tests": tests},
        {"id": "py", "language": "python", "code": "print(sum(map(int, input().split())))", "tests": tests},
        {"id": "c", "language": "c", "code": '#include <stdio.h>\nint main(){puts("3");}', "tests": tests},
    ]
    programs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = ["lit-parallel", "exec", "--input", programs, "--output", verdicts]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    rows = {r["id"]: r for r in map(json.loads, verdicts.read_text().splitlines())}
    assert {key: r["verdict"] for key, r in rows.items()} == {"cpp": "sandbox_error", "py": "passed", "c": "passed"}
    reason = rows["cpp"]["stderr_tail"]
    assert reason.startswith(f"cpp canary failed in the sandbox (compile_error): {hidden_gxx} -std=c++17"), reason
    assert f"{hidden_gxx.parents[2]}/hidden/g++" in reason and "\n" not in reason, reason
    assert run.returncode == 3, run.stderr
    assert f"lit-parallel: 1 cpp program(s) got sandbox_error (the sandbox, not the program, failed): {reason}" in (
        run.stderr
    )

    listing = subprocess.run(["lit-parallel", "languages"], capture_output=True, text=True, env=env, timeout=600)
    cpp = next(line for line in listing.stdout.splitlines() if line.startswith("cpp "))
    assert "cpp canary failed in the sandbox" in cpp, listing.stdout
    python = next(line for line in listing.stdout.splitlines() if line.startswith("python "))
    assert python.split()[4:5] == ["ok"], python  # toolchain ok, canary ok


def tiny_rl(tmp_path: Path, *overrides: str):
    args = ["--config", str(TINY_RL), f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"]
    return build_lightning_cli([*args, "--trainer.max_steps=1", "--data.init_args.chat=false", *overrides], run=False)


def test_an_rl_step_drops_sandbox_errors_instead_of_training_on_zeros(hidden_gxx, tmp_path, monkeypatch):
    """One real step on a python and a cpp prompt, cpp's compiler hidden: the cpp completions are
    counted and left out of the update; the python ones get the advantages of their group alone."""
    cli = tiny_rl(tmp_path, "--model.init_args.execution.max_sandbox_error_share=0.6")
    module, dm = cli.model, cli.datamodule
    dm.setup("fit")
    [cpp] = dm.prompts([p for p in dm.train_problems if p.task_id == dm.train_rows[0].task_id], ["cpp"])["cpp"]
    dm.train_rows = [dm.train_rows[0], cpp]
    seen = {}
    update = grpo.GRPOModule.update

    def observed(self, rollouts, adv, rows):  # the real update, its inputs kept
        seen.update(rollouts=rollouts, adv=adv.clone(), rows=list(rows))
        return update(self, rollouts, adv, rows)

    monkeypatch.setattr(grpo.GRPOModule, "update", observed)
    cli.trainer.fit(module, datamodule=dm)

    rollouts, size = seen["rollouts"], module.sampling.n
    errors = [i for i, v in enumerate(rollouts.verdicts) if v == Verdict.SANDBOX_ERROR.value]
    assert sorted(rollouts.languages[i] for i in errors) == ["cpp"] * size, rollouts.verdicts
    assert seen["rows"] == [i for i in range(2 * size) if i not in errors]
    assert float(cli.trainer.callback_metrics["rl/sandbox_errors"]) == size
    kept = [r for r in range(2 * size) if r not in errors]
    alone = advantages(rollouts.rewards[kept].view(1, size), module.algo.estimator).view(-1)
    assert seen["adv"][kept].tolist() == pytest.approx(alone.tolist())
    assert seen["adv"][errors].abs().sum() == 0


def test_an_rl_run_stops_when_too_many_completions_are_sandbox_errors(hidden_gxx, tmp_path):
    cli = tiny_rl(
        tmp_path, "--data.init_args.mixture.source_language=cpp", "--data.init_args.mixture.languages={cpp: 1.0}"
    )
    with pytest.raises(SandboxFailure, match=r"RL step 0: 8 of 8 programs got sandbox_error .* cpp canary failed"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
