"""What the training stages' own logs say: the SFT budget each arm trained on, the RL reward, group spread.

Every arm's SFT and every RL stage should spend the same budget; the configs set it (examples, steps,
prompts and completions per step), and this reads back what was spent: answer tokens per SFT stage
(``train/answer_tokens/<language>`` of its TensorBoard log) and, per RL stage, its steps, the reward it
was given (its saved config) and how often a group's completions all got the same reward
(``rl/all_equal_groups``: such a group has zero advantages, so no signal).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import yaml

from lit_parallel.experiment.pipeline import Stage

NO_SIGNAL = 0.9
"""RL arms with at least this share of all-equal groups are flagged: their RL learnt next to nothing."""
TOKEN_TOLERANCE = 0.05
"""SFT arms whose answer tokens differ from the treatment's by more than this share are flagged."""
SPREAD = (
    "A group is the completions of one prompt; when their rewards are all equal, the group's advantages are 0 "
    "and it teaches nothing: a share of all-equal groups near 1 means RL had almost no signal."
)


def log_dir(stage: Stage) -> Path:
    """Where the pipeline's fit put its TensorBoard events and LightningCLI's saved config."""
    return stage.directory / "tb" / "version_0"


def scalars(stage: Stage) -> dict[str, list[float]]:
    """Tag -> logged values in step order (a resumed fit's files read together); empty without logs."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not log_dir(stage).is_dir():
        return {}
    events = EventAccumulator(str(log_dir(stage)), size_guidance={"scalars": 0}).Reload()
    by_step = {tag: {e.step: e.value for e in events.Scalars(tag)} for tag in events.Tags()["scalars"]}
    return {tag: [values[step] for step in sorted(values)] for tag, values in by_step.items()}


def sft_tokens(stage: Stage) -> float | None:
    """Answer tokens an SFT stage trained on, over every language (its counters' last values)."""
    logged = scalars(stage)
    counts = [values[-1] for tag, values in logged.items() if tag.startswith("train/answer_tokens/")]
    return sum(counts) if counts else None


def rl_reward(stage: Stage) -> str | None:
    """``pass`` / ``partial`` (and the format penalty) from the RL stage's saved config."""
    saved = log_dir(stage) / "config.yaml"
    if not saved.exists():
        return None
    init = (yaml.safe_load(saved.read_text()).get("model") or {}).get("init_args") or {}
    if init.get("reward_fn"):
        return f"reward function {init['reward_fn']}"
    reward = init.get("reward") or {}
    penalty = reward.get("format_penalty") or 0
    return reward.get("kind", "pass") + (f", format penalty {penalty}" if penalty else "")


def fits(stages: Sequence[Stage], point: str) -> dict[str, list[Stage]]:
    """Arm -> its finished fit stages at ``point`` (``sft`` or ``rl``), one per seed."""
    found: dict[str, list[Stage]] = defaultdict(list)
    for stage in stages:
        if stage.kind == "fit" and stage.point == point and stage.marker.exists():
            found[stage.arm].append(stage)
    return found


def sft_budget_lines(stages: Sequence[Stage], treatment: str | None) -> list[str]:
    """The table of answer tokens per SFT arm and a warning for arms off the treatment's budget."""
    tokens = {arm: [t for t in map(sft_tokens, done) if t is not None] for arm, done in fits(stages, "sft").items()}
    tokens = {arm: values for arm, values in tokens.items() if values}
    if not tokens:
        return []
    lines = ["| SFT arm | answer tokens trained (mean over seeds) | seeds |", "|---|---|---|"]
    lines += [f"| {arm} | {statistics.mean(v):.0f} | {len(v)} |" for arm, v in tokens.items()]
    reference = statistics.mean(tokens[treatment]) if treatment in tokens else None
    off = [
        f"{arm} {statistics.mean(v) / reference - 1:+.0%}"
        for arm, v in tokens.items()
        if reference and abs(statistics.mean(v) / reference - 1) > TOKEN_TOLERANCE
    ]
    if off:
        lines += ["", f"**Not the same SFT budget**: against {treatment}'s tokens, {', '.join(off)}."]
    return lines


def rl_lines(stages: Sequence[Stage]) -> list[str]:
    """Per RL arm: the reward, steps, mean reward and the share of groups whose rewards were all equal."""
    rows, silent = [], []
    for arm, done in fits(stages, "rl").items():
        logged = [scalars(stage) for stage in done]
        rewards = sorted({r for r in map(rl_reward, done) if r})
        steps = [len(s.get("rl/reward_mean", [])) for s in logged]
        mean_reward = [v for s in logged for v in s.get("rl/reward_mean", [])]
        equal = [v for s in logged for v in s.get("rl/all_equal_groups", [])]
        cells = [
            " / ".join(rewards) or "-",
            " / ".join(map(str, sorted(set(steps)))),
            f"{statistics.mean(mean_reward):.3f}" if mean_reward else "-",
            f"{statistics.mean(equal):.2f}" if equal else "-",
        ]
        rows.append(f"| {arm} | " + " | ".join(cells) + f" | {len(done)} |")
        if equal and statistics.mean(equal) >= NO_SIGNAL:
            silent.append(arm)
    if not rows:
        return []
    header = "| RL arm | reward | steps per stage | mean reward | share of all-equal groups | seeds |"
    lines = [header, "|---|---|---|---|---|---|", *rows, "", SPREAD]
    if silent:
        lines[-1] += f" **RL had almost no signal in {', '.join(silent)}**: a reward with more spread is needed."
    return lines
