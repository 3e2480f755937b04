"""RL rewards: what a judged completion is worth.

By default a completion earns 1 when its extracted program passes every test (the paper's binary
reward), else 0: any failure of the program, a hostile one included, is reward 0, never an error.
``partial`` gives the share of io cases passed instead; a format penalty can discourage completions
that never close their code block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lit_parallel.execution import Executor, Limits, Result

RewardFunction = Callable[[object, str], float]
"""(PromptItem, completion text) -> reward: a cheap reward that replaces execution (tests, benchmarks)."""


@dataclass
class RewardSpec:
    """How completions are judged and rewarded."""

    kind: Literal["pass", "partial"] = "pass"
    """``pass``: 1 iff every test passes; ``partial``: the share of io cases passed (script tests,
    which run as one case, give 0 or 1). Needs the executor to run every case, which it then does."""
    format_penalty: float = 0.0
    """Subtracted from the reward of a completion that hit max_new_tokens without closing its code block."""
    timeout_s: float = 5.0
    """Wall-clock seconds per test run of a generated program."""
    memory_mb: int = 1024
    """Address-space limit of a generated program."""
    workers: int | None = None
    """Programs judged at once (default: one per CPU core)."""

    def executor(self) -> Executor:
        """An executor for these rewards (partial credit runs every io case, not up to the first failure)."""
        limits = Limits(timeout_s=self.timeout_s, memory_mb=self.memory_mb)
        return Executor(workers=self.workers, limits=limits, stop_on_failure=self.kind == "pass")

    def reward(self, outcome: Result | float, closed: bool) -> float:
        """The reward of one completion: from its execution result, or the value a reward function
        gave it; ``closed``: the completion ended before max_new_tokens."""
        if isinstance(outcome, float):
            value = outcome
        elif self.kind == "partial" and outcome.cases_total:
            value = outcome.cases_passed / outcome.cases_total
        else:
            value = float(outcome.passed)
        return value - (0.0 if closed else self.format_penalty)
