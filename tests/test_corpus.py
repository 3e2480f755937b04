"""The bundled parallel corpus: well formed, split by task, and every reference solution passes."""

import re
from collections import Counter

import pytest

from lit_parallel import cli
from lit_parallel.problems.bundled import REQUIRED_LANGUAGES, bundled_corpus

CORPUS = bundled_corpus()


def test_corpus_is_well_formed_and_split_by_task():
    assert CORPUS, "the corpus is empty"
    for problem in CORPUS:
        assert re.fullmatch(r"lp/\d{4}-[a-z0-9-]+", problem.task_id), problem.source
        assert set(problem.languages) >= set(REQUIRED_LANGUAGES), (problem.source, problem.languages)
        assert len(problem.variants["python"].io_tests) >= 5, problem.source
        assert problem.difficulty in range(1, 6), problem.source
        assert all(t.stdout.endswith("\n") for t in problem.variants["python"].io_tests), problem.source
    splits = Counter(p.split for p in CORPUS)
    assert splits["train"] and splits["eval"], splits


@pytest.mark.parametrize("language", REQUIRED_LANGUAGES)
def test_data_verify_passes_every_reference_solution(language, capsys):
    assert cli.main(["data", "verify", "--dataset", "bundled", "--languages", f"[{language}]"]) == 0, (
        capsys.readouterr().err
    )
    out = capsys.readouterr()
    assert re.search(rf"^{language}\s+{len(CORPUS)}\s+{len(CORPUS)}$", out.out, re.MULTILINE), out.out
    # Off a terminal, progress goes to stderr as log lines; the last one counts every program.
    assert re.search(rf"^verify: {len(CORPUS)}/{len(CORPUS)} \(", out.err, re.MULTILINE), out.err
