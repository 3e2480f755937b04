"""Generate and judge (the one home of that loop, for evaluation, translation and RL rollouts), and
per-language pass@k: sample completions, extract code, execute, count.

The work is a list of jobs, one per (language, problem, sample). A process takes its share
(``jobs[rank::world]``); the sampler gets them all at once and each program runs on the executor's pool
as soon as its completion is done, while the others still generate. Records are plain dicts, so that
ranks can gather them and every rank can compute the same metrics from the same records.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from lit_parallel.execution import Executor, Verdict
from lit_parallel.generation import Completion, Request, SamplingSpec
from lit_parallel.metrics import pass_at_k_by_language
from lit_parallel.progress import Progress
from lit_parallel.prompts import extract_code, render_target, stop_sequences
from lit_parallel.sampling import Sampler


@dataclass(frozen=True)
class Job:
    """One sample to draw: the ``sample``-th completion of a prompt."""

    language: str
    task_id: str
    sample: int
    prompt: str
    variant: object
    cluster: str = ""
    """The problem's cluster, which its records carry for the experiment's statistics; "" names none."""

    def seed(self, base: int) -> int:
        key = f"{base}/{self.language}/{self.task_id}/{self.sample}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & (2**63 - 1)

    def request(self, base: int) -> Request:
        """What the sampler draws for this job, from the seed base of the evaluation or RL step."""
        return Request(self.prompt, self.seed(base), tuple(stop_sequences(self.variant)))

    def program(self, code: str) -> object:
        """``code`` as the program the executor judges for this job (named language/task/sample)."""
        return self.variant.program(code, f"{self.language}/{self.task_id}/{self.sample}")


Judge = Callable[[Job, str], object]
"""(job, completion text) -> a future of the execution result of its code (``executed``), or a reward
(a number) that needs no execution (RL's cheap reward functions)."""


def executed(executor: Executor, stop_on_failure: bool | None = None) -> Judge:
    """The judge that runs each completion's code on ``executor`` (``stop_on_failure``: as ``submit``)."""

    def judge(job: Job, completion: str) -> Future:
        return executor.submit(job.program(extract_code(completion, job.variant)), stop_on_failure)

    return judge


def jobs_for(sets: dict[str, Sequence], n: int) -> list[Job]:
    """Every (language, problem, sample) of evaluation sets of PromptItems, in a fixed order."""
    return [
        Job(lang, item.task_id, s, item.prompt, item.variant, item.cluster)
        for lang in sorted(sets)
        for item in sets[lang]
        for s in range(n)
    ]


def references_over(sets: Mapping[str, Sequence], tokenizer: object, max_new_tokens: int) -> dict[str, int]:
    """Per language (those with any), how many problems of evaluation sets of PromptItems have a reference
    program (with its closing fence) longer than ``max_new_tokens`` tokens. A model that writes a program
    like it is cut off and judged failed by the generation limit, not for what it wrote: such a limit
    biases pass@k down, the most in the wordiest languages."""
    over = {}
    for lang, items in sets.items():
        targets = [render_target(item.variant.solution) for item in items if item.variant.solution]
        lengths = [len(ids) for ids in tokenizer(targets, add_special_tokens=False)["input_ids"]] if targets else []
        if count := sum(n > max_new_tokens for n in lengths):
            over[lang] = count
    return over


def draw_and_judge(
    jobs: Sequence[Job],
    sampler: Sampler,
    spec: SamplingSpec,
    seed: int,
    judge: Judge,
    progress: Progress | None = None,
) -> tuple[list[Completion], list[object]]:
    """The one generate-and-judge loop: each job's completion and judgement, in job order. ``seed`` is the
    base of the jobs' seeds; each completion is judged as soon as it finishes, while the others generate."""
    completions: list = [None] * len(jobs)
    outcomes: list = [None] * len(jobs)
    done = tokens = 0
    for index, completion in sampler.generate([job.request(seed) for job in jobs], spec):
        completions[index], outcomes[index] = completion, judge(jobs[index], completion.text)
        done, tokens = done + 1, tokens + len(completion.token_ids)
        if progress is not None:
            progress.update(done, tokens)
    return completions, outcomes


def run_jobs(
    jobs: Sequence[Job], sampler: Sampler, executor: Executor, spec: SamplingSpec, progress: Progress | None = None
) -> list[dict]:
    """Generate and judge ``jobs`` (in their order) into records."""
    completions, futures = draw_and_judge(jobs, sampler, spec, spec.seed, executed(executor), progress)
    return [
        record(job, c.text, extract_code(c.text, job.variant), f.result())
        for job, c, f in zip(jobs, completions, futures, strict=True)
    ]


def record(job: Job, completion: str, code: str, result: object) -> dict:
    return {
        "language": job.language,
        "task_id": job.task_id,
        "cluster": job.cluster or job.task_id,
        "sample": job.sample,
        "completion": completion,
        "code": code,
        "verdict": result.verdict.value,
        "passed": result.passed,
        "duration_s": round(result.duration_s, 4),
        "stderr_tail": result.stderr_tail[-500:],
    }


def summarize(records: Sequence[dict], ks: Sequence[int], targets: Sequence[str] = ()) -> dict[str, float]:
    """Scalars: ``pass@k/<language>``, the macro mean over target languages ``pass@k/targets``, and
    per-language verdict shares ``verdicts/<language>/<verdict>``.

    A ``sandbox_error`` sample is not a failure of the model: pass@k counts only the judged samples
    (a language with none has no pass@k), and ``sandbox_errors/<language>`` counts the others."""
    judged = [r for r in records if r["verdict"] != Verdict.SANDBOX_ERROR.value]
    table = pass_at_k_by_language(((r["language"], r["task_id"], r["passed"]) for r in judged), ks)
    metrics = {f"pass@{k}/{lang}": value for lang, by_k in table.items() for k, value in by_k.items()}
    for k in ks:
        values = [table[lang][k] for lang in targets if k in table.get(lang, {})]
        if values and len(values) == len(targets):
            metrics[f"pass@{k}/targets"] = sum(values) / len(values)
    verdicts: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        verdicts[r["language"]][r["verdict"]] += 1
    for lang, counts in verdicts.items():
        total = sum(counts.values())
        metrics.update({f"verdicts/{lang}/{v.value}": counts[v.value] / total for v in Verdict if counts[v.value]})
        metrics[f"sandbox_errors/{lang}"] = counts[Verdict.SANDBOX_ERROR.value]
    return metrics
