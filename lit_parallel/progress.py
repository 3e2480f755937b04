"""Progress of long work: done / total, rate and ETA, as a rich bar on a terminal or a log line every few seconds.

One ``Progress`` per piece of work (an evaluation, a data command); the engine reports completions and
tokens to it. Off a terminal (a log file, a CI job) a plain line goes to stderr every ``every_s`` seconds,
so a long run never looks hung.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import resource
import sys
import time
from typing import TextIO


class Progress:
    """Reports ``done`` of ``total`` items (and tokens, when counted) with their rate and ETA."""

    def __init__(self, label: str, total: int, every_s: float = 10.0, stream: TextIO | None = None) -> None:
        self.label, self.total, self.every_s = label, total, every_s
        self.stream = stream or sys.stderr
        self.started = self.last = time.perf_counter()
        self.done = self.tokens = 0
        self.bar = None
        if self.stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.task = self.bar.add_task(label, total=total, rate="")
            self.bar.start()

    def update(self, done: int, tokens: int = 0) -> None:
        self.done, self.tokens = done, tokens
        now = time.perf_counter()
        if self.bar is not None:
            self.bar.update(self.task, completed=done, rate=self.rate())
        elif now - self.last >= self.every_s or done == self.total:
            self.last = now
            print(self.line(), file=self.stream, flush=True)

    def rate(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        items = f"{self.done / elapsed:.2f}/s"
        return f"{items}, {self.tokens / elapsed:.0f} tok/s" if self.tokens else items

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        return f"{self.label}: {self.done}/{self.total} ({self.rate()}), {elapsed:.0f} s elapsed, eta {eta:.0f} s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def memory_mb() -> tuple[int, int]:
    """This process's resident memory now and its peak so far, in MB (Linux)."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def children_peak_mb() -> int:
    """The peak resident memory of the largest ended child process so far, in MB (Linux): an
    experiment runs each stage as a child process."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have ended (sandbox workers,
    zygotes): over a stage, CPU / wall says how busy it kept the cores."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def release_memory() -> None:
    """Collect unreachable cycles and give freed heap back to the system, which glibc otherwise keeps
    resident: after each RL step (whose activations take new sizes every step)."""
    gc.collect()
    with contextlib.suppress(OSError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)
