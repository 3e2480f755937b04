"""Evaluation bookkeeping: jobs, sharding, execution and pass@k against hand computation."""

from math import comb

import pytest

from datamodules import MixtureConfig, ParallelMixtureDataModule
from lit_parallel.evaluation import jobs_for, references_over, run_jobs, summarize
from lit_parallel.execution import Executor
from lit_parallel.generation import Completion, SamplingSpec

CORRECT = {"python": [3, 1], "lua": [0, 4]}  # correct samples of the first two eval problems, of N
N = 4


@pytest.fixture(scope="module")
def sets():
    dm = ParallelMixtureDataModule(mixture=MixtureConfig("python", {"python": 0.5, "lua": 0.5}))
    return {lang: items[:2] for lang, items in dm.eval_sets().items()}


class TableSampler:
    """A fixed table of completions behind the sampler interface: sample s of problem i in language L is
    the reference solution when s < CORRECT[L][i], else a wrong program."""

    backend = "table"

    def __init__(self, sets) -> None:
        self.jobs = {job.seed(0): job for job in jobs_for(sets, N)}
        self.index = {(lang, item.task_id): i for lang, items in sets.items() for i, item in enumerate(items)}

    def generate(self, requests, spec):
        wrong = {"python": "print('nope')", "lua": "print('nope')"}
        # in reverse, as an engine may finish them in any order
        for i, request in reversed(list(enumerate(requests))):
            job = self.jobs[request.seed]
            good = job.sample < CORRECT[job.language][self.index[job.language, job.task_id]]
            text = (job.variant.solution if good else wrong[job.language]) + "\n```\nSome prose after."
            yield i, Completion(text, [], "eos")


def by_hand(n, c, k):
    return 1 - comb(n - c, k) / comb(n, k)


def test_pass_at_k_per_language_equals_hand_computation(sets):
    jobs = jobs_for(sets, N)
    assert len(jobs) == 2 * 2 * N and len({(j.language, j.task_id, j.sample) for j in jobs}) == len(jobs)
    with Executor(workers=2) as ex:
        records = run_jobs(jobs, TableSampler(sets), ex, SamplingSpec(n=N, batch_size=3))
    metrics = summarize(records, ks=[1, 2], targets=["lua"])
    for lang, correct in CORRECT.items():
        for k in (1, 2):
            expected = sum(by_hand(N, c, k) for c in correct) / len(correct)
            assert metrics[f"pass@{k}/{lang}"] == pytest.approx(expected), (lang, k)
    assert metrics["pass@1/targets"] == metrics["pass@1/lua"]
    assert metrics["verdicts/python/passed"] == pytest.approx(4 / 8)
    assert metrics["verdicts/python/failed"] == pytest.approx(4 / 8)


def test_shards_together_give_exactly_the_single_process_records(sets):
    jobs = jobs_for(sets, N)
    sampler, spec = TableSampler(sets), SamplingSpec(n=N, batch_size=2)
    with Executor(workers=2) as ex:
        whole = run_jobs(jobs, sampler, ex, spec)
        shards = [run_jobs(jobs[rank::3], sampler, ex, spec) for rank in range(3)]
    key = lambda r: (r["language"], r["task_id"], r["sample"])  # noqa: E731
    merged = sorted((r for shard in shards for r in shard), key=key)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "duration_s"} for r in rs]  # noqa: E731
    assert strip(merged) == strip(sorted(whole, key=key))


def test_sandbox_errors_are_left_out_of_pass_at_k_and_counted_apart():
    def rec(lang, task, verdict):
        return {"language": lang, "task_id": task, "verdict": verdict, "passed": verdict == "passed"}

    records = [rec("python", "a", "passed"), rec("python", "a", "sandbox_error"), rec("python", "b", "failed")]
    records += [rec("python", "b", "failed"), rec("cpp", "a", "sandbox_error"), rec("cpp", "b", "sandbox_error")]
    metrics = summarize(records, ks=[1, 2], targets=["cpp"])
    # python: problem a has one judged sample (passed), b two (failed): pass@1 = (1 + 0) / 2; pass@2 needs
    # two judged samples of every problem, so it is left out rather than counted as a failure
    assert metrics["pass@1/python"] == pytest.approx(0.5) and "pass@2/python" not in metrics
    assert metrics["sandbox_errors/python"] == 1 and metrics["sandbox_errors/cpp"] == 2
    assert "pass@1/cpp" not in metrics and "pass@1/targets" not in metrics


def test_eval_prompts_carry_their_problems_cluster():
    """The experiment's statistics resample clusters: a synthetic family's problems share one, a problem
    without one is its own."""
    dm = ParallelMixtureDataModule(eval_datasets=["synthetic#unseen", "bundled"], eval_problems_per_language=400)
    items = dm.eval_sets(["python"])["python"]
    synthetic = [item for item in items if item.task_id.startswith("synthetic")]
    bundled = [item for item in items if not item.task_id.startswith("synthetic")]
    assert synthetic and bundled
    assert all(item.cluster for item in synthetic) and len({item.cluster for item in synthetic}) < len(synthetic)
    assert all(item.cluster == item.task_id for item in bundled)


def test_references_longer_than_the_generation_limit_are_counted_per_language(tokenizer):
    """A reference program that cannot fit in max_new_tokens caps what pass@k can measure: each one is
    counted, with the closing fence the model must write too."""
    dm = ParallelMixtureDataModule(eval_datasets=["synthetic#unseen"], eval_problems_per_language=30)
    sets = dm.eval_sets(["python", "go"])
    lengths = {
        lang: [
            len(tokenizer(item.variant.solution.rstrip() + "\n```", add_special_tokens=False)["input_ids"])
            for item in items
        ]
        for lang, items in sets.items()
    }
    limit = sorted(lengths["go"])[len(lengths["go"]) // 2]  # go's median: half of its references are longer
    over = references_over(sets, tokenizer, limit)
    assert over["go"] == sum(n > limit for n in lengths["go"]) > 0
    assert over.get("python", 0) == sum(n > limit for n in lengths["python"])
    assert references_over(sets, tokenizer, max(max(v) for v in lengths.values())) == {}
