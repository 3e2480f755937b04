"""`lit-parallel data translate`: candidates from a file (the corpus's reference solutions as the good
ones, other problems' solutions and broken code as the bad ones) and from a tiny model fitted on
translation examples; every candidate judged for real, the first passing kept, re-runs resumed."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from datamodules.mixture import MixtureBuilder, MixtureConfig
from lit_parallel.cli import COMMANDS, main
from lit_parallel.commands.arguments import parse
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.commands.model import inference_spec, prompt_style
from lit_parallel.execution import ExecutionSpec
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.problems.schema import problem_record
from lit_parallel.prompts import PromptStyle, translation_prompt
from lit_parallel.translation import Pair

TARGETS = ("go", "php", "ruby", "lua")
BROKEN = {
    "go": ("package main\n\nfunc main() { x := }\n", "compile_error"),
    "php": ('<?php\nthrow new Exception("boom");\n', "runtime_error"),
    "ruby": ('raise "boom"\n', "runtime_error"),
    "lua": ('error("boom")\n', "runtime_error"),
}
TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"
GPU = Path(__file__).resolve().parents[1] / "configs" / "llama31_8b" / "translate.yaml"


def corpus(train: int, evaluated: int) -> list:
    problems = bundled_corpus()
    return [p for p in problems if p.split == "train"][:train] + [p for p in problems if p.split == "eval"][:evaluated]


def write_dataset(path: Path, problems, languages=("python",)) -> Path:
    """The problems with only ``languages``' solutions: monolingual data to translate."""
    rows = [problem_record(replace(p, variants={k: p.variants[k] for k in languages})) for p in problems]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def translate(*args: str) -> int:
    return main(["data", "translate", f"--targets=[{', '.join(TARGETS)}]", "--execution.workers=2", *args])


@pytest.fixture(scope="module")
def file_run(tmp_path_factory):
    """Four train problems and one eval problem, python only; per pair: another problem's solution,
    broken code, then the reference solution, except for the last train problem (bad ones only), and
    the eval problem's reference candidates (never to be judged)."""
    tmp = tmp_path_factory.mktemp("file")
    problems = corpus(4, 1)
    dataset = write_dataset(tmp / "mono.jsonl", problems)
    rows, expected = [], {}
    for i, problem in enumerate(problems):
        for lang in TARGETS:
            if problem.split == "eval":
                rows.append((problem.task_id, lang, problem.variants[lang].solution, None))
                continue
            other = problems[(i + 1) % 4].variants[lang].solution
            rows += [(problem.task_id, lang, other, "other"), (problem.task_id, lang, BROKEN[lang][0], "broken")]
            if i < 3:
                rows.append((problem.task_id, lang, problem.variants[lang].solution, "good"))
    candidates = tmp / "candidates.jsonl"
    candidates.write_text("".join(json.dumps({"task_id": t, "language": g, "code": c}) + "\n" for t, g, c, _ in rows))
    for lineno, (task_id, lang, _, kind) in enumerate(rows, 1):
        expected[task_id, lang, kind] = lineno
    output = tmp / "out.jsonl"
    assert translate("--dataset", str(dataset), "--candidates", str(candidates), "--output", str(output)) == 0
    return problems, dataset, candidates, output, expected


def test_file_candidates_keep_exactly_the_good_ones_with_provenance(file_run):
    problems, _, candidates, output, expected = file_run
    out = {row["task_id"]: row for row in lines(output)}
    assert [row["task_id"] for row in lines(output)] == [p.task_id for p in problems]
    assert {t: row["split"] for t, row in out.items()} == {p.task_id: p.split for p in problems}
    for i, problem in enumerate(problems):
        solutions = out[problem.task_id]["solutions"]
        if i < 3:
            assert solutions == {lang: problem.variants[lang].solution for lang in ("python", *TARGETS)}
            assert out[problem.task_id]["provenance"] == {
                lang: {
                    "from": "python",
                    "by": f"file:{candidates}",
                    "sample": 2,
                    "line": expected[problem.task_id, lang, "good"],
                }
                for lang in TARGETS
            }
        else:  # bad candidates only, or an eval problem: nothing added
            assert solutions == {"python": problem.variants["python"].solution}
            assert "provenance" not in out[problem.task_id]
    assert main(["data", "verify", "--dataset", str(output)]) == 0


def test_file_candidates_each_rejected_one_has_its_verdict(file_run):
    problems, _, _, output, expected = file_run
    ledger = lines(output.with_name("out.attempts.jsonl"))
    judged = {(r["task_id"], r["language"], r["line"]): r for r in ledger}
    assert len(judged) == len(ledger) == 4 * (3 * 3 + 2), "every selected candidate judged once"
    assert not any(r["task_id"] == problems[-1].task_id for r in ledger), "an eval problem was judged"
    for (task_id, lang, kind), line in expected.items():
        if kind is None:
            continue
        r = judged[task_id, lang, line]
        assert r["passed"] == (kind == "good"), r
        if kind == "broken":
            assert r["verdict"] == BROKEN[lang][1], r
        elif kind == "other":
            assert r["verdict"] in ("failed", "runtime_error"), r


def test_a_rerun_does_no_new_work_and_retries_sandbox_errors(file_run, capsys):
    problems, dataset, candidates, output, expected = file_run
    ledger_path = output.with_name("out.attempts.jsonl")
    ledger, result = ledger_path.read_text(), output.read_text()
    capsys.readouterr()
    args = ("--dataset", str(dataset), "--candidates", str(candidates), "--output", str(output))
    assert translate(*args) == 0
    summary = capsys.readouterr().out
    assert "\n0 candidates judged now, 44 by earlier runs" in "\n" + summary
    for lang in TARGETS:  # pairs, tried, kept, candidates, retry
        assert re.search(rf"^{lang}\s+4\s+4\s+3\s+11\s+0\s", summary, re.M), summary
    assert ledger_path.read_text() == ledger and output.read_text() == result

    # An infrastructure failure decides nothing: that candidate alone is judged again, and kept.
    good = expected[problems[0].task_id, "lua", "good"]
    records = [json.loads(line) for line in ledger.splitlines()]
    for r in records:
        if r["line"] == good:
            r.update(verdict="sandbox_error", passed=False)
    # ... and a kill in the middle of an append: the cut line's candidate is judged again.
    text = "".join(json.dumps(r) + "\n" for r in records)
    ledger_path.write_text(text[: len(text) - 40])
    assert translate(*args) == 0
    assert "\n2 candidates judged now, 43 by earlier runs" in "\n" + capsys.readouterr().out
    assert output.read_text() == result
    assert [r["verdict"] for r in lines(ledger_path) if r["line"] == good] == ["sandbox_error", "passed"]


def test_bad_input_is_one_line_naming_its_place(tmp_path, capsys):
    script = tmp_path / "mbxp.jsonl"
    row = {"task_id": "HumanEval/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n"}
    script.write_text(json.dumps({**row, "test": "assert f() == 1\n", "entry_point": "f"}) + "\n")
    assert translate("--dataset", f"mbxp:{script}", "--output", str(tmp_path / "o.jsonl")) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'HumanEval/0'" in err and "script-style" in err and "io tests" in err, err
    assert not (tmp_path / "o.attempts.jsonl").exists()

    dataset = write_dataset(tmp_path / "mono.jsonl", corpus(1, 0))
    bad = tmp_path / "candidates.jsonl"
    bad.write_text('{"task_id": "lp/none", "language": "go", "code": ""}\n')
    assert translate("--dataset", str(dataset), "--candidates", str(bad), "--output", str(tmp_path / "o.jsonl")) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"lit-parallel: {bad}:1: field 'task_id': no problem 'lp/none' in the dataset"
    )


def test_translation_prompts_are_sft_translation_examples(tokenizer):
    [problem] = corpus(1, 0)
    style = PromptStyle()
    example = MixtureBuilder(MixtureConfig(languages={"ruby": 1.0}), tokenizer, style).translation(problem, "ruby")
    pair = Pair(problem, "python", "ruby")
    assert translation_prompt(pair.source, pair.code, pair.target, tokenizer, style) == example.prompt


def test_model_path_end_to_end_with_a_tiny_model_fitted_on_translations(tmp_path, capsys):
    """A tiny model SFT-ed on the python -> ruby translation of one problem translates that problem
    (and not an unseen one); the eval problem is left alone."""
    seen, unseen, held_out = corpus(2, 1)
    train = write_dataset(tmp_path / "train.jsonl", [seen], ("python", "ruby"))
    fit = ["--config", str(TINY), f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"]
    fit += ["--trainer.callbacks=[]", "--trainer.max_steps=30", "--trainer.limit_val_batches=0"]
    fit += [f"--data.init_args.datasets=[{train}]", "--data.init_args.eval_languages=[python]"]
    fit += ["--data.init_args.mixture.languages={ruby: 1.0}", "--data.init_args.mixture.formats={translation: 1.0}"]
    fit += ["--data.init_args.mixture.num_examples=4", f"--model.init_args.adapter_dir={tmp_path / 'adapters'}"]
    cli = build_lightning_cli(fit, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)

    dataset = write_dataset(tmp_path / "mono.jsonl", [seen, unseen, held_out])
    adapter, output = tmp_path / "adapters" / "final", tmp_path / "out.jsonl"
    args = ["data", "translate", "--dataset", str(dataset), "--targets=[ruby]", "--output", str(output)]
    args += ["--model.fit_config", str(TINY), "--model.adapter", str(adapter), "--sampling.n=2"]
    args += ["--sampling.temperature=0.3", "--sampling.max_new_tokens=40", "--execution.workers=2"]
    assert main(args) == 0
    out = lines(output)
    assert [(r["task_id"], r["split"]) for r in out] == [(p.task_id, p.split) for p in (seen, unseen, held_out)]
    kept = {r["task_id"]: r for r in out if "provenance" in r}
    assert seen.task_id in kept and held_out.task_id not in kept
    for row in kept.values():
        assert set(row["solutions"]) == {"python", "ruby"}
        provenance = row["provenance"]["ruby"]
        assert provenance["from"] == "python" and provenance["by"] == f"config:{TINY}+adapter:{adapter}"
        assert provenance["sample"] in (0, 1) and provenance["temperature"] == 0.3
        assert isinstance(provenance["seed"], int)
    assert main(["data", "verify", "--dataset", str(output)]) == 0, "a kept translation does not pass"
    ledger = lines(tmp_path / "out.attempts.jsonl")
    assert sorted((r["task_id"], r["sample"]) for r in ledger) == sorted(
        (p.task_id, s) for p in (seen, unseen) for s in (0, 1)
    )
    assert all(r["verdict"] and r["completion"] is not None for r in ledger)
    capsys.readouterr()
    assert main(args) == 0
    assert "0 candidates judged now, 4 by earlier runs" in capsys.readouterr().out


def test_the_gpu_config_sets_known_options_and_flags_override_it():
    config, _ = parse(COMMANDS["data translate"], ["--config", str(GPU), "--sampling.n", "1"])
    assert config.dataset == "code-contests:hub:deepmind/code_contests@train" and config.source_language == "python"
    assert config.targets == list(TARGETS)
    sampling = config.sampling
    assert (sampling.n, sampling.temperature, sampling.max_new_tokens, config.device) == (1, 0.2, 1024, "cuda")
    assert config.execution == ExecutionSpec(timeout_s=10, workers=16)
    spec = inference_spec(config.model)
    assert spec.source == "meta-llama/Llama-3.1-8B-Instruct" and spec.compute_dtype == "bfloat16"
    assert spec.quantization == "none" and prompt_style(config.model) == PromptStyle(chat=True)
