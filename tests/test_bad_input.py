"""Bad input on every command, as a user meets it: the real ``lit-parallel`` in a subprocess.

Each case must end in exactly one line on stderr, ``lit-parallel: <where>: <what>``, exit code 2, no
traceback, and nothing new in the working directory (no partial output in the output's place).
``{tmp}`` in a case's arguments is the working directory, which holds the files of FIXTURES.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from lit_parallel.commands.lightning import LIGHTNING_COMMANDS

ROOT = Path(__file__).resolve().parents[1]
TINY_SFT = ROOT / "configs" / "tiny" / "sft.yaml"
EVAL = ["evaluate", "--dataset", "bundled", "--output", "{tmp}/eval.json"]
TINY_EVAL = [*EVAL, "--config", str(TINY_SFT)]
EXEC = ["exec", "--input", "{tmp}/programs.jsonl", "--output", "{tmp}/verdicts.jsonl"]
ALIGN = ["align", "--output", "{tmp}/align.json"]
TRANSLATE = ["data", "translate", "--dataset", "bundled", "--output", "{tmp}/translated.jsonl"]


def mixture(**changes: object) -> dict:
    """The tiny SFT config with ``data.init_args.mixture`` changed."""
    config = yaml.safe_load(TINY_SFT.read_text())
    config["data"]["init_args"]["mixture"].update(changes)
    return config


def data_args(**changes: object) -> dict:
    """The tiny SFT config with ``data.init_args`` changed."""
    config = yaml.safe_load(TINY_SFT.read_text())
    config["data"]["init_args"].update(changes)
    return config


FIXTURES = {
    "programs.jsonl": '{"id": 1, "language": "python", "code": "print(1)"}\n',
    "a_file.txt": "not a model\n",
    "a_dir/.keep": "",
    "no_config/tokenizer_config.json": "{}",
    "no_tokenizer/config.json": "{}",
    "no_adapter/config.json": "{}",
    "not_yaml.yaml": "model: [unclosed\n",
    "bad_quantization.yaml": (
        "model:\n  class_path: lit_parallel.modules.sft.SFTModule\n"
        "  init_args:\n    model: {source: packaged:smollm2-135m-instruct, quantization: nf5}\n"
    ),
    "klingon.yaml": mixture(languages={"python": 0.5, "klingon": 0.5}),
    "alias.yaml": mixture(languages={"py": 1.0}),
    "zero_shares.yaml": mixture(languages={"python": 0.0, "lua": 0.0}),
    "negative_share.yaml": mixture(languages={"python": 1.0, "lua": -0.5}),
    "bad_format.yaml": mixture(formats={"pairs": 1.0}),
    "no_examples.yaml": mixture(num_examples=0),
    "no_rust.yaml": mixture(languages={"python": 0.5, "rust": 0.5}),
    "no_dataset.yaml": data_args(datasets=["bundled", "nosuch.jsonl"]),
    "bad_spec.yaml": data_args(eval_datasets=["apps:x"]),
    "eval_klingon.yaml": data_args(eval_languages=["python", "klingon"]),
    "batch_zero.yaml": data_args(batch_size=0),
}

CASES = {
    # The rows of issue 19's table.
    "exec-missing-input": (
        ["exec", "--input", "/nonexistent", "--output", "{tmp}/out.jsonl"],
        "--input: /nonexistent: no such file",
    ),
    "evaluate-missing-model": (
        ["evaluate", "--model", "/nonexistent", *EVAL[1:]],
        "--model: /nonexistent: no such file",
    ),
    "evaluate-missing-adapter": ([*EVAL, "--adapter", "/nonexistent"], "--adapter: /nonexistent: no such file"),
    "stats-missing-tokenizer": (
        ["data", "stats", "--dataset", "bundled", "--tokenizer", "/nonexistent"],
        "--tokenizer: /nonexistent: no such file",
    ),
    "evaluate-unknown-language": ([*EVAL, "--languages", "klingon"], "--languages: unknown language 'klingon'"),
    "evaluate-n-zero": ([*EVAL, "--n", "0"], "--n: must be at least 1, got 0"),
    "evaluate-k-above-n": ([*EVAL, "--k", "5", "--n", "1"], "--k: pass@5 needs at least 5 samples per problem"),
    # exec
    "exec-input-is-dir": (
        ["exec", "--input", "{tmp}/a_dir", "--output", "{tmp}/o.jsonl"],
        "--input: .* is a directory",
    ),
    "exec-output-is-dir": (
        ["exec", "--input", "{tmp}/programs.jsonl", "--output", "{tmp}/a_dir"],
        "--output: .*a_dir is a directory",
    ),
    "exec-output-under-file": (
        ["exec", "--input", "{tmp}/programs.jsonl", "--output", "{tmp}/a_file.txt/v.jsonl"],
        "--output: .*a_file.txt is a file, not a directory",
    ),
    "exec-workers-zero": ([*EXEC, "--workers", "0"], "--workers: must be at least 1, got 0"),
    "exec-timeout-zero": ([*EXEC, "--timeout", "0"], "--timeout: must be positive, got 0.0"),
    "exec-memory-negative": ([*EXEC, "--memory-mb", "-5"], "--memory-mb: must be positive, got -5"),
    # data verify | stats
    "verify-missing-dataset": (["data", "verify", "--dataset", "nosuch.jsonl"], "nosuch.jsonl: no such file"),
    "verify-unknown-format": (["data", "verify", "--dataset", "apps:x"], "apps:x: unknown dataset format 'apps'"),
    "verify-data-only-language": (
        ["data", "verify", "--dataset", "bundled", "--languages", "kotlin"],
        "--languages: the executor cannot run kotlin",
    ),
    "verify-timeout-negative": (
        ["data", "verify", "--dataset", "bundled", "--timeout", "-1"],
        "--timeout: must be positive",
    ),
    "stats-unknown-language": (
        ["data", "stats", "--dataset", "bundled", "--languages", "klingon"],
        "--languages: unknown language 'klingon'",
    ),
    "stats-tokenizer-dir-without-tokenizer": (
        ["data", "stats", "--dataset", "bundled", "--tokenizer", "{tmp}/no_tokenizer"],
        "--tokenizer: .*no_tokenizer: the directory has no tokenizer_config.json",
    ),
    # evaluate: model sources
    "evaluate-hub-id-offline": (
        ["evaluate", "--model", "no-such-org/no-such-model", *EVAL[1:]],
        "--model: no-such-org/no-such-model: no such local directory, and as a hub id: not cached here and the hub "
        "is offline",
    ),
    "evaluate-model-dir-without-config": (
        ["evaluate", "--model", "{tmp}/no_config", *EVAL[1:]],
        "--model: .*no_config: the directory has no config.json",
    ),
    "evaluate-model-is-a-file": (
        ["evaluate", "--model", "{tmp}/a_file.txt", *EVAL[1:]],
        "--model: .*a_file.txt: a file, not a directory or a .gguf file",
    ),
    "evaluate-missing-gguf": (
        ["evaluate", "--model", "{tmp}/m.gguf", *EVAL[1:]],
        "--model: .*m.gguf: no such GGUF file",
    ),
    "evaluate-adapter-without-adapter-config": (
        [*EVAL, "--adapter", "{tmp}/no_adapter"],
        "--adapter: .*no_adapter: the directory has no adapter_config.json",
    ),
    "evaluate-missing-config": ([*EVAL, "--config", "{tmp}/nosuch.yaml"], "--config: .*nosuch.yaml: no such file"),
    "evaluate-config-not-yaml": ([*EVAL, "--config", "{tmp}/not_yaml.yaml"], "--config: .*not_yaml.yaml:2: not YAML"),
    "evaluate-config-bad-model-key": (
        [*EVAL, "--config", "{tmp}/bad_quantization.yaml"],
        """--config: .*bad_quantization.yaml: field 'model': Parser key "quantization": Expected .*nf5""",
    ),
    "evaluate-missing-checkpoint": ([*EVAL, "--checkpoint", "{tmp}/x.ckpt"], "--checkpoint: .*x.ckpt: no such file"),
    # evaluate: numbers, languages, data, output
    "evaluate-k-zero": ([*EVAL, "--k", "0"], "--k: must be at least 1, got 0"),
    "evaluate-target-not-evaluated": (
        [*EVAL, "--languages", "python", "--targets", "go"],
        r"--targets: unknown 'go' \(known: python\)",
    ),
    "evaluate-top-p-zero": ([*EVAL, "--top-p", "0"], r"--top-p: must be in \(0, 1\], got 0.0"),
    "evaluate-negative-temperature": ([*EVAL, "--temperature", "-1"], "--temperature: must be at least 0"),
    "evaluate-no-new-tokens": ([*EVAL, "--max-new-tokens", "0"], "--max-new-tokens: must be at least 1"),
    "evaluate-batch-size-zero": ([*EVAL, "--batch-size", "0"], "--batch-size: must be at least 1"),
    "evaluate-limit-zero": ([*EVAL, "--limit", "0"], "--limit: must be at least 1"),
    "evaluate-workers-zero": ([*EVAL, "--workers", "0"], "--workers: must be at least 1"),
    "evaluate-output-is-dir": ([*EVAL, "--output", "{tmp}/a_dir"], "--output: .*a_dir is a directory"),
    "evaluate-missing-dataset": ([*EVAL, "--dataset", "nosuch.jsonl"], "nosuch.jsonl: no such file"),
    # data translate
    "translate-data-only-target": (
        [*TRANSLATE, "--to", "go", "kotlin"],
        "--to: the executor cannot run kotlin",
    ),
    "translate-samples-zero": ([*TRANSLATE, "--to", "go", "--samples", "0"], "--samples: must be at least 1, got 0"),
    "translate-missing-candidates": (
        [*TRANSLATE, "--to", "go", "--candidates", "{tmp}/nosuch.jsonl"],
        "--candidates: .*nosuch.jsonl: no such file",
    ),
    "translate-no-targets": ([*TRANSLATE], r"data translate: --to is required \(or translate.to in --config\)"),
    # align
    "align-unknown-language": ([*ALIGN, "--languages", "python", "klingon"], "--languages: unknown language 'klingon'"),
    "align-limit-one": ([*ALIGN, "--limit", "1"], "--limit: must be at least 2, got 1"),
    "align-missing-compare": ([*ALIGN, "--compare", "{tmp}/old.json"], "--compare: .*old.json: no such file"),
    "align-missing-model": ([*ALIGN, "--model", "/nonexistent"], "--model: /nonexistent: no such file"),
    # experiment
    "experiment-missing-config": (
        ["experiment", "--config", "{tmp}/nosuch.yaml"],
        "--config: .*nosuch.yaml: no such file",
    ),
    # LightningCLI configs: the project's classes name the config key.
    "fit-unknown-language": (
        ["fit", "--config", "{tmp}/klingon.yaml"],
        "data.init_args.mixture.languages: unknown language 'klingon'",
    ),
    "fit-language-alias": (
        ["fit", "--config", "{tmp}/alias.yaml"],
        "data.init_args.mixture.languages: write 'python', not 'py'",
    ),
    "fit-zero-shares": (
        ["fit", "--config", "{tmp}/zero_shares.yaml"],
        "data.init_args.mixture.languages: shares must have a positive sum",
    ),
    "fit-negative-share": (
        ["fit", "--config", "{tmp}/negative_share.yaml"],
        "data.init_args.mixture.languages: the share of 'lua' must be a non-negative number, got -0.5",
    ),
    "fit-unknown-format": (
        ["fit", "--config", "{tmp}/bad_format.yaml"],
        "data.init_args.mixture.formats: unknown 'pairs'",
    ),
    "fit-no-examples": (
        ["fit", "--config", "{tmp}/no_examples.yaml"],
        "data.init_args.mixture.num_examples: must be at least 1",
    ),
    "fit-missing-dataset": (
        ["fit", "--config", "{tmp}/no_dataset.yaml"],
        r"data.init_args.datasets\[1\]: nosuch.jsonl: no such file",
    ),
    "fit-unknown-eval-dataset-format": (
        ["fit", "--config", "{tmp}/bad_spec.yaml"],
        r"data.init_args.eval_datasets\[0\]: apps:x: unknown dataset format 'apps'",
    ),
    "fit-unknown-eval-language": (
        ["fit", "--config", "{tmp}/eval_klingon.yaml"],
        "data.init_args.eval_languages: unknown language 'klingon'",
    ),
    "fit-batch-size-zero": (
        ["fit", "--config", "{tmp}/batch_zero.yaml"],
        "data.init_args.batch_size: must be at least 1, got 0",
    ),
}

AFTER_READING = {
    # What depends on the data is known once the data is read: after the command's own start-up
    # output (Lightning's banner), still one line of error, last. By then the trainer has made its run
    # directory (runs/...: an events file), the one thing such a refusal leaves behind.
    "fit-language-without-solutions": (
        ["fit", "--config", "{tmp}/no_rust.yaml"],
        "data.init_args.mixture.languages: no training problem has a solution in rust",
    ),
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name, content in FIXTURES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return tmp_path


def files_under(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*")}


def refused(argv: list[str], message: str, workdir: Path, made: str | None = None) -> list[str]:
    """Runs ``lit-parallel argv`` in ``workdir``; asserts exit 2, no traceback, nothing written, and that
    the last line on stderr is ``lit-parallel: <message>`` (the config file first for LightningCLI).
    ``made``: the one directory the command may have created. Returns the lines of stderr."""
    argv = [arg.replace("{tmp}", str(workdir)) for arg in argv]
    before = files_under(workdir)
    # The hub is offline for every case: a hub id is never fetched (and no case waits on a network).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(["lit-parallel", *argv], capture_output=True, text=True, cwd=workdir, env=env, timeout=600)
    lines = run.stderr.strip().splitlines()
    if argv[0] in LIGHTNING_COMMANDS:
        message = f"{re.escape(argv[argv.index('--config') + 1])}: {message}"
    assert "Traceback" not in run.stderr, run.stderr
    assert lines and re.match(f"lit-parallel: {message}", lines[-1]), run.stderr
    assert sum(line.startswith("lit-parallel:") for line in lines) == 1, run.stderr
    assert run.returncode == 2
    new = files_under(workdir) - before
    assert not [p for p in new if not (made and p.is_relative_to(workdir / made))], "it wrote something"
    return lines


@pytest.mark.parametrize("case", CASES)
def test_bad_input_ends_in_one_line_and_exit_2_before_anything_runs(case: str, workdir: Path) -> None:
    lines = refused(*CASES[case], workdir)
    # Lightning announces the seed before it builds any class of a config: the one line it may precede.
    assert [line for line in lines if not re.fullmatch(r"Seed set to \d+", line)] == lines[-1:], lines


@pytest.mark.parametrize("case", AFTER_READING)
def test_bad_input_found_in_the_data_ends_in_one_last_line_and_exit_2(case: str, workdir: Path) -> None:
    refused(*AFTER_READING[case], workdir, made="runs")
