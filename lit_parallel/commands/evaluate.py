"""``lit-parallel evaluate``: pass@k per language of a model, an adapter or a checkpoint, on held-out problems."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch

from lit_parallel import checks
from lit_parallel.commands.arguments import Command
from lit_parallel.commands.common import format_table
from lit_parallel.commands.model import ModelChoice, inference_sampler, prompt_style, sampling_model
from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionSpec, Verdict
from lit_parallel.generation import SamplingSpec
from lit_parallel.modeling import ModelSpec
from lit_parallel.problems.loading import parse_spec
from lit_parallel.prompts import PromptStyle
from lit_parallel.quiet import quiet_upstream


@dataclass
class EvaluateConfig:
    """pass@k per language of a model, an adapter or a checkpoint, on the eval split of datasets."""

    model: ModelChoice = field(default_factory=ModelChoice)
    """The model evaluated, and its prompts (a run's, when it comes from a fit config or checkpoint)."""
    dataset: list[str] = field(default_factory=lambda: ["bundled"])
    """Dataset SPECs (see ``data verify``); their eval split is evaluated."""
    languages: list[str] | None = None
    """Evaluated languages (default: every language of the eval problems); each must run here."""
    targets: list[str] | None = None
    """Languages averaged as pass@k/targets; each must be evaluated."""
    limit: int | None = None
    """The first N problems per language."""
    ks: list[int] = field(default_factory=lambda: [1])
    """The k of pass@k, each at most ``sampling.n``."""
    sampling: SamplingSpec = field(default_factory=SamplingSpec)
    """Samples per problem (``n``), temperature (0: greedy), top-p, token budget, batch size, seed, and the
    backend that draws them (``--sampling.backend vllm``)."""
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    """Limits per test run, programs judged at once, and the share of sandbox errors that stops it."""
    devices: int = 1
    """Processes sharing the samples: one per GPU, or on CPU each with its share of the cores (the hf
    backend; vLLM batches on its own: 1)."""
    output: Path = Path("runs/evaluate.json")
    """The JSON report; the records (one per sample) beside it as .jsonl."""

    def __post_init__(self) -> None:
        checks.at_least(self.limit, 1, "limit")
        checks.at_least(self.devices, 1, "devices")
        if self.devices > 1 and self.sampling.backend == "vllm":
            raise DataError("devices: the vllm backend runs one engine of its own; give devices: 1")
        for k in self.ks:
            checks.at_least(k, 1, "ks")
            if k > self.sampling.n:
                n = self.sampling.n
                raise DataError(f"ks: pass@{k} needs at least {k} samples per problem, but sampling.n is {n}")
        if self.languages is not None and self.targets is not None:
            checks.choices(self.targets, self.languages, "targets")


def check(config: EvaluateConfig) -> None:
    """What the config names exists here, before anything is loaded: languages, datasets, model files."""
    languages = checks.languages(config.languages, "languages", runnable=True)
    targets = checks.languages(config.targets, "targets", runnable=True)
    if languages and targets:
        checks.choices(targets, languages, "targets")
    for i, spec in enumerate(config.dataset):
        with checks.prefixed(f"dataset[{i}]"):
            parse_spec(spec)
    checks.output_file(config.output, "output")
    config.model.check()


def run(config: EvaluateConfig) -> int:
    from lit_parallel.evaluation import summarize  # here: the other commands need not import the sampler

    check(config)
    style = prompt_style(config.model)
    started = time.perf_counter()
    shard = partial(evaluate_shard, config, style, world=config.devices)
    if config.devices == 1:
        shards = [shard(0)]
    else:  # this process is rank 0; the others are fresh ones (a fork would inherit OpenMP threads that hang it)
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: the command's filters again
        with ProcessPoolExecutor(config.devices - 1, mp_context=context, initializer=quiet_upstream) as pool:
            others = [pool.submit(shard, rank) for rank in range(1, config.devices)]
            shards = [shard(0), *(future.result() for future in others)]
    _, model_spec, problems, over = shards[0]
    # Job i was process i % devices's (i // devices)-th: back in the order of the jobs.
    world = config.devices
    records = [shards[i % world][0][i // world] for i in range(sum(len(s[0]) for s in shards))]
    metrics = summarize(records, config.ks, config.targets or ())
    seconds = time.perf_counter() - started
    header = ["language", "problems", *(f"pass@{k}" for k in config.ks)]
    rows = [
        [lang, count, *(f"{metrics.get(f'pass@{k}/{lang}', float('nan')):.3f}" for k in config.ks)]
        for lang, count in problems.items()
    ]
    print(format_table(header, rows))
    print(f"{len(records)} samples in {seconds:.0f} s")
    if over:
        counts = ", ".join(f"{lang} {count} of {problems[lang]}" for lang, count in over.items())
        limit = config.sampling.max_new_tokens
        print(f"note: reference programs longer than sampling.max_new_tokens={limit} tokens: {counts}")
    config.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "metrics": metrics,
        "model": asdict(model_spec),
        "prompt_style": asdict(style),
        "problems": problems,
        "references_over_max_new_tokens": over,
        "wall_time_s": round(seconds, 1),
        "config": json.loads(json.dumps(asdict(config), default=str)),
    }
    config.output.write_text(json.dumps(report, indent=2) + "\n")
    config.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


def nonempty_sets(sets: Mapping[str, Sequence[object]]) -> None:
    """Every language has something to evaluate: an empty one would report a nan as a result."""
    empty = [lang for lang, items in sets.items() if not items]
    if empty:
        raise DataError(f"languages: no evaluation problem with tests in {', '.join(empty)}")
    if not sets:
        raise DataError("dataset: the datasets have no evaluation problem")


def evaluate_shard(
    config: EvaluateConfig, style: PromptStyle, rank: int, world: int
) -> tuple[list[dict], ModelSpec, dict[str, int], dict[str, int]]:
    """Process ``rank`` of ``world``: its records (every ``world``-th job from the ``rank``-th), the model's
    spec, the problems per language, and per language the problems with a reference longer than the
    generation limit. Each process runs on its own GPU, or on CPU with its share of the cores: two
    processes of one thread decode faster than one of two, whose Python between kernels leaves a core idle."""
    # Imported here: Lightning and the sampler cost seconds that the other commands need not pay.
    from datamodules import ParallelMixtureDataModule
    from lit_parallel.evaluation import jobs_for, references_over, run_jobs
    from lit_parallel.modules.devices import execution_beside
    from lit_parallel.progress import Progress

    cuda = torch.cuda.is_available()
    if world > 1 and not cuda:
        torch.set_num_threads(max(1, torch.get_num_threads() // world))
    device = torch.device("cuda", rank) if cuda else torch.device("cpu")
    model, model_spec = sampling_model(config.model, config.sampling.backend, device)
    # Only the held-out (eval split) problems: the bundled corpus's train split is what SFT and RL saw.
    data = ParallelMixtureDataModule(
        datasets=config.dataset,
        eval_problems_per_language=config.limit,
        tokenizer=model_spec.source,
        chat=style.chat,
        system_prompt=style.system,
    )
    data.load()
    sets = data.eval_sets(config.languages or sorted({lang for p in data.eval_problems for lang in p.variants}))
    nonempty_sets(sets)
    spec = config.sampling
    sampler = inference_sampler(spec, model, model_spec, data.tokenizer, style, device)
    jobs = jobs_for(sets, spec.n)[rank::world]
    # One progress report (process 1's) when there are several: the others' shares are alike.
    label = "evaluate" if world == 1 else f"evaluate (process 1 of {world})"
    shown = Progress(label, len(jobs)) if rank == 0 else nullcontext()
    with execution_beside(config.execution, device, world).executor() as executor, shown as progress:
        try:
            records = run_jobs(jobs, sampler, executor, spec, progress)
        finally:
            sampler.close()
        errors = sum(r["verdict"] == Verdict.SANDBOX_ERROR.value for r in records)
        config.execution.check(errors, len(records), executor, "evaluate")
    over = references_over(sets, data.tokenizer, spec.max_new_tokens) if rank == 0 else {}
    return records, model_spec, {lang: len(items) for lang, items in sets.items()}, over


COMMAND = Command("evaluate", "pass@k per language of a model, an adapter or a checkpoint", EvaluateConfig, run)
