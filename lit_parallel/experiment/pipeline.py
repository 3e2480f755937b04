"""The stages of an experiment, each run once the stages it reads from are done and skipped when its
outputs are already on disk; ``concurrent_stages`` of them at a time, in plan order.

Every stage is one ``lit-parallel`` command (``fit``, ``evaluate``, ``align``), run by the function the
caller hands in (``lit-parallel experiment`` runs each as a child process); its full command line is kept
beside its outputs, so any number of the report can be traced to the command that made it.
A training stage interrupted mid-way resumes from its newest Lightning checkpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from lit_parallel.experiment.config import ExperimentConfig
from lit_parallel.progress import children_peak_mb, cpu_seconds


@dataclass(frozen=True)
class Finished:
    """What one stage's command left behind."""

    code: int | None
    """Its exit code (None: 0)."""
    cpu_seconds: float
    """User + system time of its processes (the sandbox's included)."""


RunCommand = Callable[[Sequence[str]], Finished]
"""Runs one ``lit-parallel`` command line to its end."""


def in_process(command: Callable[[Sequence[str]], int | None]) -> RunCommand:
    """``command`` (``lit_parallel.cli.main``) run in this process, as a RunCommand. Its CPU time is this
    process's and its ended children's over the call, so it holds only while one stage runs at a time."""

    def run(argv: Sequence[str]) -> Finished:
        before = cpu_seconds()
        try:
            code = command(argv)
        except SystemExit as exc:  # argument errors of LightningCLI and argparse
            code = exc.code
        return Finished(code, cpu_seconds() - before)

    return run


BASE = "base"
"""The arm name of the untrained model's measurements."""
WARM = "warm"
"""The arm name (and point) of the warm start: its fit and the measurements of its model."""
MIXTURE = "--data.init_args.mixture"


@dataclass(frozen=True)
class Stage:
    """One command of the pipeline and the directory it writes to."""

    arm: str
    seed: int | None
    point: str
    """``base``, ``warm``, ``sft`` or ``rl``: which model the stage trains or measures."""
    kind: str
    """``fit``, ``evaluate`` or ``align``."""
    directory: Path
    argv: tuple[str, ...]
    measure: str = ""
    """An evaluation's name in ``also_evaluate``; "" for the main evaluation and the other kinds."""
    needs: tuple[Path, ...] = ()
    """The adapters it reads: outputs of earlier fit stages, which must be done before it starts."""

    @property
    def name(self) -> str:
        """What its files are called: the kind, or ``evaluate-<measure>``."""
        return f"{self.kind}-{self.measure}" if self.measure else self.kind

    @property
    def marker(self) -> Path:
        """Written last, with the stage's wall time: its presence means the stage is done."""
        return self.directory / f"{self.name}.done.json"

    @property
    def output(self) -> Path:
        return self.directory / output_name(self.kind, self.measure)

    def describe(self) -> str:
        seed = "" if self.seed is None else f" seed={self.seed}"
        return f"{self.arm}{seed} {self.point} {self.name.replace('-', ' ')}"


def output_name(kind: str, measure: str = "") -> str:
    """The file a stage writes last (for an evaluation: ``eval.json`` or ``eval-<measure>.json``)."""
    if kind == "evaluate":
        return f"eval-{measure}.json" if measure else "eval.json"
    return {"fit": "adapters/final", "align": "align.json"}[kind]


def flags(options: dict, prefix: str = "--") -> list[str]:
    """A command's options, as its config holds them, as its flags: ``{limit: 6, languages: [go, php],
    sampling: {max_new_tokens: 192}}`` -> ``--limit=6 --languages=["go","php"] --sampling.max_new_tokens=192``."""
    argv = []
    for key, value in options.items():
        if isinstance(value, dict):
            argv += flags(value, f"{prefix}{key}.")
        else:
            argv.append(
                f"{prefix}{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"
            )
    return argv


def merged(options: dict, changes: dict) -> dict:
    """``options`` with ``changes`` applied key by key, nested mappings merged (a measurement's
    ``sampling: {max_new_tokens: 384}`` keeps the evaluation's other sampling options)."""
    out = dict(options)
    for key, value in changes.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else value
    return out


LOGS = Path("tb/version_0")
"""A fit stage's TensorBoard run under its directory; LightningCLI saves the run's config there."""


def trained_model(directory: Path) -> list[str]:
    """The model arguments that name what the fit in ``directory`` trained: its saved config (every
    override applied, so the same base and quantization) and its final adapter."""
    return [
        f"--model.fit_config={directory / LOGS / 'config.yaml'}",
        f"--model.adapter={directory / 'adapters' / 'final'}",
    ]


def fit_argv(config: str, directory: Path, seed: int, extra: list[str], adapter: Path | None) -> list[str]:
    """``lit-parallel fit`` of a stage config, its logs, checkpoints and adapters under ``directory``."""
    argv = ["fit", "--config", config, f"--seed_everything={seed}", f"--data.init_args.mixture.seed={seed}"]
    argv += [f"--trainer.default_root_dir={directory}", f"--trainer.logger.init_args.name={LOGS.parent}"]
    argv += [f"--trainer.logger.init_args.version={LOGS.name.removeprefix('version_')}"]
    argv += [f"--model.init_args.adapter_dir={directory / 'adapters'}"]
    if adapter is not None:
        argv.append(f"--model.init_args.model.adapter={adapter}")
    return argv + list(extra)


def measurements(
    experiment: ExperimentConfig, arm: str, seed: int | None, point: str, model: list[str], directory: Path
) -> Iterator[Stage]:
    """The evaluations (and alignment) of one model: the fit in ``directory``'s, or the base model."""
    needs = () if arm == BASE else (directory / output_name("fit"),)
    if seed is not None:
        for measure, options in {"": {}, **experiment.also_evaluate}.items():
            options = merged(merged(experiment.evaluation, options), {"sampling": {"seed": seed}})
            argv = ["evaluate", *model, *flags(options)]
            output = directory / output_name("evaluate", measure)
            yield Stage(arm, seed, point, "evaluate", directory, (*argv, f"--output={output}"), measure, needs)
    if experiment.alignment is not None and (arm != BASE or seed is None):
        argv = ["align", *model, *flags(experiment.alignment), f"--output={directory / output_name('align')}"]
        yield Stage(arm, seed, point, "align", directory, tuple(argv), needs=needs)


def warm_args(experiment: ExperimentConfig) -> list[str]:
    """The warm start's mixture: every language in equal shares, one program per example and each program
    in one language (the control's single format), on its own share of the training programs."""
    warm = experiment.warm_start
    languages = json.dumps(dict.fromkeys(experiment.warm_languages, 1.0), separators=(",", ":"))
    mixture = [f"languages={languages}", 'formats={"single":1.0}', "parallel=false", "source_only=false"]
    mixture += [f"num_examples={warm.examples}", "part=warm", f"warm_share={warm.share}"]
    return [*experiment.sft_args, *(f"{MIXTURE}.{option}" for option in mixture), *warm.args]


def arms_part(experiment: ExperimentConfig) -> list[str]:
    """With a warm start, the arms' SFT and RL train on the programs it did not (none without one)."""
    if experiment.warm_start is None:
        return []
    return [f"{MIXTURE}.part=arms", f"{MIXTURE}.warm_share={experiment.warm_start.share}"]


def warm_stages(experiment: ExperimentConfig, seed: int, out: Path) -> tuple[list[Stage], Path | None]:
    """The warm start's fit and measurements at ``seed``, and the adapter the arms start from (none without one)."""
    if experiment.warm_start is None:
        return [], None
    run = out / WARM / f"seed={seed}"
    config = experiment.warm_start.config or experiment.base_config
    fit = Stage(WARM, seed, WARM, "fit", run, tuple(fit_argv(config, run, seed, warm_args(experiment), None)))
    return [fit, *measurements(experiment, WARM, seed, WARM, trained_model(run), run)], run / "adapters" / "final"


def adapters(adapter: Path | None) -> tuple[Path, ...]:
    """What a fit that starts from ``adapter`` (None: the base model) needs."""
    return () if adapter is None else (adapter,)


def plan(experiment: ExperimentConfig) -> list[Stage]:
    """Every stage, in an order where each one's inputs come before it."""
    out = Path(experiment.output_dir)
    base_model = [f"--model.fit_config={experiment.base_config}"]
    base_model += (
        [f"--model.fit_args={json.dumps(experiment.base_args, separators=(',', ':'))}"] if experiment.base_args else []
    )
    stages = list(measurements(experiment, BASE, None, BASE, base_model, out / BASE))  # alignment: seed-free
    # Seed by seed, so that a run stopped part-way already holds every arm of its first seeds.
    for seed in experiment.seeds:
        if seed in experiment.base_seeds:
            stages += measurements(experiment, BASE, seed, BASE, base_model, out / BASE / f"seed={seed}")
        warm, start = warm_stages(experiment, seed, out)
        stages += warm
        part = arms_part(experiment)
        for arm, spec in experiment.arms.items():
            run = out / arm / f"seed={seed}"
            adapter = start
            if spec.config:
                argv = fit_argv(spec.config, run / "sft", seed, [*experiment.sft_args, *part, *spec.args], start)
                stages.append(Stage(arm, seed, "sft", "fit", run / "sft", tuple(argv), needs=adapters(start)))
                adapter = run / "sft" / "adapters" / "final"
                stages += measurements(experiment, arm, seed, "sft", trained_model(run / "sft"), run / "sft")
            if experiment.rl_config:
                # The rollouts draw from the experiment's seed, as the data order and initialisation do.
                extra = [f"--model.init_args.sampling.seed={seed}", *part, *experiment.rl_args]
                argv = fit_argv(experiment.rl_config, run / "rl", seed, extra, adapter)
                stages.append(Stage(arm, seed, "rl", "fit", run / "rl", tuple(argv), needs=adapters(adapter)))
                stages += measurements(experiment, arm, seed, "rl", trained_model(run / "rl"), run / "rl")
    return stages


def newest_checkpoint(directory: Path) -> Path | None:
    """The latest Lightning checkpoint an interrupted fit left under ``directory``."""
    checkpoints = sorted(directory.rglob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    return checkpoints[-1] if checkpoints else None


class StageFailed(RuntimeError):
    """A stage's command failed; the stages before it stay done."""


def run_stage(stage: Stage, run_command: RunCommand) -> dict:
    """Run one stage (resuming an interrupted fit); its record: when it started, its wall and CPU seconds,
    the checkpoint resumed."""
    stage.directory.mkdir(parents=True, exist_ok=True)
    argv = list(stage.argv)
    resume = newest_checkpoint(stage.directory) if stage.kind == "fit" else None
    if resume is not None:
        argv.append(f"--ckpt_path={resume}")
    (stage.directory / f"{stage.name}.command.txt").write_text("lit-parallel " + " ".join(argv) + "\n")
    started, clock = time.time(), time.perf_counter()
    finished = run_command(argv)
    if finished.code not in (0, None) or not stage.output.exists():
        raise StageFailed(f"{stage.describe()} failed (exit {finished.code}): see {stage.directory}")
    record = {
        "started": round(started, 1),
        "seconds": round(time.perf_counter() - clock, 1),
        "cpu_seconds": round(finished.cpu_seconds, 1),
        "resumed_from": str(resume or ""),
    }
    stage.marker.write_text(json.dumps(record) + "\n")
    return record


def cpu_share(records: Sequence[dict]) -> float:
    """CPU seconds over wall seconds of stage records, as ``time`` counts it (200%: two cores busy)."""
    return sum(r["cpu_seconds"] for r in records) / max(sum(r["seconds"] for r in records), 0.1)


def run(experiment: ExperimentConfig, run_command: RunCommand, log: Callable[[str], None] = print) -> None:
    """Every stage not yet done: up to ``experiment.concurrent_stages`` at once, each started, in plan order,
    as soon as the fits it reads from are done. After a failure no stage starts; those running finish."""
    stages = plan(experiment)
    producers = {stage.output: stage for stage in stages}
    pending = []
    for number, stage in enumerate(stages, 1):
        if stage.marker.exists():
            log(f"[{number}/{len(stages)}] {stage.describe()}: done before, skipped")
        else:
            pending.append((number, stage))
    running: dict[Future, tuple[int, Stage]] = {}
    failure: StageFailed | None = None
    with ThreadPoolExecutor(experiment.concurrent_stages) as pool:
        while pending or running:
            for number, stage in list(pending):
                ready = all(producers[path].marker.exists() for path in stage.needs)
                if failure is None and ready and len(running) < experiment.concurrent_stages:
                    log(f"[{number}/{len(stages)}] {stage.describe()} ...")
                    running[pool.submit(run_stage, stage, run_command)] = (number, stage)
                    pending.remove((number, stage))
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                number, stage = running.pop(future)
                try:
                    record = future.result()
                except StageFailed as exc:
                    failure = failure or exc
                    continue
                log(
                    f"[{number}/{len(stages)}] {stage.describe()}: {record['seconds']:.0f} s, "
                    f"CPU {cpu_share([record]):.0%}, the largest stage process so far peaked at "
                    f"{children_peak_mb()} MB resident"
                )
    if failure is not None:
        raise failure
