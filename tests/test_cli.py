"""The command line as a user runs it: `lit-parallel languages`, `exec` and `data`."""

import json
import os
import re
import subprocess
import sys

from lit_parallel import cli
from lit_parallel.execution import LANGUAGES, languages
from lit_parallel.problems.bundled import bundled_corpus


def test_languages_lists_every_language_with_its_toolchain_status():
    out = subprocess.run(["lit-parallel", "languages"], capture_output=True, text=True, check=True).stdout
    for lang in LANGUAGES:
        line = next(row for row in out.splitlines() if row.startswith(lang.name + " "))
        assert ("ok" in line.split()) == lang.available, line
    assert "sandbox: bubblewrap" in out


def write_jsonl(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")


def test_exec_judges_good_lines_and_names_bad_ones(tmp_path, capsys, monkeypatch):
    programs = tmp_path / "programs.jsonl"
    write_jsonl(
        programs,
        [
            {
                "id": "ok",
                "language": "python",
                "code": "print(sum(map(int, input().split())))",
                "tests": [{"stdin": "1 2", "stdout": "3"}],
            },
            "{not json",
            {"id": "no-code", "language": "python"},
            {"id": "cobol", "language": "cobol", "code": "DISPLAY 'HI'."},
            {"id": "go-missing", "language": "go", "code": "package main\nfunc main() {}"},
            {"id": "bad-tests", "language": "python", "code": "", "tests": [{"stdin": 1}]},
            {"id": "script", "language": "py", "code": "assert 1 + 1 == 3"},
        ],
    )
    real_which = languages._which
    monkeypatch.setattr(languages, "_which", lambda tool: None if tool == "go" else real_which(tool))
    verdicts = tmp_path / "out" / "verdicts.jsonl"

    code = cli.main(["exec", "--input", str(programs), "--output", str(verdicts), "--execution.timeout_s", "5"])

    err = capsys.readouterr().err
    assert code == 1
    assert f"{programs}:2: not JSON" in err
    assert f"{programs}:3: field 'code' is missing" in err
    assert f"{programs}:4: field 'language': unknown language 'cobol'" in err
    assert f"{programs}:5: field 'language': go toolchain missing (go not found); install: golang-go" in err
    assert f"{programs}:6: field 'tests' must be a list" in err
    rows = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert [(r["id"], r["language"], r["verdict"], r["passed"]) for r in rows] == [
        ("ok", "python", "passed", True),
        ("script", "python", "failed", False),
    ]
    assert set(rows[0]) >= {"id", "language", "verdict", "passed", "duration_s", "stderr_tail"}
    assert "AssertionError" in rows[1]["stderr_tail"]


def test_exec_exits_zero_when_every_line_was_judged(tmp_path):
    programs = tmp_path / "programs.jsonl"
    write_jsonl(programs, [{"id": 1, "language": "javascript", "code": "process.exit(3)"}])
    verdicts = tmp_path / "verdicts.jsonl"
    run = subprocess.run(
        ["lit-parallel", "exec", "--input", programs, "--output", verdicts], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(verdicts.read_text())["verdict"] == "runtime_error"
    assert "1 programs judged" in run.stderr


def test_data_verify_runs_every_solution_and_fails_on_a_wrong_one(tmp_path, capsys):
    good = {
        "task_id": "lp/9001-double",
        "description": "Print 2n.",
        "tests": [{"stdin": "21\n", "stdout": "42\n"}],
        "solutions": {
            "python": "print(2 * int(input()))",
            "javascript": "console.log(2 * +require('fs').readFileSync(0, 'utf8'))",
        },
    }
    bad = {**good, "task_id": "lp/9002-wrong", "solutions": {"python": "print(int(input()))"}}
    path = tmp_path / "data.jsonl"
    write_jsonl(path, [good])
    assert cli.main(["data", "verify", "--dataset", str(path)]) == 0
    assert "javascript  1       1" in capsys.readouterr().out
    write_jsonl(path, [good, bad])
    assert cli.main(["data", "verify", "--dataset", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "python      1       2" in out
    assert "FAILED lp/9002-wrong [python]: failed" in err


def test_data_verify_names_the_bad_line(tmp_path, capsys):
    path = tmp_path / "data.jsonl"
    path.write_text('{"task_id": "x"}\n')
    assert cli.main(["data", "verify", "--dataset", str(path)]) == 2
    assert f"{path}:1: field 'description' is missing" in capsys.readouterr().err


def test_data_verify_names_a_solution_whose_toolchain_is_missing_before_running_anything(tmp_path):
    path = tmp_path / "data.jsonl"
    record = {
        "task_id": "lp/9003-echo",
        "description": "Echo a line.",
        "tests": [{"stdin": "hi\n", "stdout": "hi\n"}],
        "solutions": {"python": "print(input())", "ruby": "puts gets"},
    }
    write_jsonl(path, [record])
    # A PATH without ruby on it stands for a machine without the toolchain.
    env = {**os.environ, "PATH": str(tmp_path)}
    command = [sys.executable, "-m", "lit_parallel.cli", "data", "verify", "--dataset", str(path)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"lit-parallel: {path}:1: field 'solutions.ruby': ruby toolchain missing (ruby not found")


def test_data_verify_refuses_a_language_the_executor_cannot_run(tmp_path, capsys):
    path = tmp_path / "data.jsonl"
    record = {"task_id": "k", "description": "d", "tests": [{"stdin": "", "stdout": "1\n"}], "solutions": {"kt": "x"}}
    write_jsonl(path, [record])
    assert cli.main(["data", "verify", "--dataset", str(path)]) == 2
    assert f"{path}:1: field 'solutions.kotlin': the executor cannot run kotlin" in capsys.readouterr().err


def test_data_stats_counts_problems_splits_groups_and_tokens(tokenizer, capsys):
    assert cli.main(["data", "stats", "--dataset", "bundled", "--languages", "[python, go]"]) == 0
    out = capsys.readouterr().out
    problems = bundled_corpus()
    train = sum(p.split == "train" for p in problems)
    solutions = [p.variants["go"].solution for p in problems]
    tokens = sum(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in solutions)
    go_row = next(line.split() for line in out.splitlines() if line.startswith("go "))
    n = str(len(problems))
    assert go_row[:7] == ["go", n, str(train), str(len(problems) - train), n, n, str(tokens)]
    assert re.search(rf"^2\s+{n}$", out, re.MULTILINE)  # every problem is a parallel group of both languages
