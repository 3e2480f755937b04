"""Bad input on every command, as a user meets it: ``lit-parallel`` with the bad flag, config key or file.

Each case must end in exactly one line on stderr, ``lit-parallel: <where>: <what>``, exit code 2, no
traceback, and nothing new in the working directory (no partial output in the output's place). Where
the value came from a config file, ``<where>`` names the file and the line of its key.
``{tmp}`` in a case's arguments is the working directory, which holds the files of FIXTURES.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from lit_parallel.cli import main
from lit_parallel.commands.lightning import LIGHTNING_COMMANDS

ROOT = Path(__file__).resolve().parents[1]
TINY_SFT = ROOT / "configs" / "tiny" / "sft.yaml"
TINY_EXPERIMENT = ROOT / "configs" / "experiments" / "tiny.yaml"
EVAL = ["evaluate", "--output={tmp}/eval.json"]
TINY_EVAL = [*EVAL, f"--model.fit_config={TINY_SFT}"]
EXEC = ["exec", "--input={tmp}/programs.jsonl", "--output={tmp}/verdicts.jsonl"]
ALIGN = ["align", "--output={tmp}/align.json"]
TRANSLATE = ["data", "translate", "--dataset=bundled", "--output={tmp}/translated.jsonl"]


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


def model_args(section: str, **changes: object) -> dict:
    """The tiny SFT config with ``model.init_args.<section>`` changed (``model``: the ModelSpec)."""
    config = yaml.safe_load(TINY_SFT.read_text())
    config["model"]["init_args"][section].update(changes)
    return config


def experiment(**changes: object) -> dict:
    """The tiny experiment, its stage configs found from anywhere, with top-level fields changed."""
    config = yaml.safe_load(TINY_EXPERIMENT.read_text())
    config["arms"] = {"parallel": str(TINY_SFT)}
    return {**config, "rl_config": None, "alignment": None, "also_evaluate": {}, **changes}


def safetensors_bytes(cut: bool) -> bytes:
    """A small safetensors file, whole or cut in the middle of its tensors (a truncated download)."""
    import torch
    from safetensors.torch import save

    data = save({"weight": torch.zeros(64, 64)})
    return data[: len(data) // 2] if cut else data


def checkpoint_bytes() -> bytes:
    """A torch checkpoint cut in half."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"state_dict": {"w": torch.zeros(256)}}, buffer)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def gguf_bytes() -> bytes:
    """The first MB of the packaged GGUF file: its header, and no room for its tensors."""
    from lit_parallel.modeling import packaged_gguf

    with packaged_gguf().open("rb") as fh:
        return fh.read(1 << 20)


ADAPTER_CONFIG = '{"peft_type": "LORA", "r": 8, "target_modules": "all-linear"}'
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
    # Non-finite numbers and values out of range, in a training config.
    "lr_inf.yaml": model_args("optimizer", lr=float("inf")),
    "lora_rank_zero.yaml": model_args("model", lora={"r": 0}),
    # Non-finite numbers, a misspelt key and a syntax error in a command's own config.
    "eval_nan.yaml": "sampling:\n  n: 1\n  top_p: .nan\n",
    "eval_inf.yaml": "execution:\n  timeout_s: .inf\n",
    "eval_typo.yaml": "sampling:\n  max_new_token: 8\n",
    "eval_syntax.yaml": "sampling:\n  n: 1\n    top_p: 0.9\n",
    # Experiments: a syntax error, a non-finite number in a measurement's options, an old flat key.
    "exp_syntax.yaml": "name: tiny\narms: {parallel: [configs/tiny/sft.yaml}\n",
    "exp_nan.yaml": experiment(evaluation={"sampling": {"temperature": float("nan")}}),
    "exp_flat_key.yaml": experiment(evaluation={"max_new_tokens": 8}),
    # Corrupt and truncated files of every kind the commands load.
    "trunc_adapter/adapter_config.json": ADAPTER_CONFIG,
    "trunc_adapter/adapter_model.safetensors": safetensors_bytes(cut=True),
    "corrupt_adapter/adapter_config.json": '{"peft_type": "LORA", "r": ',
    "corrupt_adapter/adapter_model.safetensors": safetensors_bytes(cut=False),
    "trunc_model/config.json": '{"model_type": "llama"}',
    "trunc_model/tokenizer_config.json": "{}",
    "trunc_model/model.safetensors": safetensors_bytes(cut=True),
    "corrupt_model/config.json": '{"model_type": "lla',
    "trunc.gguf": gguf_bytes(),
    "trunc.ckpt": checkpoint_bytes(),
    "garbage.ckpt": b"\x00\x01 not a checkpoint",
    "trunc.jsonl": (
        '{"task_id": "lp/1", "description": "d", "tests": [{"stdin": "", "stdout": "1"}], "solutions": {}}\n'
        '{"task_id": "lp/2", "descr'
    ),
    "binary.jsonl": bytes(range(128, 256)),
    "trunc.jsonl.gz": __import__("gzip").compress(b'{"task_id": "x"}\n' * 2000)[:20],
    "trunc_report.json": '{"languages": ["python"], "task_',
    "trunc_candidates.jsonl": '{"task_id": "lp/0001-',
}

CASES = {
    # The rows of issue 19's table.
    "exec-missing-input": (
        ["exec", "--input=/nonexistent", "--output={tmp}/out.jsonl"],
        "input: /nonexistent: no such file",
    ),
    "evaluate-missing-model": (
        [*EVAL, "--model.source=/nonexistent"],
        "model.source: /nonexistent: no such file",
    ),
    "evaluate-missing-adapter": ([*EVAL, "--model.adapter=/nonexistent"], "model.adapter: /nonexistent: no such file"),
    "stats-missing-tokenizer": (
        ["data", "stats", "--dataset=bundled", "--tokenizer=/nonexistent"],
        "tokenizer: /nonexistent: no such file",
    ),
    "evaluate-unknown-language": ([*EVAL, "--languages=[klingon]"], "languages: unknown language 'klingon'"),
    "evaluate-n-zero": ([*EVAL, "--sampling.n=0"], "sampling.n: must be at least 1, got 0"),
    "evaluate-k-above-n": ([*EVAL, "--ks=[5]", "--sampling.n=1"], "ks: pass@5 needs at least 5 samples per problem"),
    # exec
    "exec-input-is-dir": (
        ["exec", "--input={tmp}/a_dir", "--output={tmp}/o.jsonl"],
        "input: .* is a directory",
    ),
    "exec-output-is-dir": (
        ["exec", "--input={tmp}/programs.jsonl", "--output={tmp}/a_dir"],
        "output: .*a_dir is a directory",
    ),
    "exec-output-under-file": (
        ["exec", "--input={tmp}/programs.jsonl", "--output={tmp}/a_file.txt/v.jsonl"],
        "output: .*a_file.txt is a file, not a directory",
    ),
    "exec-workers-zero": ([*EXEC, "--execution.workers=0"], "execution.workers: must be at least 1, got 0"),
    "exec-timeout-zero": ([*EXEC, "--execution.timeout_s=0"], "execution.timeout_s: must be positive, got 0.0"),
    "exec-memory-negative": ([*EXEC, "--execution.memory_mb=-5"], "execution.memory_mb: must be positive, got -5"),
    "exec-timeout-nan": ([*EXEC, "--execution.timeout_s=nan"], "execution.timeout_s: expected a number, got nan"),
    "exec-unknown-isolation": (
        [*EXEC, "--execution.isolation=docker"],
        "execution.isolation: expected one of 'auto', 'bwrap', 'rlimits', got docker",
    ),
    "exec-binary-input": (
        ["exec", "--input={tmp}/binary.jsonl", "--output={tmp}/o.jsonl"],
        ".*binary.jsonl:1: not readable text",
    ),
    "exec-missing-input-flag": (["exec", "--output={tmp}/o.jsonl"], "input: required"),
    # data verify | stats
    "verify-missing-dataset": (["data", "verify", "--dataset=nosuch.jsonl"], "nosuch.jsonl: no such file"),
    "verify-unknown-format": (["data", "verify", "--dataset=apps:x"], "apps:x: unknown dataset format 'apps'"),
    "verify-data-only-language": (
        ["data", "verify", "--dataset=bundled", "--languages=[kotlin]"],
        "languages: the executor cannot run kotlin",
    ),
    "verify-timeout-negative": (
        ["data", "verify", "--dataset=bundled", "--execution.timeout_s=-1"],
        "execution.timeout_s: must be positive",
    ),
    "verify-truncated-dataset": (["data", "verify", "--dataset={tmp}/trunc.jsonl"], ".*trunc.jsonl:2: not JSON"),
    "verify-binary-dataset": (
        ["data", "verify", "--dataset={tmp}/binary.jsonl"],
        ".*binary.jsonl:1: not readable text",
    ),
    "verify-truncated-gzip": (
        ["data", "verify", "--dataset=humaneval-x:{tmp}/trunc.jsonl.gz"],
        ".*trunc.jsonl.gz:\\d+: not readable text",
    ),
    "stats-unknown-language": (
        ["data", "stats", "--dataset=bundled", "--languages=[klingon]"],
        "languages: unknown language 'klingon'",
    ),
    "stats-languages-not-a-list": (
        ["data", "stats", "--dataset=bundled", "--languages=python"],
        r"languages: expected a list or null, got python \(a list is written \[a, b\]\)",
    ),
    "stats-tokenizer-dir-without-tokenizer": (
        ["data", "stats", "--dataset=bundled", "--tokenizer={tmp}/no_tokenizer"],
        "tokenizer: .*no_tokenizer: the directory has no tokenizer_config.json",
    ),
    # evaluate: model sources
    "evaluate-hub-id-offline": (
        [*EVAL, "--model.source=no-such-org/no-such-model"],
        "model.source: no-such-org/no-such-model: no such local directory, and as a hub id: not cached here and "
        "the hub is offline",
    ),
    "evaluate-model-dir-without-config": (
        [*EVAL, "--model.source={tmp}/no_config"],
        "model.source: .*no_config: the directory has no config.json",
    ),
    "evaluate-model-is-a-file": (
        [*EVAL, "--model.source={tmp}/a_file.txt"],
        "model.source: .*a_file.txt: a file, not a directory or a .gguf file",
    ),
    "evaluate-missing-gguf": ([*EVAL, "--model.source={tmp}/m.gguf"], "model.source: .*m.gguf: no such GGUF file"),
    "evaluate-adapter-without-adapter-config": (
        [*EVAL, "--model.adapter={tmp}/no_adapter"],
        "model.adapter: .*no_adapter: the directory has no adapter_config.json",
    ),
    "evaluate-missing-fit-config": (
        [*EVAL, "--model.fit_config={tmp}/nosuch.yaml"],
        "model.fit_config: .*nosuch.yaml: no such file",
    ),
    "evaluate-fit-config-not-yaml": (
        [*EVAL, "--model.fit_config={tmp}/not_yaml.yaml"],
        r".*not_yaml.yaml:2: not YAML",
    ),
    "evaluate-fit-config-bad-model-key": (
        [*EVAL, "--model.fit_config={tmp}/bad_quantization.yaml"],
        r".*bad_quantization.yaml:4: quantization: expected one of 'none', 'nf4', .* or null, got nf5",
    ),
    "evaluate-missing-checkpoint": (
        [*EVAL, "--model.checkpoint={tmp}/x.ckpt"],
        "model.checkpoint: .*x.ckpt: no such file",
    ),
    "evaluate-checkpoint-and-adapter": (
        [*EVAL, "--model.checkpoint={tmp}/trunc.ckpt", "--model.adapter={tmp}/trunc_adapter"],
        "model.checkpoint: a checkpoint holds its model",
    ),
    # evaluate: corrupt and truncated model files, named before anything loads
    "evaluate-truncated-adapter": (
        [*EVAL, "--model.adapter={tmp}/trunc_adapter"],
        ".*trunc_adapter/adapter_model.safetensors: not a readable safetensors file",
    ),
    "evaluate-corrupt-adapter-config": (
        [*EVAL, "--model.adapter={tmp}/corrupt_adapter"],
        ".*corrupt_adapter/adapter_config.json: not a readable JSON file",
    ),
    "evaluate-truncated-model-weights": (
        [*EVAL, "--model.source={tmp}/trunc_model"],
        ".*trunc_model/model.safetensors: not a readable safetensors file",
    ),
    "evaluate-corrupt-model-config": (
        [*EVAL, "--model.source={tmp}/corrupt_model"],
        ".*corrupt_model/config.json: not a readable JSON file",
    ),
    "evaluate-truncated-gguf": ([*EVAL, "--model.source={tmp}/trunc.gguf"], ".*trunc.gguf: not a readable GGUF file"),
    "evaluate-truncated-checkpoint": (
        [*EVAL, "--model.checkpoint={tmp}/trunc.ckpt"],
        ".*trunc.ckpt: not a readable checkpoint",
    ),
    "evaluate-garbage-checkpoint": (
        [*EVAL, "--model.checkpoint={tmp}/garbage.ckpt"],
        ".*garbage.ckpt: not a readable checkpoint",
    ),
    # evaluate: numbers, languages, data, output, its own config file
    "evaluate-k-zero": ([*EVAL, "--ks=[0]"], "ks: must be at least 1, got 0"),
    "evaluate-target-not-evaluated": (
        [*EVAL, "--languages=[python]", "--targets=[go]"],
        r"targets: unknown 'go' \(known: python\)",
    ),
    "evaluate-top-p-zero": ([*EVAL, "--sampling.top_p=0"], r"sampling.top_p: must be in \(0, 1\], got 0.0"),
    "evaluate-top-p-inf": ([*EVAL, "--sampling.top_p=inf"], "sampling.top_p: expected a number, got inf"),
    "evaluate-negative-temperature": ([*EVAL, "--sampling.temperature=-1"], "sampling.temperature: must be at least 0"),
    "evaluate-no-new-tokens": ([*EVAL, "--sampling.max_new_tokens=0"], "sampling.max_new_tokens: must be at least 1"),
    "evaluate-batch-size-zero": ([*EVAL, "--sampling.batch_size=0"], "sampling.batch_size: must be at least 1"),
    "evaluate-limit-zero": ([*EVAL, "--limit=0"], "limit: must be at least 1"),
    "evaluate-workers-zero": ([*EVAL, "--execution.workers=0"], "execution.workers: must be at least 1"),
    "evaluate-output-is-dir": ([*EVAL, "--output={tmp}/a_dir"], "output: .*a_dir is a directory"),
    "evaluate-missing-dataset": ([*EVAL, "--dataset=[nosuch.jsonl]"], r"dataset\[0\]: nosuch.jsonl: no such file"),
    "evaluate-config-nan": (
        [*EVAL, "--config={tmp}/eval_nan.yaml"],
        ".*eval_nan.yaml:3: sampling.top_p: must be a finite",
    ),
    "evaluate-config-inf": (
        [*EVAL, "--config={tmp}/eval_inf.yaml"],
        ".*eval_inf.yaml:2: execution.timeout_s: must be a finite number, got inf",
    ),
    "evaluate-config-typo": (
        [*EVAL, "--config={tmp}/eval_typo.yaml"],
        ".*eval_typo.yaml:2: sampling.max_new_token: not an option of this command",
    ),
    "evaluate-config-syntax": ([*EVAL, "--config={tmp}/eval_syntax.yaml"], ".*eval_syntax.yaml:3: not YAML"),
    "evaluate-missing-own-config": ([*EVAL, "--config={tmp}/nosuch.yaml"], ".*nosuch.yaml: no such file"),
    # data translate
    "translate-data-only-target": (
        [*TRANSLATE, "--targets=[go, kotlin]"],
        "targets: the executor cannot run kotlin",
    ),
    "translate-samples-zero": (
        [*TRANSLATE, "--targets=[go]", "--sampling.n=0"],
        "sampling.n: must be at least 1, got 0",
    ),
    "translate-missing-candidates": (
        [*TRANSLATE, "--targets=[go]", "--candidates={tmp}/nosuch.jsonl"],
        "candidates: .*nosuch.jsonl: no such file",
    ),
    "translate-no-targets": ([*TRANSLATE], r"targets: required"),
    "translate-bad-device": (
        [*TRANSLATE, "--targets=[go]", "--device=tpu"],
        "device: must be cpu, cuda, cuda:N or auto",
    ),
    "translate-truncated-adapter": (
        [*TRANSLATE, "--targets=[go]", "--model.adapter={tmp}/trunc_adapter"],
        ".*trunc_adapter/adapter_model.safetensors: not a readable safetensors file",
    ),
    "translate-truncated-candidates": (
        [*TRANSLATE, "--targets=[go]", "--candidates={tmp}/trunc_candidates.jsonl"],
        ".*trunc_candidates.jsonl:1: not JSON",
    ),
    # align
    "align-unknown-language": ([*ALIGN, "--languages=[python, klingon]"], "languages: unknown language 'klingon'"),
    "align-limit-one": ([*ALIGN, "--limit=1"], "limit: must be at least 2, got 1"),
    "align-unknown-pooling": ([*ALIGN, "--pooling=[max]"], r"pooling: unknown 'max' \(known: mean, last\)"),
    "align-missing-compare": ([*ALIGN, "--compare={tmp}/old.json"], "compare: .*old.json: no such file"),
    "align-truncated-compare": (
        [*ALIGN, "--compare={tmp}/trunc_report.json"],
        ".*trunc_report.json: not a readable JSON report",
    ),
    "align-missing-model": ([*ALIGN, "--model.source=/nonexistent"], "model.source: /nonexistent: no such file"),
    "align-truncated-gguf": ([*ALIGN, "--model.source={tmp}/trunc.gguf"], ".*trunc.gguf: not a readable GGUF file"),
    # experiment
    "experiment-missing-config": (
        ["experiment", "--config={tmp}/nosuch.yaml"],
        ".*nosuch.yaml: no such file",
    ),
    "experiment-no-config": (
        ["experiment", "--name=x", "--output_dir={tmp}/o", "--arms={a: null}"],
        "config: an experiment is a YAML file",
    ),
    "experiment-syntax": (
        ["experiment", "--config={tmp}/exp_syntax.yaml", "--dry_run"],
        ".*exp_syntax.yaml:2: not YAML",
    ),
    "experiment-nan-in-a-measurement": (
        ["experiment", "--config={tmp}/exp_nan.yaml", "--dry_run"],
        ".*exp_nan.yaml:\\d+: evaluation: sampling.temperature: must be a finite number, got nan",
    ),
    "experiment-flat-evaluation-key": (
        ["experiment", "--config={tmp}/exp_flat_key.yaml", "--dry_run"],
        ".*exp_flat_key.yaml:\\d+: evaluation: max_new_tokens: not an option of this command",
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
    "fit-syntax": (["fit", "--config", "{tmp}/not_yaml.yaml"], "not YAML"),
    "fit-infinite-lr": (["fit", "--config", "{tmp}/lr_inf.yaml"], "optimizer.lr: must be a finite number, got inf"),
    "fit-lora-rank-zero": (["fit", "--config", "{tmp}/lora_rank_zero.yaml"], "model.lora.r: must be at least 1, got 0"),
    "fit-nan-override": (
        ["fit", "--config", str(TINY_SFT), "--model.init_args.optimizer.lr=.nan"],
        "optimizer.lr: must be a finite number, got nan",
    ),
    "fit-pass-at-k-above-n": (
        ["fit", "--config", str(TINY_SFT), "--trainer.callbacks.init_args.ks=[5]"],
        r"ks: every k of \[5\] must be at most sampling.n=1",
    ),
    "fit-truncated-adapter": (
        ["fit", "--config", str(TINY_SFT), "--model.init_args.model.adapter={tmp}/trunc_adapter"],
        ".*trunc_adapter/adapter_model.safetensors: not a readable safetensors file",
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
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return tmp_path


def files_under(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*")}


IN_A_PROCESS = {"exec-missing-input", "evaluate-hub-id-offline", "evaluate-truncated-gguf", "experiment-syntax"}
"""Cases run as a user meets them, the console script in a process of its own (with the LightningCLI
ones); the others run ``main`` in this process: the same code, without a Python start-up each."""


def run_command(argv: list[str], workdir: Path, in_process: bool, capfd: pytest.CaptureFixture) -> tuple[int, str]:
    """Exit code and stderr of ``lit-parallel argv`` run in ``workdir``."""
    if in_process:
        cwd = Path.cwd()
        os.chdir(workdir)
        try:
            code = main(argv)  # an exception that escapes it is the traceback a user would see
        finally:
            os.chdir(cwd)
        return code, capfd.readouterr().err
    # The hub is offline for every case: a hub id is never fetched (and no case waits on a network).
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(["lit-parallel", *argv], capture_output=True, text=True, cwd=workdir, env=env, timeout=600)
    return run.returncode, run.stderr


def refused(
    argv: list[str],
    message: str,
    workdir: Path,
    capfd: pytest.CaptureFixture,
    in_process: bool,
    made: str | None = None,
) -> list[str]:
    """Runs ``lit-parallel argv`` in ``workdir``; asserts exit 2, no traceback, nothing written, and that
    the last line on stderr is ``lit-parallel: <message>`` (the config file first for LightningCLI).
    ``made``: the one directory the command may have created. Returns the lines of stderr."""
    argv = [arg.replace("{tmp}", str(workdir)) for arg in argv]
    before = files_under(workdir)
    code, stderr = run_command(argv, workdir, in_process and argv[0] not in LIGHTNING_COMMANDS, capfd)
    lines = stderr.strip().splitlines()
    if argv[0] in LIGHTNING_COMMANDS:
        config = re.escape(argv[argv.index("--config") + 1])
        message = f"{config}(:\\d+)?: {message}"
    assert "Traceback" not in stderr, stderr
    assert lines and re.match(f"lit-parallel: {message}", lines[-1]), stderr
    assert sum(line.startswith("lit-parallel:") for line in lines) == 1, stderr
    assert code == 2
    new = files_under(workdir) - before
    assert not [p for p in new if not (made and p.is_relative_to(workdir / made))], "it wrote something"
    return lines


@pytest.mark.parametrize("case", CASES)
def test_bad_input_ends_in_one_line_and_exit_2_before_anything_runs(case: str, workdir: Path, capfd) -> None:
    lines = refused(*CASES[case], workdir, capfd, in_process=case not in IN_A_PROCESS)
    # Lightning announces the seed before it builds any class of a config: the one line it may precede.
    assert [line for line in lines if not re.fullmatch(r"Seed set to \d+", line)] == lines[-1:], lines


@pytest.mark.parametrize("case", AFTER_READING)
def test_bad_input_found_in_the_data_ends_in_one_last_line_and_exit_2(case: str, workdir: Path, capfd) -> None:
    refused(*AFTER_READING[case], workdir, capfd, in_process=False, made="runs")
