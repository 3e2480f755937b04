"""The Parallel-SFT mixture: configured ratios, determinism, formats, completion-only labels, and its
non-parallel control."""

from collections import Counter
from dataclasses import replace

import pytest

from datamodules import MixtureBuilder, MixtureConfig, ParallelMixtureDataModule
from datamodules.mixture import allocate
from datamodules.parallel_mixture import IGNORE_INDEX, mixture_report, split_by_task, tokenize_example
from datamodules.programs import normalized, program_ids, select_part
from lit_parallel.problems.bundled import bundled_corpus
from lit_parallel.prompts import PromptStyle, code_blocks

TRAIN, EVAL = split_by_task(bundled_corpus(), [])
RATIOS = {"python": 0.5, "go": 0.2, "php": 0.15, "ruby": 0.1, "lua": 0.05}
FORMATS = {"single": 0.5, "multi": 0.25, "translation": 0.25}


def build(tokenizer, seed=0, **overrides):
    config = MixtureConfig("python", RATIOS, FORMATS, num_examples=400, seed=seed, **overrides)
    return MixtureBuilder(config, tokenizer, PromptStyle()).build(TRAIN)


def test_allocate_splits_exactly_by_largest_remainder():
    assert allocate(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert sum(allocate(997, RATIOS).values()) == 997
    with pytest.raises(ValueError, match="positive sum"):
        allocate(3, {"a": 0})


def test_language_and_format_ratios_hold_within_one_percent(tokenizer):
    examples = build(tokenizer)
    assert len(examples) == 400
    by_language = Counter(e.language for e in examples)
    for lang, share in RATIOS.items():
        assert abs(by_language[lang] / 400 - share) <= 0.01, (lang, by_language)
    parallel = [e for e in examples if e.language != "python"]
    assert {e.kind for e in examples if e.language == "python"} == {"source"}
    by_kind = Counter(e.kind for e in parallel)
    for kind, share in FORMATS.items():
        assert abs(by_kind[kind] / len(parallel) - share) <= 0.01, by_kind


def test_same_seed_same_mixture_other_seed_other_mixture(tokenizer):
    assert build(tokenizer, seed=1) == build(tokenizer, seed=1)
    assert build(tokenizer, seed=1) != build(tokenizer, seed=2)


def test_no_eval_task_reaches_training():
    held_out = {p.task_id for p in EVAL}
    assert held_out and all(p.split == "eval" for p in EVAL)
    assert not held_out & {p.task_id for p in TRAIN}
    # an eval-only dataset holds out its task ids even where the training data has them as train
    train, evaluated = split_by_task(TRAIN, TRAIN[:3])
    assert {p.task_id for p in evaluated} == {p.task_id for p in TRAIN[:3]}
    assert not {p.task_id for p in train} & {p.task_id for p in TRAIN[:3]}


def test_multi_and_translation_examples_hold_real_parallel_programs(tokenizer):
    examples = build(tokenizer, multi_languages=3)
    by_id = {p.task_id: p for p in TRAIN}
    multi = next(e for e in examples if e.kind == "multi")
    blocks = code_blocks(multi.target)
    programs = by_id[multi.task_id].parallel_group()
    assert len(blocks) == 3 and blocks[0][1] == programs[multi.language].rstrip()
    assert all(code == programs[lang].rstrip() for lang, code in blocks[1:])
    translation = next(e for e in examples if e.kind == "translation")
    assert programs_of(by_id, translation.task_id, "python") in translation.prompt
    assert translation.prompt.endswith(f"```{translation.language}\n")


def programs_of(by_id, task_id, language):
    return by_id[task_id].parallel_group()[language].rstrip()


def test_baseline_is_every_source_problem_once(tokenizer):
    config = MixtureConfig("python", {"python": 1.0})
    examples = MixtureBuilder(config, tokenizer, PromptStyle()).build(TRAIN)
    assert sorted(e.task_id for e in examples) == sorted(p.task_id for p in TRAIN)


def test_datamodule_labels_only_the_answer_and_reports_languages(tokenizer):
    mixture = MixtureConfig("python", RATIOS, FORMATS, num_examples=60)
    dm = ParallelMixtureDataModule(mixture=mixture, max_length=768, batch_size=4)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert (batch["attention_mask"].sum(1) < 768).any()
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        answer = [int(t) for t, lab in zip(ids, labels, strict=True) if lab != IGNORE_INDEX]
        assert "<|im_start|>" not in tokenizer.decode(answer)
        if mask.sum() < 768:  # not cut at max_length: the whole answer, closed and ended
            assert answer[-1] == tokenizer.eos_token_id
            assert tokenizer.decode(answer[:-1]).rstrip().endswith("```")
        assert labels[: int(mask.sum())].tolist().count(IGNORE_INDEX) > 10  # the prompt is masked
    assert sum(r["examples"] for r in dm.report.values()) == len(dm.train_rows) == 60
    assert dm.report["python"]["examples"] == 30 and dm.report["go"]["tokens"] > 0
    assert dm.val_rows and {r["task_id"] for r in dm.val_rows} <= {p.task_id for p in EVAL}


def test_rl_mode_serves_source_prompts_with_tests_and_eval_sets_are_held_out():
    dm = ParallelMixtureDataModule(mode="rl", mixture=MixtureConfig("python", RATIOS), batch_size=3)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert len(batch) == 3 and all(item.language == "python" and item.variant.has_tests for item in batch)
    assert all(item.prompt.endswith("```python\n") for item in batch)
    sets = dm.eval_sets()
    assert set(sets) == set(RATIOS) and all(len(items) == len(EVAL) for items in sets.values())
    trained = {item.task_id for item in dm.train_rows}
    assert not trained & {item.task_id for items in sets.values() for item in items}


def control_pair(tokenizer, seed=0, formats=FORMATS, max_length=None):
    """A parallel mixture and its non-parallel control, with each one's report (examples cut to max_length)."""
    pair = {}
    for parallel in (True, False):
        config = MixtureConfig("python", RATIOS, formats, num_examples=400, seed=seed, parallel=parallel)
        examples = MixtureBuilder(config, tokenizer, PromptStyle(), max_length).build(TRAIN)
        rows = [tokenize_example(e, tokenizer, max_length or 4096, chat=True) for e in examples]
        pair[parallel] = examples, mixture_report([row for row in rows if row is not None])
    return pair


def languages_of_each_task(examples):
    seen = {}
    for example in examples:
        for task_id, lang in example.programs:
            seen.setdefault(task_id, set()).add(lang)
    return seen


@pytest.mark.parametrize(
    ("seed", "formats", "max_length"),
    [(0, FORMATS, None), (1, FORMATS, None), (0, {"single": 0.5, "translation": 0.5}, 512)],
    ids=["all-formats", "seed-1", "cut-at-512"],
)
def test_the_control_has_the_parallel_mixtures_examples_and_answer_tokens_per_language(
    tokenizer, seed, formats, max_length
):
    (_, parallel), (_, control) = control_pair(tokenizer, seed, formats, max_length).values()
    assert set(control) == set(parallel) == set(RATIOS)
    for lang in RATIOS:
        p, c = parallel[lang], control[lang]
        assert abs(c["examples"] / p["examples"] - 1) <= 0.01, (lang, p, c)
        assert abs(c["answer_tokens"] / p["answer_tokens"] - 1) <= 0.05, (lang, p, c)
        if lang != "python":  # statements replace translations' programs and join multi examples
            assert c["tokens"] - c["answer_tokens"] > p["tokens"] - p["answer_tokens"], lang


def test_the_control_has_the_parallel_mixtures_examples_per_language_and_format(tokenizer):
    (parallel, _), (control, _) = control_pair(tokenizer).values()
    kinds = Counter((e.language, e.kind) for e in parallel)
    assert kinds[("go", "translation")] > 0 and kinds[("go", "multi")] > 0
    assert Counter((e.language, e.kind) for e in control) == kinds


def test_no_problem_of_the_control_is_in_two_languages_and_its_programs_are_real(tokenizer):
    (parallel, _), (control, _) = control_pair(tokenizer).values()
    assert any(len(langs) > 1 for langs in languages_of_each_task(parallel).values())
    assert all(len(langs) == 1 for langs in languages_of_each_task(control).values())
    by_id = {p.task_id: p for p in TRAIN}
    for example in control:
        blocks = code_blocks(example.target)
        answers = example.programs[1:] if example.kind == "translation" else example.programs
        assert [lang for lang, _ in blocks[1:]] == [lang for _, lang in answers[1:]]
        for (_, code), (task_id, lang) in zip(blocks, answers, strict=True):
            assert code == programs_of(by_id, task_id, lang)
            assert by_id[task_id].description in example.prompt
    multi = [e for e in control if e.kind == "multi"]
    assert multi and all(len({task_id for task_id, _ in e.programs}) == len(e.programs) == 3 for e in multi)
    # A control translation shows a python program of another problem, and asks for its own in the target.
    translation = next(e for e in control if e.kind == "translation")
    (shown, source), (asked, _) = translation.programs
    assert source == "python" and shown != asked
    assert programs_of(by_id, shown, "python") in translation.prompt
    assert programs_of(by_id, asked, "python") not in translation.prompt


def test_the_control_holds_a_program_in_one_language_even_under_two_task_ids(tokenizer):
    # Every problem twice, under a second task_id: de-duplicating by task_id would let a program be
    # trained in two languages; the control compares programs.
    doubled = TRAIN + [replace(p, task_id=p.task_id + "/again") for p in TRAIN]
    config = MixtureConfig("python", RATIOS, FORMATS, num_examples=400, parallel=False)
    control = MixtureBuilder(config, tokenizer, PromptStyle()).build(doubled)
    ids = program_ids(doubled)
    languages = {}
    for example in control:
        for task_id, lang in example.programs:
            languages.setdefault(ids[task_id], set()).add(lang)
    assert len(languages) > 20 and all(len(langs) == 1 for langs in languages.values())


def test_the_baseline_has_the_parallel_mixtures_answer_tokens_in_the_source_language(tokenizer):
    config = MixtureConfig("python", RATIOS, FORMATS, num_examples=400)
    builder = MixtureBuilder(config, tokenizer, PromptStyle(), max_length=512)
    parallel = builder.build(TRAIN)
    baseline = MixtureBuilder(replace(config, source_only=True), tokenizer, PromptStyle(), max_length=512).build(TRAIN)
    assert {e.language for e in baseline} == {"python"} and {e.kind for e in baseline} == {"source"}
    budget, spent = sum(builder.answer_tokens(parallel)), builder.answer_tokens(baseline)
    assert len(baseline) > 400  # python answers are shorter than multi examples' three programs
    assert abs(sum(spent) - budget) <= max(spent) / 2


def test_warm_and_arms_parts_share_no_program_and_the_warm_part_no_eval_program():
    doubled = TRAIN + [replace(p, task_id=p.task_id + "/again") for p in TRAIN]
    evaluated = [*EVAL, replace(TRAIN[0], task_id="eval/copy", split="eval")]
    warm = select_part(doubled, evaluated, "warm", 0.3)
    arms = select_part(doubled, evaluated, "arms", 0.3)
    assert sorted(p.task_id for p in warm + arms) == sorted(p.task_id for p in doubled)
    ids = program_ids(doubled)
    assert 0.15 < len(warm) / len(doubled) < 0.45
    assert not {ids[p.task_id] for p in warm} & {ids[p.task_id] for p in arms}
    held_out = {normalized(code) for p in evaluated for code in p.parallel_group().values()}
    assert all(held_out.isdisjoint(map(normalized, p.parallel_group().values())) for p in warm)
    # A program's part is its own: the same in a smaller corpus, in any order.
    assert {p.task_id for p in select_part(doubled[::-1][:50], evaluated, "warm", 0.3)} <= {p.task_id for p in warm}
    assert select_part(doubled, evaluated, "all", 0.3) == doubled


def test_a_control_needs_a_problem_per_language(tokenizer):
    config = MixtureConfig("python", RATIOS, FORMATS, num_examples=40, parallel=False)
    # One of the 3 is the program the translations show: 2 are left to answer.
    with pytest.raises(ValueError, match="2 programs cannot serve 5 languages"):
        MixtureBuilder(config, tokenizer, PromptStyle()).build(TRAIN[:3])
