"""The experiment YAML: which arms, seeds, stage configs and measurements make up one comparison."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import yaml

from lit_parallel.errors import DataError


@dataclass(frozen=True)
class Arm:
    """One way of preparing the model before RL."""

    config: str | None
    """Its SFT config (a LightningCLI YAML); None: RL straight from the base model."""
    args: tuple[str, ...] = ()
    """LightningCLI arguments of its SFT stage only, after the experiment's ``sft_args`` (e.g. the
    baseline's ``--data.init_args.mixture.languages={python: 1.0}`` on the Parallel-SFT config)."""


MEASURES = {"transfer": "transfer", "final": "pass@1 after RL"}
"""The arm differences a report compares: key in the experiment file -> the report's name of it."""
MEAN = "mean"
"""An endpoint's ``target`` for the mean over the experiment's targets (each problem averaged over them first)."""
MIN_SEEDS = 3
"""The fewest seeds (training runs) a verdict rests on: with 2, run-to-run variance has one degree of freedom."""


@dataclass(frozen=True)
class Endpoint:
    """The one comparison whose verdict is an experiment's answer: the treatment minus ``against``."""

    against: str | None = None
    """The comparator arm; None: ``control`` (the non-parallel mixture) when it is compared, else the first
    compared arm."""
    measure: str = "transfer"
    """A key of ``MEASURES``: ``transfer`` (pass@1 after RL minus before RL) or ``final`` (pass@1 after RL)."""
    target: str = MEAN
    """A target language, or ``mean`` for the mean over targets."""


@dataclass
class WarmStart:
    """A stage before the arms, once per seed: SFT of the base model on every language of the experiment,
    each example one program in one language and each program in one language only (the control's
    mixture, single format), so that every arm starts with some ability in the targets, as the paper's
    Llama does. It trains on a share of the training programs that the arms' SFT and RL never see
    (``mixture.part``) and that holds no program of an eval set; the arms' SFT (and RL from the base
    model) start from its adapter."""

    examples: int = 1000
    """Its budget: SFT examples (``mixture.num_examples``), in equal shares per language."""
    share: float = 0.3
    """The share of training programs kept for it (``mixture.warm_share``, chosen by a hash of each program)."""
    languages: list[str] | None = None
    """Default: the source language, the targets and every language the evaluation measures."""
    config: str | None = None
    """Its SFT config; default: the config of the base model (the first arm's SFT config)."""
    args: list[str] = field(default_factory=list)
    """LightningCLI arguments of this stage only, after the experiment's ``sft_args``."""


@dataclass
class ExperimentConfig:
    """Baseline SFT vs Parallel-SFT (and optionally RL from the base model), then RL on the source
    language, measured before and after each stage, for several seeds."""

    name: str
    """Names the report and the TensorBoard run."""
    output_dir: str
    """Every stage writes under ``<output_dir>/<arm>/seed=<s>/<stage>``; a re-run skips finished stages."""
    arms: dict[str, Arm | str | None]
    """Arm name -> its SFT config, or ``{config: ..., args: [...]}``, or null (RL from the base model);
    an Arm each once loaded."""
    rl_config: str | None = None
    """The RL (GRPO) LightningCLI YAML run after each arm's SFT; None stops after SFT."""
    seeds: list[int] = field(default_factory=lambda: [0])
    """Each seed sets ``seed_everything`` and the mixture's seed of every stage."""
    source_language: str = "python"
    """The language RL trains on (the RL config's mixture source): the report sets RL's change in it
    beside the transfer to ``targets``."""
    targets: list[str] = field(default_factory=lambda: ["go", "php", "ruby"])
    """Languages whose transfer (pass@1 after RL minus before RL) the report shows."""
    sft_args: list[str] = field(default_factory=list)
    """Extra LightningCLI arguments for every SFT stage (e.g. ``--trainer.max_steps=5``)."""
    rl_args: list[str] = field(default_factory=list)
    """Extra LightningCLI arguments for every RL stage."""
    evaluation: dict = field(default_factory=dict)
    """``lit-parallel evaluate`` options for every measurement, as its config holds them (``{limit: 6,
    sampling: {max_new_tokens: 192}}`` becomes ``--limit=6 --sampling.max_new_tokens=192``); its
    ``sampling.seed`` is the stage's seed, its model the stage's."""
    also_evaluate: dict[str, dict] = field(default_factory=dict)
    """Further measurements of every model, by name: the ``evaluation`` options each one changes (e.g.
    ``heldout: {dataset: "synthetic#heldout"}``). Each writes ``eval-<name>.json`` beside ``eval.json`` and has
    its own pass@1 and RL-change tables in the report; transfer and verdicts come from ``evaluation`` alone.
    Adding one to a finished experiment and re-running it measures only what is new."""
    alignment: dict | None = None
    """``lit-parallel align`` options, or None to skip the alignment measurements."""
    treatment: str = "parallel"
    """The arm whose advantage the verdict is about (Parallel-SFT); no verdict when it is not an arm."""
    against: list[str] | None = None
    """The arms it is compared with, each paired per problem (default: every other arm)."""
    primary: Endpoint = field(default_factory=Endpoint)
    """The primary endpoint, ``{against, measure, target}``: its verdict is the report's headline; every other
    comparison is secondary, with multiplicity-adjusted intervals."""
    min_seeds: int = MIN_SEEDS
    """Seeds a verdict needs (at least 3); with fewer the report gives per-seed estimates and no verdict."""
    warm_start: WarmStart | None = None
    """The warm start before the arms (CPU experiments, whose base model writes no target); None: the arms
    start from the base model (the paper's setting, a model that already writes every language)."""
    concurrent_stages: int = 1
    """Stages run at once, each started as soon as the fits it reads from are done (e.g. a model's
    evaluation beside the next fit). More than 1 where one stage leaves the machine partly idle (a CPU,
    where every process has its own start-up); on one GPU the stages at once must fit in its memory."""

    @property
    def comparisons(self) -> list[str]:
        """The arms the treatment is compared with; none when the treatment is not an arm."""
        if self.treatment not in self.arms:
            return []
        return [arm for arm in self.arms if arm != self.treatment] if self.against is None else list(self.against)

    @property
    def primary_against(self) -> str | None:
        """The primary endpoint's comparator: the declared one, else ``control`` when compared, else the first."""
        if self.primary.against is not None:
            return self.primary.against
        compared = self.comparisons
        return "control" if "control" in compared else next(iter(compared), None)

    @property
    def base_seeds(self) -> list[int]:
        """The seeds the untrained base model is measured at: one when decoding is greedy, where the seed
        draws nothing and every seed would give the same records."""
        greedy = float(self.evaluation.get("sampling", {}).get("temperature", 0.0)) <= 0
        return self.seeds[:1] if greedy else list(self.seeds)

    @property
    def base_config(self) -> str:
        """The config whose model (and quantization) is the untrained base of every arm."""
        return next((arm.config for arm in self.arms.values() if arm.config), self.rl_config)

    @property
    def warm_languages(self) -> list[str]:
        """The languages the warm start teaches."""
        if self.warm_start is not None and self.warm_start.languages:
            return list(self.warm_start.languages)
        measured = self.evaluation.get("languages", [])
        return list(dict.fromkeys([self.source_language, *self.targets, *measured]))

    @property
    def base_args(self) -> list[str]:
        """The LightningCLI arguments that stages of ``base_config`` get (they may change the model)."""
        return self.sft_args if any(arm.config for arm in self.arms.values()) else self.rl_args


def key_lines(text: str) -> dict[str, int]:
    """Line of each top-level key of a YAML mapping (for errors that name the place)."""
    node = yaml.compose(text)
    if node is None or not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 1 for key, _ in node.value}


def arm_of(value: object, where: str) -> Arm:
    """An Arm from its YAML: a config path, null, or ``{config, args}``."""
    if value is None or isinstance(value, str):
        return Arm(value)
    if isinstance(value, dict) and set(value) <= {"config", "args"} and isinstance(value.get("args", []), list):
        return Arm(value.get("config"), tuple(str(a) for a in value.get("args", [])))
    raise DataError(f"{where}: must be a config path, null, or {{config: PATH, args: [...]}}")


def check_comparison(raw: dict, arms: dict[str, Arm], path: str | Path, lines: dict[str, int]) -> None:
    """``treatment`` names an arm and ``against`` is a list of arm names."""
    against = raw.get("against")
    if against is not None and not isinstance(against, list):
        raise DataError(f"{path}:{lines['against']}: field 'against': must be a list of arm names")
    named = [("treatment", raw["treatment"])] if "treatment" in raw else []
    for key, name in named + [("against", name) for name in against or []]:
        if not isinstance(name, str) or name not in arms:
            raise DataError(f"{path}:{lines[key]}: field '{key}': {name!r} is not an arm ({', '.join(arms)})")


def endpoint_of(value: object, raw: dict, arms: dict[str, Arm], where: str) -> Endpoint:
    """The primary endpoint from its mapping: a compared arm, a known measure, a target or ``mean``."""
    value = asdict(value) if isinstance(value, Endpoint) else value
    if not isinstance(value, dict) or not set(value) <= {"against", "measure", "target"}:
        raise DataError(f"{where}: field 'primary': a mapping of against, measure, target")
    found = Endpoint(**value)
    compared = raw.get("against") or [arm for arm in arms if arm != raw.get("treatment", "parallel")]
    if found.against is not None and found.against not in compared:
        raise DataError(f"{where}: field 'primary.against': {found.against!r} is not compared ({', '.join(compared)})")
    if found.measure not in MEASURES:
        raise DataError(f"{where}: field 'primary.measure': {found.measure!r} is not one of {', '.join(MEASURES)}")
    targets = raw.get("targets", ExperimentConfig.__dataclass_fields__["targets"].default_factory())
    if found.target != MEAN and found.target not in targets:
        raise DataError(f"{where}: field 'primary.target': {found.target!r} is neither a target nor {MEAN!r}")
    return found


def warm_start_of(value: object, where: str) -> WarmStart | None:
    """The warm start from its mapping (or null): a positive budget, a share in (0, 1), languages a list."""
    if value is None:
        return None
    value = asdict(value) if isinstance(value, WarmStart) else value
    known = {f.name for f in fields(WarmStart)}
    if not isinstance(value, dict) or not set(value) <= known:
        raise DataError(f"{where}: field 'warm_start': a mapping of {', '.join(sorted(known))}, or null")
    found = WarmStart(**value)
    if not isinstance(found.examples, int) or isinstance(found.examples, bool) or found.examples < 1:
        raise DataError(f"{where}: field 'warm_start.examples': a positive integer, got {found.examples!r}")
    if not isinstance(found.share, int | float) or not 0 < found.share < 1:
        raise DataError(f"{where}: field 'warm_start.share': a number between 0 and 1, got {found.share!r}")
    if found.languages is not None and not (isinstance(found.languages, list) and found.languages):
        raise DataError(f"{where}: field 'warm_start.languages': a list of languages, got {found.languages!r}")
    return replace(found, args=[str(a) for a in found.args])


def check_also_evaluate(value: object, where: str) -> None:
    """``also_evaluate`` maps names usable in file names to option mappings."""
    if not isinstance(value, dict):
        raise DataError(f"{where}: field 'also_evaluate': must map names to evaluation options")
    for name, options in value.items():
        if not re.fullmatch(r"[a-z0-9_]+", str(name)) or not isinstance(options, dict):
            raise DataError(f"{where}: field 'also_evaluate.{name}': a name of [a-z0-9_] mapped to evaluation options")


def load_experiment(path: str | Path, raw: dict | None = None) -> ExperimentConfig:
    """The experiment of a YAML file, or ``raw``: its fields as ``lit-parallel experiment`` read them from
    it (jsonargparse, overrides applied); a DataError names the file, line and field of what is wrong."""
    text = Path(path).read_text()
    try:
        raw = yaml.safe_load(text) if raw is None else raw
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(f"{path}:{mark.line + 1 if mark else '?'}: not YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}:1: an experiment is a mapping of fields")
    lines = {**dict.fromkeys(raw, "?"), **key_lines(text)}  # "?": a key the command line set
    known = {f.name for f in fields(ExperimentConfig)}
    for key in raw:
        if key not in known:
            raise DataError(f"{path}:{lines.get(key, '?')}: field '{key}' is unknown ({', '.join(sorted(known))})")
    for key in ("name", "output_dir", "arms"):
        if key not in raw:
            raise DataError(f"{path}:1: field '{key}' is missing")
    if not isinstance(raw["arms"], dict) or not raw["arms"]:
        raise DataError(f"{path}:{lines['arms']}: field 'arms' must map arm names to SFT configs (or null)")
    arms = {name: arm_of(value, f"{path}:{lines['arms']}: field 'arms.{name}'") for name, value in raw["arms"].items()}
    if not any(arm.config for arm in arms.values()) and not raw.get("rl_config"):
        raise DataError(f"{path}:{lines['arms']}: field 'arms': no arm has an SFT config and there is no rl_config")
    check_comparison(raw, arms, path, lines)
    check_also_evaluate(raw.get("also_evaluate", {}), f"{path}:{lines.get('also_evaluate')}")
    if "primary" in raw:
        raw["primary"] = endpoint_of(raw["primary"], raw, arms, f"{path}:{lines.get('primary')}")
    if "warm_start" in raw:
        raw["warm_start"] = warm_start_of(raw["warm_start"], f"{path}:{lines.get('warm_start')}")
    for key, least in (("min_seeds", MIN_SEEDS), ("concurrent_stages", 1)):
        value = raw.get(key, least)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise DataError(f"{path}:{lines.get(key)}: field '{key}': an integer of at least {least}, got {value!r}")
    here = Path(path).resolve().parent

    def locate(key: str, value: str | None) -> str | None:
        """A stage config, relative to the working directory or else to the experiment file."""
        if value is None or Path(value).exists():
            return value
        if (here / value).exists():
            return str(here / value)
        raise DataError(f"{path}:{lines.get(key, lines['arms'])}: field '{key}': no such config {value}")

    raw["arms"] = {name: Arm(locate(name, arm.config), arm.args) for name, arm in arms.items()}
    raw["rl_config"] = locate("rl_config", raw.get("rl_config"))
    if raw.get("warm_start") is not None:
        raw["warm_start"] = replace(raw["warm_start"], config=locate("warm_start", raw["warm_start"].config))
    return ExperimentConfig(**raw)
