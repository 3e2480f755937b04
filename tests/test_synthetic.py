"""The synthetic corpus: deterministic, well formed, split by task and family, and every solution runs."""

import re
from collections import Counter

import pytest

from lit_parallel import cli
from lit_parallel.execution import Executor
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import reference_programs
from lit_parallel.problems.synthetic import HELD_OUT, LANGUAGES, REGISTRY, Corpus, family_of
from lit_parallel.problems.synthetic.generate import TESTS, instance

DEFAULT = Corpus().problems()
SECTIONS = re.compile(r"\n\nInput\n.+\n\nOutput\n.+\n\nConstraints\n.+\n\nExample\nInput:\n.+\nOutput:\n.+", re.DOTALL)


def test_the_default_corpus_has_the_sizes_and_splits_asked_for():
    assert len(REGISTRY) >= 40 and len(HELD_OUT) >= 5
    splits = Counter((p.split, family_of(p.task_id) in HELD_OUT) for p in DEFAULT)
    assert splits["train", False] >= 2000
    assert splits["eval", False] >= 150
    assert splits["eval", True] >= 100
    assert splits["train", True] == 0, "a held-out family leaked into training"
    assert len({p.task_id for p in DEFAULT}) == len(DEFAULT)
    trained_families = {family_of(p.task_id) for p in DEFAULT if p.split == "train"}
    assert trained_families == set(REGISTRY) - set(HELD_OUT)


def test_every_instance_is_well_formed():
    for p in DEFAULT:
        assert set(p.variants) == set(LANGUAGES), p.task_id
        tests = p.variants["python"].io_tests
        assert len(tests) == TESTS >= 6 and len({t.stdin for t in tests}) == TESTS, p.task_id
        assert all(v.io_tests == tests and v.solution for v in p.variants.values()), p.task_id
        assert SECTIONS.search(p.description), p.description
        example = p.description.split("Example\nInput:\n", 1)[1]
        assert example == f"{tests[0].stdin.rstrip()}\nOutput:\n{tests[0].stdout.rstrip()}", p.task_id
        assert p.difficulty in (1, 2)


def test_a_family_yields_different_programs_and_wordings():
    """The parameters change the program (the model must read the statement) and the wording varies."""
    for name in ("pair-op", "count-if", "digits", "word-transform"):
        group = [p for p in DEFAULT if family_of(p.task_id) == name]
        assert len({p.variants["python"].solution for p in group}) >= 3, name
        assert len({p.description.split("\n\n")[0] for p in group}) >= 4, name


def test_generation_is_deterministic_for_a_seed_and_independent_of_the_selection():
    again = Corpus(60, seed=3).problems()
    assert [(p.task_id, p.description, p.variants["go"]) for p in again] == [
        (p.task_id, p.description, p.variants["go"]) for p in Corpus(60, seed=3).problems()
    ]
    other = Corpus(60, seed=4).problems()
    assert [p.description for p in again] != [p.description for p in other]
    subset = load_problems("synthetic:60@3#digits,palindrome")
    by_id = {p.task_id: p for p in again}
    assert subset and {family_of(p.task_id) for p in subset} == {"digits", "palindrome"}
    assert all(p == by_id[p.task_id] for p in subset)


def test_the_spec_selects_trained_or_held_out_families_and_extra_languages():
    held = load_problems("synthetic:200#heldout")
    assert {family_of(p.task_id) for p in held} == set(HELD_OUT) and all(p.split == "eval" for p in held)
    trained = load_problems("synthetic:200#trained", ["python", "racket"])
    assert not {family_of(p.task_id) for p in trained} & set(HELD_OUT)
    racket = trained[0].variants["racket"]
    assert racket.solution is None and racket.io_tests == trained[0].variants["python"].io_tests


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic:0", "synthetic:0: the size must be a positive integer, not '0'"),
        ("synthetic:ten", "synthetic:ten: the size must be a positive integer, not 'ten'"),
        ("synthetic@-1", "synthetic@-1: the seed must be a non-negative integer, not '-1'"),
        ("synthetic#nosuch", "synthetic#nosuch: unknown family 'nosuch' (known: trained, heldout, pair-op,"),
    ],
)
def test_bad_specs_are_one_line_errors(spec, message, capsys):
    assert cli.main(["data", "verify", "--dataset", spec]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"lit-parallel: {message}")


def test_an_unknown_language_is_a_one_line_error(capsys):
    assert cli.main(["data", "verify", "--dataset", "synthetic:5", "--languages", "klingon"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("lit-parallel: --languages: unknown language 'klingon'")


def test_one_instance_of_every_family_passes_in_every_language():
    """Every family's programs in all ten languages against the reference's expected outputs. Solutions
    depend on the parameters only, so compiled languages build each program once (content-hash cache)."""
    problems = [instance(family, 0, 0) for family in REGISTRY.values()]
    programs = reference_programs(problems)
    assert len(programs) == len(REGISTRY) * len(LANGUAGES)
    with Executor(workers=2) as executor:
        results = executor.run(programs)
    failed = [(r.id, r.language, r.verdict.value, r.stderr_tail[-200:]) for r in results if not r.passed]
    assert not failed, failed


def test_data_stats_lists_every_family(tokenizer, capsys):
    assert cli.main(["data", "stats", "--dataset", "synthetic:120#pair-op,palindrome", "--languages", "python"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.split("per family (synthetic):", 1)[1].splitlines()[3:]}
    pair = [p for p in load_problems("synthetic:120#pair-op")]
    tokens = sum(len(tokenizer(p.variants["python"].solution, add_special_tokens=False)["input_ids"]) for p in pair)
    train = sum(p.split == "train" for p in pair)
    assert rows["pair-op"] == [
        "pair-op",
        "arithmetic",
        "1",
        str(train),
        str(len(pair) - train),
        "1",
        str(tokens),
        str(tokens),
    ]
    assert rows["palindrome"][3:5] == ["yes", "0"]


@pytest.mark.slow
def test_data_verify_passes_the_whole_default_corpus(capsys):
    assert cli.main(["data", "verify", "--dataset", "synthetic"]) == 0, capsys.readouterr().err
    table = capsys.readouterr().out
    for language in LANGUAGES:
        assert re.search(rf"^{language}\s+{len(DEFAULT)}\s+{len(DEFAULT)}$", table, re.MULTILINE), table
