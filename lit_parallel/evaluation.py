"""Per-language pass@k: sample completions, extract code, execute, count.

The work is a list of jobs, one per (language, problem, sample). A process takes its share
(``jobs[rank::world]``); execution of one batch runs on the executor's pool while the next batch
generates. Records are plain dicts, so that ranks can gather them and every rank can compute the
same metrics from the same records.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lit_parallel.execution import Executor, Verdict
from lit_parallel.metrics import pass_at_k_by_language
from lit_parallel.prompts import extract_code, stop_sequences
from lit_parallel.sampling import SamplingSpec


@dataclass(frozen=True)
class Job:
    """One sample to draw: the ``sample``-th completion of a prompt."""

    language: str
    task_id: str
    sample: int
    prompt: str
    variant: object

    def seed(self, base: int) -> int:
        key = f"{base}/{self.language}/{self.task_id}/{self.sample}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & (2**63 - 1)


Generate = Callable[[Sequence[str], Sequence[int], Sequence[Sequence[str]]], list[str]]
"""(prompts, seeds, stop sequences per prompt) -> one completion per prompt."""


def jobs_for(sets: dict[str, Sequence], n: int) -> list[Job]:
    """Every (language, problem, sample) of evaluation sets of PromptItems, in a fixed order."""
    return [
        Job(lang, item.task_id, s, item.prompt, item.variant)
        for lang in sorted(sets)
        for item in sets[lang]
        for s in range(n)
    ]


def run_jobs(jobs: Sequence[Job], generate: Generate, executor: Executor, spec: SamplingSpec) -> list[dict]:
    """Generate and judge ``jobs``; a batch executes while the next one generates."""
    pending = []
    for start in range(0, len(jobs), spec.batch_size):
        batch = jobs[start : start + spec.batch_size]
        completions = generate(
            [job.prompt for job in batch],
            [job.seed(spec.seed) for job in batch],
            [stop_sequences(job.variant) for job in batch],
        )
        for job, completion in zip(batch, completions, strict=True):
            code = extract_code(completion, job.variant)
            program = job.variant.program(code, f"{job.language}/{job.task_id}/{job.sample}")
            pending.append((job, completion, code, executor.submit(program)))
    return [record(job, completion, code, future.result()) for job, completion, code, future in pending]


def record(job: Job, completion: str, code: str, result: object) -> dict:
    return {
        "language": job.language,
        "task_id": job.task_id,
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
