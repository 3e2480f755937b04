"""One config mechanism for every tool command: ``--print_config`` prints a command's options as a YAML
that ``--config`` reads back into the very same options, and the run it reproduces writes the same
outputs (the experiment's dry run prints the same stages). Every spec in it validates itself."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lit_parallel.cli import COMMANDS, find_command, main
from lit_parallel.commands.arguments import parse
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.problems.schema import problem_record

ROOT = Path(__file__).resolve().parents[1]
TINY_SFT = ROOT / "configs" / "tiny" / "sft.yaml"
TINY_EXPERIMENT = ROOT / "configs" / "experiments" / "tiny.yaml"


def without(rows: list[dict], *keys: str) -> list[dict]:
    """The rows without fields that differ between two runs of the same work (wall times)."""
    return [{k: v for k, v in row.items() if k not in keys} for row in rows]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def untimed(text: str) -> str:
    """Printed output without its measured seconds and rates."""
    return re.sub(r"[\d.]+ ?(s|/s|tok/s)\b", "T", text)


# command line -> what its run leaves behind that a second run of the same options must reproduce
CASES = {
    "exec": (
        ["exec", "--input={tmp}/programs.jsonl", "--output={tmp}/out/verdicts.jsonl", "--execution.timeout_s=5"],
        lambda tmp, out: without(jsonl(tmp / "out" / "verdicts.jsonl"), "duration_s"),
    ),
    "data verify": (
        ["data", "verify", "--dataset={tmp}/problems.jsonl", "--languages=[python]", "--execution.workers=2"],
        lambda tmp, out: out,
    ),
    "data stats": (
        ["data", "stats", "--dataset={tmp}/problems.jsonl", "--languages=[python, lua]"],
        lambda tmp, out: out,
    ),
    "data translate": (
        [
            *["data", "translate", "--dataset={tmp}/python_only.jsonl", "--targets=[lua]"],
            *["--output={tmp}/out/t.jsonl", "--candidates={tmp}/candidates.jsonl"],
            *["--execution.workers=2", "--execution.memory_mb=1024"],
        ],
        lambda tmp, out: (jsonl(tmp / "out" / "t.jsonl"), untimed(out)),
    ),
    "evaluate": (
        [
            *["evaluate", f"--model.fit_config={TINY_SFT}", "--languages=[python]", "--limit=1"],
            *["--output={tmp}/out/e.json", "--sampling.max_new_tokens=4", "--execution.workers=1"],
        ],
        lambda tmp, out: (
            json.loads((tmp / "out" / "e.json").read_text())["metrics"],
            without(jsonl(tmp / "out" / "e.jsonl"), "duration_s"),
        ),
    ),
    "align": (
        [
            *["align", f"--model.fit_config={TINY_SFT}", "--languages=[python, lua]", "--limit=2"],
            *["--max_length=32", "--pooling=[mean]", "--output={tmp}/out/a.json"],
        ],
        lambda tmp, out: json.loads((tmp / "out" / "a.json").read_text())["curves"],
    ),
    "experiment": (
        ["experiment", f"--config={TINY_EXPERIMENT}", "--output_dir={tmp}/run", "--seeds=[3]", "--dry_run"],
        lambda tmp, out: out,
    ),
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The inputs of the cases: programs, problems (python and lua), the same problems in python only
    with lua candidates (each problem's reference solution)."""
    problems = [p for p in bundled_corpus() if p.split == "train"][:2]
    (tmp_path / "programs.jsonl").write_text(
        json.dumps(
            {"id": "a", "language": "python", "code": "print(input())", "tests": [{"stdin": "1", "stdout": "1"}]}
        )
        + "\n"
        + json.dumps({"id": "b", "language": "lua", "code": "print(2)", "tests": [{"stdin": "", "stdout": "3"}]})
        + "\n"
    )
    rows = [problem_record(replace(p, variants={k: p.variants[k] for k in ("python", "lua")})) for p in problems]
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    rows = [problem_record(replace(p, variants={"python": p.variants["python"]})) for p in problems]
    (tmp_path / "python_only.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    candidates = [{"task_id": p.task_id, "language": "lua", "code": p.variants["lua"].solution} for p in problems]
    (tmp_path / "candidates.jsonl").write_text("".join(json.dumps(c) + "\n" for c in candidates))
    return tmp_path


def test_every_tool_command_has_a_case():
    assert set(COMMANDS) - {"languages"} == set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_print_config_fed_back_reproduces_the_same_run(case, workdir, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the experiment's stage configs are relative to the project
    argv, outcome = CASES[case]
    argv = [arg.replace("{tmp}", str(workdir)) for arg in argv]
    command, flags = find_command(argv)
    words = argv[: len(argv) - len(flags)]

    assert main([*argv, "--print_config"]) == 0
    printed = workdir / "printed.yaml"
    printed.write_text(capsys.readouterr().out)
    assert yaml.safe_load(printed.read_text())  # a YAML of every option
    assert parse(command, ["--config", str(printed)]) == parse(command, flags)

    before = set(workdir.rglob("*"))
    assert main(argv) in (0, 1)
    first = outcome(workdir, capsys.readouterr().out)
    for path in sorted(set(workdir.rglob("*")) - before, reverse=True):  # the second run starts afresh
        path.rmdir() if path.is_dir() else path.unlink()
    assert main([*words, "--config", str(printed)]) in (0, 1)
    assert outcome(workdir, capsys.readouterr().out) == first


def test_the_sampling_and_execution_specs_keep_their_names_and_defaults_in_every_command():
    """``sampling`` and ``execution`` are the dataclasses a fit's YAML holds (``model.init_args.sampling``,
    ``.execution``), under the same keys and with the same defaults, in every command that uses them."""
    from lit_parallel.execution import ExecutionSpec
    from lit_parallel.generation import SamplingSpec

    required = {
        "exec": ["--input=i", "--output=o"],
        "data verify": ["--dataset=x"],
        "data translate": ["--dataset=x", "--targets=[go]", "--output=o"],
        "evaluate": [],
    }
    for name, argv in required.items():
        samples = "sampling" in COMMANDS[name].options.__dataclass_fields__
        options, _ = parse(COMMANDS[name], [*argv, "--sampling.top_p=0.5"] if samples else argv)
        assert options.execution == ExecutionSpec()
        assert not samples or options.sampling == SamplingSpec(top_p=0.5)
