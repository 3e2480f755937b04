"""Evaluation throughput: lit_parallel's pass@k pipeline against plain ``model.generate`` + sequential execution.

What is compared
----------------
The same prompts (``--languages`` x ``--problems`` of a dataset, ``--n`` samples each), the same model
(the packaged SmolLM2-135M-Instruct by default), the same sampling settings (temperature, top-p, max new
tokens, batch size, stop sequences) and the same sandboxed executor:

- ours: ``lit_parallel.evaluation.run_jobs`` with ``lit_parallel.generation.generate``: continuous
  batching (a finished row's slot takes the next sample at once), one prefill per prompt shared by its
  samples, and the executor's pool judging each program as soon as its completion is done.
- peer: what an evaluation script usually does: ``model.generate`` on the same batches (KV cache,
  left padding, ``stop_strings``; finished rows stay in the batch as padding until all are done), the
  completions cut at their stop sequence and their code extracted the same way, then every program
  judged one after the other (``Executor(workers=1)``), after all generation.

Both use the same weights in the same dtype (``--dtype``) and run in this process, ours first then the
peer, then again in the other order (``--rounds``); throughput = samples (problem x sample) / summed
wall clock. Pass counts are printed for both: they differ only where the two samplers draw different
tokens (their random streams differ), not by much.
The last line, ``ratio: X``, is our samples/s divided by the peer's (higher is better).
"""

from __future__ import annotations

# isort: off
import lit_parallel  # noqa: F401  (first: its OpenMP wait policy must precede torch's import)

# isort: on
import argparse
import os
import time
from collections.abc import Sequence
from functools import partial

import torch

from datamodules import ParallelMixtureDataModule
from lit_parallel.evaluation import Job, jobs_for, record, run_jobs
from lit_parallel.execution import Executor, Limits
from lit_parallel.generation import SamplingSpec, cut_at_stop, generate
from lit_parallel.modeling import PACKAGED, ModelSpec, load_model
from lit_parallel.prompts import extract_code, stop_sequences


def peer_run(jobs: Sequence[Job], model: torch.nn.Module, tokenizer: object, spec: SamplingSpec) -> list[dict]:
    """``model.generate`` batch by batch, then sequential execution of every program."""
    generated = []
    for start in range(0, len(jobs), spec.batch_size):
        batch = jobs[start : start + spec.batch_size]
        stops = sorted({s for job in batch for s in stop_sequences(job.variant)})
        enc = tokenizer(
            [j.prompt for j in batch], return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
        )
        torch.manual_seed(spec.seed + start)
        out = model.generate(
            **enc,
            do_sample=spec.temperature > 0,
            temperature=spec.temperature or None,
            top_p=spec.top_p,
            max_new_tokens=spec.max_new_tokens,
            stop_strings=stops or None,
            tokenizer=tokenizer,
            pad_token_id=tokenizer.pad_token_id,
        )
        texts = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        generated += [
            (job, cut_at_stop(text, stop_sequences(job.variant))[0]) for job, text in zip(batch, texts, strict=True)
        ]
    records = []
    with Executor(workers=1, limits=Limits(timeout_s=10)) as executor:
        for job, completion in generated:
            code = extract_code(completion, job.variant)
            [result] = executor.run([job.variant.program(code, f"{job.language}/{job.task_id}/{job.sample}")])
            records.append(record(job, completion, code, result))
    return records


def ours_run(jobs: Sequence[Job], model: torch.nn.Module, tokenizer: object, spec: SamplingSpec) -> list[dict]:
    with Executor(limits=Limits(timeout_s=10)) as executor:
        return run_jobs(jobs, partial(generate, model, tokenizer, spec=spec), executor, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=PACKAGED)
    parser.add_argument("--dataset", default="bundled", help="a dataset SPEC; its first problems per language")
    parser.add_argument("--languages", nargs="+", default=["python", "ruby", "lua"])
    parser.add_argument("--problems", type=int, default=4, help="problems per language")
    parser.add_argument("--n", type=int, default=2, help="samples per problem")
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--max-new-tokens", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32", help="of both sides")
    parser.add_argument("--rounds", type=int, default=1, help="each round runs both, in alternating order")
    args = parser.parse_args()

    model = load_model(ModelSpec(args.model, quantization="none", compute_dtype=args.dtype, lora=None)).eval()
    data = ParallelMixtureDataModule(
        datasets=[],
        eval_datasets=[args.dataset],
        eval_languages=args.languages,
        eval_problems_per_language=args.problems,
        tokenizer=args.model,
    )
    jobs = jobs_for(data.eval_sets(), args.n)
    spec = SamplingSpec(args.n, args.temperature, args.top_p, args.max_new_tokens, args.batch_size)
    print(
        f"{len(jobs)} samples: {args.languages} x {args.problems} problems x n={args.n}, "
        f"T={args.temperature}, max_new_tokens={args.max_new_tokens}, batch {args.batch_size}, {args.dtype}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    runners = {"ours": ours_run, "peer": peer_run}
    seconds = dict.fromkeys(runners, 0.0)
    passed = dict.fromkeys(runners, 0)
    for round_ in range(args.rounds):
        for name in ["ours", "peer"] if round_ % 2 == 0 else ["peer", "ours"]:
            start = time.perf_counter()
            with torch.no_grad():
                records = runners[name](jobs, model, data.tokenizer, spec)
            elapsed = time.perf_counter() - start
            seconds[name] += elapsed
            ok = sum(r["passed"] for r in records)
            passed[name] += ok
            print(f"round {round_} {name}: {len(records)} samples in {elapsed:.1f}s, {ok} passed")
    rate = {name: len(jobs) * args.rounds / seconds[name] for name in runners}
    for name in runners:
        print(f"{name}: {rate[name]:.3f} samples/s, {passed[name]} of {len(jobs) * args.rounds} passed")
    print(f"ratio: {rate['ours'] / rate['peer']:.2f}")


if __name__ == "__main__":
    main()
