"""Verdicts: what became of one program, decided from what its process did (pure functions)."""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    """The one outcome of judging a program; only ``passed`` passes."""

    PASSED = "passed"
    FAILED = "failed"
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    SANDBOX_ERROR = "sandbox_error"


@dataclass(frozen=True)
class Outcome:
    """What one sandboxed process did."""

    exit_code: int | None
    """Exit status, or None when it died of a signal."""
    signal: int | None
    """The signal that ended it, if any (including our own kill on timeout)."""
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    """The wall-clock limit ran out and the process tree was killed."""
    output_exceeded: bool = False
    """stdout or stderr went over the cap and the process tree was killed."""
    sandbox_failed: bool = False
    """The sandbox itself could not start the program."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.output_exceeded or self.sandbox_failed)


# Runtimes report exhausted memory in their own words; these are the ones of the registry's PLs.
_MEMORY = re.compile(
    r"MemoryError|std::bad_alloc|OutOfMemoryError|heap out of memory|Fatal process out of memory|"
    r"out of memory|Cannot allocate memory|failed to allocate memory|memory allocation of \d+ bytes failed|"
    r"Allowed memory size of \d+ bytes exhausted|not enough memory|cannot allocate vector|"
    r"Out of memory|NoMemoryError|insufficient memory",
)
_FILE_LIMIT = re.compile(r"File too large|No space left on device|Disk quota exceeded|\bEFBIG\b|\bENOSPC\b")
# Test frameworks and assert statements of the registry's PLs: a script-style test that ends
# with one of these failed its tests rather than crashing.
_ASSERTION = re.compile(
    r"AssertionError|Assertion .* failed|assertion failed|assertion `|ERR_ASSERTION|--- FAIL|"
    r"Test failed|Failure:|FAILED|is not TRUE|check-within|Failed tests|test result: FAILED",
)


def normalize_output(text: str) -> str:
    """Output as compared in io tests: line endings unified, trailing whitespace dropped."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def outputs_match(actual: str, expected: str) -> bool:
    return normalize_output(actual) == normalize_output(expected)


def classify_compile(outcome: Outcome) -> Verdict | None:
    """The verdict a compile step forces, or None when the program may run."""
    if outcome.sandbox_failed:
        return Verdict.SANDBOX_ERROR
    return None if outcome.ok else Verdict.COMPILE_ERROR


def classify_run(
    outcome: Outcome, expected_stdout: str | None, syntax_error: str | None = None, marker: str | None = None
) -> Verdict:
    """Judge one run: ``expected_stdout`` for io tests, None for script tests (pass = exit 0, and
    ``marker``, if given, as the last line of stdout)."""
    if outcome.sandbox_failed:
        return Verdict.SANDBOX_ERROR
    if outcome.output_exceeded or outcome.signal == signal.SIGXFSZ or _FILE_LIMIT.search(outcome.stderr):
        return Verdict.OUTPUT_LIMIT
    if outcome.timed_out or outcome.signal == signal.SIGXCPU:
        return Verdict.TIMEOUT
    if outcome.exit_code != 0:
        if _MEMORY.search(outcome.stderr):
            return Verdict.MEMORY_LIMIT
        if syntax_error and re.search(syntax_error, outcome.stderr, re.MULTILINE):
            return Verdict.COMPILE_ERROR
        if expected_stdout is None and _ASSERTION.search(outcome.stderr + outcome.stdout):
            return Verdict.FAILED
        return Verdict.RUNTIME_ERROR
    if expected_stdout is not None and not outputs_match(outcome.stdout, expected_stdout):
        return Verdict.FAILED
    if marker is not None and normalize_output(outcome.stdout).rpartition("\n")[2] != marker:
        return Verdict.FAILED
    return Verdict.PASSED
