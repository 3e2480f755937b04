"""Every Problem names the unit statistics resample: its own task by default, a shared cluster where
the source says one (the project's format carries it, the synthetic corpus sets it)."""

import json

import pytest

from lit_parallel.errors import DataError
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import Problem, Variant, problem_record, read_jsonl


def test_a_problem_without_a_cluster_is_its_own():
    bundled = bundled_corpus()
    assert bundled and all(p.cluster == p.task_id for p in bundled)
    assert Problem("t1", "d", {"python": Variant("python", "d")}).cluster == "t1"


def test_the_projects_format_keeps_a_shared_cluster_and_writes_none_for_a_default(tmp_path):
    [first, second, *_] = load_problems("synthetic:20#train", ["python"])
    alone = bundled_corpus()[0]
    path = tmp_path / "mixed.jsonl"
    records = [problem_record(p) for p in (first, second, alone)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert "cluster" in records[0] and "cluster" not in records[2]
    back = list(read_jsonl(path))
    assert [p.cluster for p in back] == [first.cluster, second.cluster, alone.task_id]
    assert back[0].cluster != back[0].task_id


def test_a_cluster_that_is_not_a_string_is_a_one_line_error(tmp_path):
    record = problem_record(bundled_corpus()[0]) | {"cluster": 3}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataError, match=rf"^{path}:1: field 'cluster' must be str, not int$"):
        list(read_jsonl(path))
