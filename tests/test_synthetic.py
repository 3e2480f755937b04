"""The synthetic corpus: thousands of distinct programs, split by program, none evaluated trained on;
deterministic, well formed, and every solution runs."""

import re
from collections import Counter

import pytest

from lit_parallel import cli
from lit_parallel.execution import Executor
from lit_parallel.problems.loading import load_problems
from lit_parallel.problems.schema import reference_programs
from lit_parallel.problems.synthetic import EVAL_SETS, HELD_OUT, LANGUAGES, REGISTRY, Corpus, set_of
from lit_parallel.problems.synthetic.generate import TESTS, _generate, normalized
from lit_parallel.problems.synthetic.pipeline import HELD_OUT_PAIRS, HELD_OUT_PARTS

DEFAULT = Corpus().problems()
BY_SET = {name: [p for p in DEFAULT if set_of(p.task_id) == name] for name in ("train", *EVAL_SETS)}
SECTIONS = re.compile(r"\n\nInput\n.+\n\nOutput\n.+\n\nConstraints\n.+\n\nExample\nInput:\n.+\nOutput:\n.+", re.DOTALL)


def composed(problem):
    """The part labels of a composed problem's composition (its cluster), None for a family's."""
    if problem.cluster in REGISTRY:
        return None
    roles = ("input", "filter", "transform", "aggregate", "format")
    return frozenset(f"{role}:{kind}" for role, kind in zip(roles, problem.cluster.split("/"), strict=True))


def programs(problem):
    return {normalized(code) for code in problem.parallel_group().values()}


def test_the_default_corpus_has_thousands_of_distinct_training_programs_and_three_full_eval_sets():
    train = BY_SET["train"]
    assert len(train) == 6000 and all(p.split == "train" for p in train)
    assert len({normalized(p.variants["python"].solution) for p in train}) >= 5000
    for name in EVAL_SETS:
        assert len(BY_SET[name]) >= 500 and all(p.split == "eval" for p in BY_SET[name]), name
        assert all(set(p.variants) == set(LANGUAGES) for p in BY_SET[name]), name
    assert len(LANGUAGES) >= 10 and len({p.task_id for p in DEFAULT}) == len(DEFAULT)


def test_no_evaluated_program_in_any_language_is_a_trained_one():
    trained = set().union(*map(programs, BY_SET["train"]))
    for name in EVAL_SETS:
        leaked = [p.task_id for p in BY_SET[name] if programs(p) & trained]
        assert not leaked, (name, leaked[:5])


def test_the_eval_sets_hold_unseen_programs_unseen_compositions_and_held_out_skills():
    trained_clusters = {p.cluster for p in BY_SET["train"]}
    trained_parts = set().union(*filter(None, map(composed, BY_SET["train"])))
    # (a) every instance's skill (its family or composition) is trained, its program is not.
    assert {p.cluster for p in BY_SET["unseen"]} <= trained_clusters
    assert sum(p.cluster in REGISTRY for p in BY_SET["unseen"]) >= 50
    # (b) each composition has a pair of trained parts that no training instance has together.
    for p in BY_SET["compositions"]:
        parts = composed(p)
        assert parts <= trained_parts and any(pair <= parts for pair in HELD_OUT_PAIRS), p.cluster
    assert not any(pair <= composed(p) for p in BY_SET["train"] if composed(p) for pair in HELD_OUT_PAIRS)
    assert set().union(*HELD_OUT_PAIRS) <= trained_parts
    # (c) a held-out family, or a composition with a part no training instance has.
    assert not trained_parts & HELD_OUT_PARTS and not trained_clusters & set(HELD_OUT)
    for p in BY_SET["heldout"]:
        assert p.cluster in HELD_OUT or composed(p) & HELD_OUT_PARTS, p.cluster
    assert {p.cluster for p in BY_SET["heldout"]} >= set(HELD_OUT)


def test_every_problem_names_its_cluster():
    for p in DEFAULT:
        parts = composed(p)
        assert p.cluster in REGISTRY or (parts and len(parts) == 5), (p.task_id, p.cluster)
    clusters = Counter(p.cluster for p in BY_SET["train"])
    assert len(clusters) >= 1000 and max(clusters.values()) <= 200


def test_every_instance_is_well_formed():
    for p in DEFAULT:
        tests = p.variants["python"].io_tests
        assert len(tests) == TESTS >= 6 and len({t.stdin for t in tests}) == TESTS, p.task_id
        assert all(v.io_tests == tests and v.solution for v in p.variants.values()), p.task_id
        assert SECTIONS.search(p.description), p.description
        example = p.description.split("Example\nInput:\n", 1)[1]
        assert example == f"{tests[0].stdin.rstrip()}\nOutput:\n{tests[0].stdout.rstrip()}", p.task_id
        assert p.difficulty in (1, 2)


def test_generation_is_deterministic_for_a_seed_and_independent_of_the_selection():
    again = Corpus(60, seed=3).problems()
    fresh = [p for group in _generate.__wrapped__(Corpus(60, seed=3)).values() for p in group]  # not the cached one
    assert [(p.task_id, p.description, p.variants["go"]) for p in again] == [
        (p.task_id, p.description, p.variants["go"]) for p in fresh
    ]
    other = Corpus(60, seed=4).problems()
    assert [p.description for p in again] != [p.description for p in other]
    by_id = {p.task_id: p for p in again}
    unseen = load_problems("synthetic:60@3#unseen")
    assert unseen and all(p == by_id[p.task_id] and set_of(p.task_id) == "unseen" for p in unseen)
    trained = load_problems("synthetic:60@3#trained")
    assert {set_of(p.task_id) for p in trained} == {"train", "unseen"}
    family = unseen[0].cluster  # every 8th instance is a family's, the first one included
    assert family in REGISTRY
    chosen = load_problems(f"synthetic:60@3#unseen,{family}")
    assert chosen and all(p.cluster == family and p == by_id[p.task_id] for p in chosen)


def test_a_bigger_corpus_keeps_the_smaller_ones_training_set():
    small, big = Corpus(80).problems(["train"]), Corpus(200).problems(["train"])
    assert big[: len(small)] == small


def test_the_spec_adds_languages_without_solutions():
    [problem, *_] = load_problems("synthetic:20#heldout", ["python", "racket"])
    racket = problem.variants["racket"]
    assert racket.solution is None and racket.io_tests == problem.variants["python"].io_tests


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("synthetic:0", "synthetic:0: the size must be a positive integer, not '0'"),
        ("synthetic:ten", "synthetic:ten: the size must be a positive integer, not 'ten'"),
        ("synthetic@-1", "synthetic@-1: the seed must be a non-negative integer, not '-1'"),
        ("synthetic#nosuch", "synthetic#nosuch: unknown eval set or family 'nosuch' (known: train, unseen,"),
        (
            "synthetic:9#unseen",
            "synthetic:9#unseen: a corpus of 9 training instances has no unseen instances (each eval set holds N/10",
        ),
        ("synthetic:5", "synthetic:5: a corpus of 5 training instances has no unseen instances"),
        (
            "synthetic:20#fizzbuzz",
            "synthetic:20#fizzbuzz: a corpus of 20 training instances has no instance of 'fizzbuzz'",
        ),
    ],
)
def test_bad_specs_are_one_line_errors(spec, message, capsys):
    assert cli.main(["data", "verify", "--dataset", spec]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"lit-parallel: {message}")


def covering_sample():
    """One instance of every family, and composed instances (greedily, the one with the most parts not
    yet in the sample first) until every kind of every part is in one."""
    families = {p.cluster: p for p in reversed(DEFAULT) if p.cluster in REGISTRY}
    pool = [p for p in DEFAULT if composed(p)]
    sample, missing = list(families.values()), set().union(*map(composed, pool))
    while missing:
        best = max(pool, key=lambda p: len(composed(p) & missing))
        sample.append(best)
        missing -= composed(best)
    assert set(families) == set(REGISTRY)
    return sample


def test_a_sample_of_every_family_and_every_part_passes_in_every_language():
    """Every family, and every input, filter, transformation, aggregation and format, written in all ten
    languages and judged against the Python reference's expected outputs."""
    problems = covering_sample()
    programs = reference_programs(problems)
    assert len(programs) == len(problems) * len(LANGUAGES)
    with Executor(workers=2) as executor:
        results = executor.run(programs)
    failed = [(r.id, r.language, r.verdict.value, r.stderr_tail[-200:]) for r in results if not r.passed]
    assert not failed, failed


def test_data_stats_counts_programs_clusters_and_overlap_per_set(capsys):
    assert cli.main(["data", "stats", "--dataset", "synthetic:100"]) == 0
    table = capsys.readouterr().out.split("per set (synthetic)", 1)[1]
    rows = {line.rsplit(None, 4)[0]: line.rsplit(None, 4)[1:] for line in table.splitlines()[3:] if line.strip()}
    problems = load_problems("synthetic:100")
    sets = [[p for p in problems if set_of(p.task_id) == name] for name in ("train", *EVAL_SETS)]
    assert rows["instances"] == [str(len(group)) for group in sets] == ["100", "10", "10", "10"]
    assert rows["clusters"] == [str(len({p.cluster for p in group})) for group in sets]
    assert rows["same program as a train instance"] == ["-", "0", "0", "0"]
    for language in LANGUAGES:
        distinct = [str(len({normalized(p.variants[language].solution) for p in group})) for group in sets]
        assert rows[f"distinct {language} programs"] == distinct


@pytest.mark.slow
def test_data_verify_passes_the_whole_default_corpus(capsys):
    assert cli.main(["data", "verify", "--dataset", "synthetic"]) == 0, capsys.readouterr().err
    table = capsys.readouterr().out
    for language in LANGUAGES:
        assert re.search(rf"^{language}\s+{len(DEFAULT)}\s+{len(DEFAULT)}$", table, re.MULTILINE), table
