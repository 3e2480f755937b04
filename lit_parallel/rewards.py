"""RL rewards: what a judged completion is worth.

By default a completion earns 1 when its extracted program passes every test (the paper's binary
reward), else 0: any failure of the program, a hostile one included, is reward 0, never an error.
``partial`` gives the share of io cases passed instead; a format penalty can discourage completions
that never close their code block. A ``sandbox_error`` is worth nothing at all: the machinery failed,
not the program, and RL drops it from the update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lit_parallel import checks
from lit_parallel.execution import Result

RewardFunction = Callable[[object, str], float]
"""(PromptItem, completion text) -> reward: a cheap reward that replaces execution (tests, benchmarks)."""


@dataclass
class RewardSpec:
    """What a judged completion is worth (how it is executed is the fit's ``ExecutionSpec``)."""

    kind: Literal["pass", "partial"] = "pass"
    """``pass``: 1 iff every test passes; ``partial``: the share of io cases passed (script tests,
    which run as one case, give 0 or 1). Needs the executor to run every case, which it then does."""
    format_penalty: float = 0.0
    """Subtracted from the reward of a completion that hit max_new_tokens without closing its code block."""

    def __post_init__(self) -> None:
        checks.choices([self.kind], ("pass", "partial"), "reward.kind")
        checks.at_least(self.format_penalty, 0, "reward.format_penalty")

    @property
    def every_case(self) -> bool:
        """Whether a program must run all its io cases, not stop at the first failing one."""
        return self.kind == "partial"

    def reward(self, outcome: Result | float, closed: bool) -> float:
        """The reward of one completion: from its execution result, or the value a reward function
        gave it; ``closed``: the completion ended before max_new_tokens. Never asked of a
        ``sandbox_error``: those are dropped from training, not scored."""
        if isinstance(outcome, float):
            value = outcome
        elif self.kind == "partial" and outcome.cases_total:
            value = outcome.cases_passed / outcome.cases_total
        else:
            value = float(outcome.passed)
        return value - (0.0 if closed else self.format_penalty)
