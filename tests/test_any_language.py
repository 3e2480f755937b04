"""io problems are judged in any language the executor runs, with or without a reference solution in it."""

import json
from pathlib import Path

import pytest

from datamodules import ParallelMixtureDataModule
from lit_parallel.cli import main
from lit_parallel.execution import ExecutionError, Executor, checked_language
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import Problem, Variant, read_jsonl

LEAP_YEARS = "lp/0014-leap-years"
"""A held-out problem of the bundled corpus, solved in none of the languages below."""
RACKET_LEAP_YEARS = """#lang racket
(define t (read))
(for ([_ (in-range t)])
  (define y (read))
  (displayln (if (or (and (zero? (modulo y 4)) (not (zero? (modulo y 100)))) (zero? (modulo y 400))) "YES" "NO")))
"""
RACKET_WRONG = RACKET_LEAP_YEARS.replace("(modulo y 400)", "(modulo y 300)")
RECORD = {
    "task_id": "t/leap",
    "description": "For each of t years, print YES if it is a leap year, else NO.",
    "tests": [
        {"stdin": "3\n2000\n1900\n2024\n", "stdout": "YES\nNO\nYES\n"},
        {"stdin": "1\n2400\n", "stdout": "YES\n"},
    ],
    "solutions": {"python": "print('YES')"},
}
TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"


@pytest.fixture(scope="module")
def racket():
    try:
        checked_language("racket")
    except ExecutionError as exc:
        pytest.skip(str(exc))
    with Executor(workers=2) as executor:
        yield executor


def python_only(tmp_path: Path) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_text(json.dumps(RECORD) + "\n")
    return path


def test_an_io_problem_has_a_variant_in_every_runnable_language_script_tests_do_not_carry_over(tmp_path):
    [problem] = read_jsonl(python_only(tmp_path))
    go = problem.variant("go")
    assert (go.language, go.solution, go.prompt) == ("go", None, RECORD["description"])
    assert go.io_tests == problem.variants["python"].io_tests and len(go.io_tests) == 2
    assert problem.variant("python") is problem.variants["python"]
    assert problem.variant("kotlin") is None  # a language datasets hold but the executor cannot run
    script = Problem("s", "d", {"python": Variant("python", "d", "x = 1", test_code="assert x == 1")})
    assert script.variant("go") is None


def test_a_python_only_jsonl_problem_judges_racket_programs(tmp_path, racket):
    [problem] = load_problems(str(python_only(tmp_path)), ["racket", "go"])
    assert problem.languages == ("racket", "go") and problem.variants["racket"].solution is None
    variant = problem.variants["racket"]
    right, wrong = racket.run([variant.program(RACKET_LEAP_YEARS, "right"), variant.program(RACKET_WRONG, "wrong")])
    assert right.passed, right.stderr_tail
    assert not wrong.passed and wrong.verdict.value == "failed"


def test_every_held_out_bundled_problem_is_evaluable_in_racket(racket):
    sets = ParallelMixtureDataModule(eval_languages=["racket"]).eval_sets()
    items = sets["racket"]
    assert len(items) == 18 and all(item.prompt.endswith("```racket\n") and "Racket" in item.prompt for item in items)
    [leap] = [item for item in items if item.task_id == LEAP_YEARS]
    assert leap.variant.solution is None and len(leap.variant.io_tests) == 7
    [result] = racket.run([leap.variant.program(RACKET_LEAP_YEARS, LEAP_YEARS)])
    assert result.passed, result.stderr_tail


def test_evaluate_command_scores_racket_on_the_bundled_corpus(tmp_path, capsys, racket):
    output = tmp_path / "racket.json"
    args = ["--languages", "[racket]", "--limit", "2", "--sampling.max_new_tokens", "8", "--output", str(output)]
    assert main(["evaluate", "--model.fit_config", str(TINY), *args]) == 0
    report = json.loads(output.read_text())
    assert report["problems"] == {"racket": 2} and "pass@1/racket" in report["metrics"]
    records = [json.loads(line) for line in output.with_suffix(".jsonl").open()]
    assert len(records) == 2 and {r["language"] for r in records} == {"racket"}
