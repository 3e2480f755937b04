"""Fast path for Python programs: a pool of pre-started interpreters, each in its own sandbox.

Each zygote (``zygote_main.py``) is one long-lived bubblewrap sandbox that forks a fresh child
per program, with typing and friends already imported. It saves a new interpreter's start-up and
imports per program, the bulk of a short Python test's cost. Anything unexpected (a zygote that
dies, hangs or answers nonsense, e.g. because a program killed it) ends that zygote and returns
None, and the caller runs the program on the ordinary path.
"""

from __future__ import annotations

import json
import math
import os
import queue
import select
import struct
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lit_parallel.execution.sandbox import Limits, Sandbox, children, toolchain_binds
from lit_parallel.execution.verdicts import Outcome

MAIN = Path(__file__).with_name("zygote_main.py")
REPLY_MARGIN_S = 5.0
"""How long past a program's timeout the host waits for the zygote's answer before giving up on it."""


class PythonZygote:
    """One sandboxed pre-started interpreter; runs one program at a time."""

    def __init__(self, sandbox: Sandbox, limits: Limits, toolchain: Sequence[Path] = ()) -> None:
        self.limits = limits
        self._sandbox = sandbox
        self._stopped = False
        # The interpreter's own directories, when bound inside /tmp, survive the wipe between programs.
        keep = [str(path) for path in toolchain_binds(tuple(toolchain))]
        self._proc, self._uid = sandbox.start(
            [sys.executable, "-S", "-B", f"/tmp/{MAIN.name}", *keep],
            limits,
            files={MAIN.name: MAIN},
            toolchain=toolchain,
        )

    @property
    def alive(self) -> bool:
        return not self._stopped and self._proc.poll() is None

    def run(self, code: str, stdin: str) -> Outcome | None:
        """The program's outcome, or None if the zygote failed (it is then stopped)."""
        request = {
            "code": code,
            "stdin": stdin,
            "timeout_s": self.limits.timeout_s,
            "cpu_s": math.ceil(self.limits.timeout_s) + 1,
            "memory_bytes": self.limits.memory_mb << 20,
            "file_bytes": self.limits.file_mb << 20,
            "output_bytes": self.limits.output_bytes,
        }
        try:
            data = json.dumps(request).encode()
            self._proc.stdin.write(struct.pack(">I", len(data)) + data)
            self._proc.stdin.flush()
            deadline = time.monotonic() + self.limits.timeout_s + REPLY_MARGIN_S
            reply = json.loads(self._read(struct.unpack(">I", self._read(4, deadline))[0], deadline))
            return Outcome(**reply)
        except (OSError, ValueError, TypeError, TimeoutError, EOFError):
            self.stop()
            return None

    def _read(self, n: int, deadline: float) -> bytes:
        data = b""
        fd = self._proc.stdout.fileno()
        while len(data) < n:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError("zygote did not answer")
            chunk = os.read(fd, n - len(data))  # unbuffered: select() must see every byte not yet read
            if not chunk:
                raise EOFError("zygote exited")
            data += chunk
        return data

    def stop(self) -> None:
        """End it and free its uid; a second call does nothing (the uid may be someone else's by then)."""
        if not self._stopped:
            self._stopped = True
            self._sandbox.stop(self._proc, self._uid)

    def processes(self) -> set[int]:
        """Its own pids: bwrap, the namespace's init, the interpreter (programs' processes excluded)."""
        pids = {self._proc.pid}
        for _ in range(2):  # bwrap -> init -> zygote
            pids |= {child for pid in pids for child in children(pid)}
        return pids


class ZygotePool:
    """Zygotes shared by the executor's worker threads: each run borrows one."""

    def __init__(self, sandbox: Sandbox, limits: Limits, size: int, toolchain: Sequence[Path] = ()) -> None:
        self._sandbox, self._limits, self._toolchain = sandbox, limits, tuple(toolchain)
        self._idle: queue.LifoQueue[PythonZygote] = queue.LifoQueue()
        self._size = size

    def run(self, code: str, stdin: str) -> Outcome | None:
        try:
            zygote = self._idle.get_nowait()
        except queue.Empty:
            zygote = PythonZygote(self._sandbox, self._limits, self._toolchain)
        outcome = zygote.run(code, stdin)
        if zygote.alive and self._idle.qsize() < self._size:
            self._idle.put(zygote)
        else:
            zygote.stop()
        return outcome

    def processes(self) -> set[int]:
        """The pids of the idle zygotes themselves."""
        return {pid for zygote in list(self._idle.queue) for pid in zygote.processes()}

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().stop()
