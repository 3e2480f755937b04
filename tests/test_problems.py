"""The problem schema and the project's JSONL format: good records load, bad ones are named."""

import json
import re

import pytest

from lit_parallel.errors import DataError
from lit_parallel.execution import TestCase
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.problems.schema import read_jsonl

GOOD = {
    "task_id": "lp/9999-sum",
    "title": "Sum",
    "difficulty": 1,
    "description": "Print a+b.",
    "tests": [{"stdin": "1 2\n", "stdout": "3\n"}],
    "solutions": {"python": "print(sum(map(int, input().split())))", "c++": "int main(){}"},
    "split": "eval",
}


def write(tmp_path, *records):
    path = tmp_path / "problems.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_a_good_record_becomes_a_problem_with_a_variant_per_language(tmp_path):
    [problem] = read_jsonl(write(tmp_path, GOOD))
    assert problem.task_id == "lp/9999-sum" and problem.split == "eval" and problem.difficulty == 1
    assert problem.languages == ("python", "cpp")
    variant = problem.variants["python"]
    assert variant.io_tests == (TestCase("1 2\n", "3\n"),)
    assert variant.program(variant.solution).tests == variant.io_tests
    assert problem.parallel_group()["cpp"] == "int main(){}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_id": None}, "field 'task_id' is missing"),
        ({"description": 3}, "field 'description' must be str, not int"),
        ({"tests": []}, "field 'tests' must be a non-empty list"),
        ({"tests": [{"stdin": "1"}]}, "field 'tests[0].stdout' must be a string"),
        ({"solutions": {"cobol": "x"}}, "field 'solutions.cobol': unknown language 'cobol'"),
        ({"solutions": {"python": 1}}, "field 'solutions.python' must be a string"),
        ({"split": "test"}, "field 'split' must be one of"),
        ({"difficulty": "easy"}, "field 'difficulty' must be int"),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path, change, message):
    bad = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = write(tmp_path, GOOD, bad)
    with pytest.raises(DataError, match=f"^{re.escape(f'{path}:2: {message}')}"):
        list(read_jsonl(path))


def test_a_line_that_is_not_json_is_named(tmp_path):
    path = write(tmp_path, GOOD, GOOD, "{oops")
    with pytest.raises(DataError, match=rf"^{path}:3: not JSON"):
        list(read_jsonl(path))


def test_duplicate_task_ids_across_corpus_files_are_named(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(GOOD) + "\n")
    (tmp_path / "b.jsonl").write_text("\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(DataError, match=r"b.jsonl:2: field 'task_id': 'lp/9999-sum' also at .*a.jsonl:1"):
        bundled_corpus(tmp_path)
