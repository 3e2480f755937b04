"""One execution spec: the limits and pool size every stage judges programs with, and when to stop.

Rewards, in-training pass@k and the commands (``exec``, ``data verify``, ``evaluate``) all build their
executor from an ``ExecutionSpec``, so a program judged as a reward is judged the same way in
evaluation. ``sandbox_error`` is the machinery failing, never the program: ``check`` stops a run
whose batch is more than ``max_sandbox_error_share`` of it, naming the languages whose canary failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lit_parallel import checks
from lit_parallel.execution.executor import Executor, Result
from lit_parallel.execution.sandbox import Limits
from lit_parallel.execution.verdicts import Verdict


def sandbox_errors(results: Iterable[Result]) -> list[str]:
    """One line per language with ``sandbox_error`` verdicts: how many, and the first one's reason."""
    by_language: dict[str, list[Result]] = {}
    for r in results:
        if r.verdict is Verdict.SANDBOX_ERROR:
            by_language.setdefault(r.language, []).append(r)
    return [
        f"{len(errors)} {lang} program(s) got sandbox_error (the sandbox, not the program, failed): "
        + (errors[0].stderr_tail.strip().splitlines() or ["no reason given"])[-1]
        for lang, errors in sorted(by_language.items())
    ]


ISOLATIONS = ("auto", "bwrap", "rlimits")


class SandboxFailure(RuntimeError):
    """Too many programs of a batch could not be judged: the sandbox or a toolchain is broken here."""


@dataclass(frozen=True)
class ExecutionSpec:
    """How generated programs are executed: limits per test run, programs at once, tolerance of
    sandbox errors. Every config holds it under the key ``execution`` (a fit's RL module or PassAtK
    callback, the commands that run programs), which its errors name."""

    timeout_s: float = Limits.timeout_s
    """Wall-clock seconds per test run."""
    memory_mb: int = Limits.memory_mb
    """Address-space limit of a program (managed runtimes get 3/8 of it as heap)."""
    workers: int | None = None
    """Programs judged at once (default: one per CPU core)."""
    isolation: Literal["auto", "bwrap", "rlimits"] = "auto"
    """"bwrap", "rlimits" (no namespaces), or "auto": bwrap when it works here."""
    max_sandbox_error_share: float = 0.1
    """A batch (an RL step's completions, an evaluation) with a larger share of ``sandbox_error``
    stops the run: its numbers would measure the machinery, not the model."""

    def __post_init__(self) -> None:
        checks.positive(self.timeout_s, "execution.timeout_s")
        checks.positive(self.memory_mb, "execution.memory_mb")
        checks.at_least(self.workers, 1, "execution.workers")
        checks.choices([self.isolation], ISOLATIONS, "execution.isolation")
        checks.fraction(self.max_sandbox_error_share, "execution.max_sandbox_error_share")

    @property
    def limits(self) -> Limits:
        return Limits(timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    def executor(self) -> Executor:
        """A new executor with these limits (close it, or use it as a context manager)."""
        return Executor(workers=self.workers, limits=self.limits, isolation=self.isolation)

    def check(self, errors: int, total: int, executor: Executor | None, where: str) -> int:
        """``errors`` (sandbox errors among ``total`` programs) back, or SandboxFailure when their share
        is above the maximum, naming the languages whose canary failed."""
        if errors and errors > self.max_sandbox_error_share * total:
            failed = executor.canary_failures() if executor else {}
            why = "; ".join(failed.values()) if failed else "see the stderr_tail of those verdicts"
            raise SandboxFailure(
                f"{where}: {errors} of {total} programs got sandbox_error (more than "
                f"max_sandbox_error_share={self.max_sandbox_error_share}): the sandbox, not the model, failed: {why}"
            )
        return errors
