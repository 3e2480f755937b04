"""Run one untrusted command: bubblewrap + rlimits + wall clock, output capped, process tree killed.

Inside the sandbox the program sees a read-only root, a private size-capped tmpfs ``/tmp`` as its
home and working directory (holding only the files it is given), no network, its own PID, IPC and
UTS namespaces, and an environment with none of the parent's variables; toolchain directories that
the private /tmp would hide (a venv made there) are bound read-only at their own paths. Without
bubblewrap the same command runs under rlimits in its own session, with one loud warning.

When the trainer runs as root (containers, CI), every run gets a uid of its own: the process
limit then counts only that run's processes, the program cannot signal the trainer, and every
process left with that uid is killed afterwards, even one that escaped its session.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lit_parallel.execution.verdicts import Outcome

log = logging.getLogger(__name__)

HOME = "/tmp"
"""The program's home and working directory inside bubblewrap."""
PATH = "/usr/local/bin:/usr/bin:/bin"
BUILDER_UID = 60999
"""Compilers run as this uid when the trainer is root: it owns the shared compile caches."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process."""

    timeout_s: float = 10.0
    """Wall-clock seconds before the whole process tree is killed (CPU seconds: this, rounded up, + 1)."""
    memory_mb: int = 2048
    """Address-space limit; managed runtimes (JVM, V8) get 3/8 of it as heap."""
    processes: int = 64
    """Processes and threads the program may have at once."""
    file_mb: int = 16
    """Largest file it may write."""
    tmp_mb: int = 64
    """Size of its private /tmp (bubblewrap only)."""
    output_bytes: int = 1 << 20
    """Cap on stdout and on stderr; beyond it the run is killed (verdict output_limit)."""

    @property
    def heap_mb(self) -> int:
        # The JVM reserves thread stacks, code cache and class space beyond its heap, all of
        # which count against the address-space limit.
        return self.memory_mb * 3 // 8


@cache
def bwrap_status() -> str | None:
    """None when bubblewrap works here, else why not."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap is not installed (apt-get install bubblewrap)"
    probe = subprocess.run(
        [*_as_user(_spare_uid()), exe, "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true"],
        capture_output=True,
        text=True,
    )
    return None if probe.returncode == 0 else f"bwrap cannot create namespaces here: {probe.stderr.strip()}"


@cache
def _warn_unsandboxed(problem: str) -> None:
    """Once per process, however many executors are made."""
    log.warning(
        "UNSANDBOXED EXECUTION: %s; model-written code now runs under rlimits and a process group only, "
        "with full access to this machine's files and network.",
        problem,
    )


def _as_user(uid: int | None) -> list[str]:
    """Command prefix that drops to ``uid``. Popen(user=...) would make CPython fork instead of
    vfork, copying the page tables of a trainer holding a model: tens of ms per run per GB."""
    return [] if uid is None else ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _spare_uid() -> int | None:
    return BUILDER_UID if os.geteuid() == 0 else None


class _UidPool:
    """Uids for runs: one pool per process, shared by all its sandboxes, its range derived from the
    pid so that one trainer's sweeps never hit another's (or a DDP peer's) runs."""

    def __init__(self, pid: int, size: int = 256) -> None:
        base = 1_000_000 + (pid % 1_000_000) * size
        self.uids = range(base, base + size)
        self._free = collections.deque(self.uids)
        self._lock = threading.Condition()

    def acquire(self) -> int:
        """The uid freed longest ago: a killed run's zombies, where the machine's init never reaps
        them (containers, no PID namespace), count against its uid's process limit for a while."""
        with self._lock:
            self._lock.wait_for(lambda: self._free)
            return self._free.popleft()

    def release(self, uid: int) -> None:
        with self._lock:
            self._free.append(uid)
            self._lock.notify()


@cache
def _uid_pool(pid: int) -> _UidPool:
    """This process's pool (keyed by pid: a forked child must not inherit its parent's)."""
    return _UidPool(pid)


class Sandbox:
    """Runs commands in isolation; ``isolation`` is "auto", "bwrap" or "rlimits"."""

    def __init__(self, isolation: str = "auto") -> None:
        if isolation not in {"auto", "bwrap", "rlimits"}:
            raise ValueError(f"isolation must be auto, bwrap or rlimits, not {isolation!r}")
        problem = bwrap_status() if isolation != "rlimits" else None
        if isolation == "bwrap" and problem:
            raise RuntimeError(problem)
        if isolation == "auto" and problem:
            _warn_unsandboxed(problem)
        self.uses_bwrap = isolation == "bwrap" or (isolation == "auto" and problem is None)
        self._uids = _uid_pool(os.getpid()) if os.geteuid() == 0 else None

    @property
    def uses_builder_uid(self) -> bool:
        return self._uids is not None

    @property
    def run_uids(self) -> range:
        """The uids this process's runs use (empty unless the trainer is root)."""
        return self._uids.uids if self._uids else range(0)

    def run(
        self,
        argv: list[str],
        limits: Limits,
        *,
        files: Mapping[str, Path] = {},
        writable: Mapping[str, Path] = {},
        stdin: str = "",
        env: Mapping[str, str] = {},
        builder: bool = False,
        toolchain: Sequence[Path] = (),
    ) -> Outcome:
        """Run ``argv`` in the home directory holding ``files`` (read-only) and ``writable`` dirs.

        Keys are names inside the home directory, values host paths. Environment values may use
        ``{home}``. ``builder`` runs a trusted compiler as the shared builder uid. ``toolchain``:
        directories the program's tools live in, made visible (read-only) where the sandbox would hide them.
        """
        uid = (BUILDER_UID if builder else self._uids.acquire()) if self._uids else None
        try:
            if self.uses_bwrap:
                full_env = _environment(HOME, env)
                cmd = _bwrap_argv(argv, limits, files, writable, full_env, tuple(toolchain))
                return _execute(
                    _as_user(uid) + _prlimit(limits, builder, uid) + cmd, stdin, limits, "/", full_env, True
                )
            with tempfile.TemporaryDirectory(prefix="lp-run-") as home:
                _populate(Path(home), files, writable, uid)
                full_env = _environment(home, env)
                return _execute(
                    _as_user(uid) + _prlimit(limits, builder, uid) + argv, stdin, limits, home, full_env, False
                )
        finally:
            if uid is not None and not builder:
                _kill_all_of(uid)
                self._uids.release(uid)

    def start(
        self, argv: list[str], limits: Limits, *, files: Mapping[str, Path] = {}, toolchain: Sequence[Path] = ()
    ) -> tuple[subprocess.Popen, int | None]:
        """Start a long-lived sandboxed process (bubblewrap only) that talks over stdin/stdout.

        It gets no CPU limit of its own (its children set theirs). Its uid stays taken until ``stop``.
        Not --die-with-parent: that signal follows the *thread* that started it, and a worker thread
        may end first; it ends when its stdin closes, which the trainer's death also does.
        """
        if not self.uses_bwrap:
            raise RuntimeError("long-lived sandboxes need bubblewrap")
        uid = self._uids.acquire() if self._uids else None
        env = _environment(HOME, {})
        sandboxed = _bwrap_argv(argv, limits, files, {}, env, tuple(toolchain), die_with_parent=False)
        cmd = _as_user(uid) + _prlimit(limits, False, uid, cpu=False) + sandboxed
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=env,
            start_new_session=True,
        )
        return proc, uid

    def unreachable(self, toolchain: Sequence[Path]) -> str | None:
        """Why runs cannot reach a ``toolchain`` directory (one behind a directory closed to the runs'
        own uids), if so."""
        for path in toolchain if self.uses_builder_uid else ():
            if path.exists() and (closed := closed_to_others(path)):
                return f"{path} is behind {closed}, which other users cannot enter (chmod o+x {closed})"
        return None

    def stop(self, proc: subprocess.Popen, uid: int | None) -> None:
        """End a process from ``start`` and free its uid."""
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        _terminate(proc, nested=True)
        if uid is not None and self._uids:
            _kill_all_of(uid)
            self._uids.release(uid)


@cache
def toolchain_binds(toolchain: tuple[Path, ...]) -> tuple[Path, ...]:
    """The ``toolchain`` directories that the private /tmp would hide (a venv made there): bound
    read-only at their own paths. Never /tmp itself, which would show the host's /tmp to programs."""
    binds: list[Path] = []
    for path in sorted(set(toolchain), key=lambda p: len(p.parts)):
        inside = path.is_relative_to(HOME) and path != Path(HOME) and path.exists()
        if inside and not any(path.is_relative_to(b) for b in binds):
            binds.append(path)
    return tuple(binds)


def closed_to_others(path: Path) -> Path | None:
    """The first directory on the way to ``path`` that other users cannot traverse, if any."""
    return next((p for p in reversed([path, *path.parents]) if not p.stat().st_mode & 0o001), None)


def _environment(home: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {"PATH": PATH, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}
    env.update({k: v.replace("{home}", home) for k, v in extra.items()})
    return env


def _bwrap_argv(
    argv: list[str],
    limits: Limits,
    files: Mapping[str, Path],
    writable: Mapping[str, Path],
    env: Mapping[str, str],
    toolchain: tuple[Path, ...],
    die_with_parent: bool = True,
) -> list[str]:
    # --as-pid-1: our own init (below) is the namespace's pid 1 and the outer bwrap waits for it
    # directly; bwrap's reaper would be orphaned at exit and left a zombie (counted against the
    # uid's process limit) wherever the machine's init does not reap, as in many containers.
    cmd = ["bwrap", "--unshare-all", "--as-pid-1", "--new-session", *(["--die-with-parent"] * die_with_parent)]
    cmd += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    cmd += ["--size", str(limits.tmp_mb << 20), "--tmpfs", HOME]
    for path in toolchain_binds(toolchain):
        cmd += ["--ro-bind", str(path), str(path)]
    for name, host in files.items():
        cmd += ["--ro-bind", str(host), f"{HOME}/{name}"]
    for name, host in writable.items():
        cmd += ["--bind", str(host), f"{HOME}/{name}"]
    cmd += ["--chdir", HOME, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    # A shell as the namespace's init, with the program as its child: the program keeps the
    # ordinary signal semantics (SIGXFSZ, SIGXCPU, SIGABRT) that an init process is shielded from.
    return [*cmd, "--", "/bin/sh", "-c", '"$@"; exit $?', "sh", *argv]


def _populate(home: Path, files: Mapping[str, Path], writable: Mapping[str, Path], uid: int | None) -> None:
    """The fallback's home: links to the given files, owned by the run's uid."""
    for name, host in {**files, **writable}.items():
        (home / name).symlink_to(host)
    if uid is not None:
        os.chown(home, uid, uid)


def _prlimit(limits: Limits, builder: bool, uid: int | None, cpu: bool = True) -> list[str]:
    """Limits applied by util-linux prlimit, so the parent never forks with a Python pre-exec hook."""
    seconds = math.ceil(limits.timeout_s) + 1
    cpu_limit = f"{seconds}:{seconds + 1}" if cpu else "unlimited"
    nproc = 1024 if builder else limits.processes + (_processes_of(os.getuid()) if uid is None else 0)
    memory = "unlimited" if builder else str(limits.memory_mb << 20)
    return [
        "prlimit",
        f"--cpu={cpu_limit}",
        f"--as={memory}",
        f"--nproc={nproc}",
        f"--fsize={limits.file_mb << 20}",
        "--core=0",
        "--",
    ]


def _processes_of(uid: int) -> int:
    """Processes and threads this uid has now: a non-root process limit must leave room for them."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                count += len(os.listdir(entry / "task"))
        except OSError:
            continue
    return count


def _kill_all_of(uid: int) -> None:
    """SIGKILL every process of ``uid`` (kill(-1) as that uid reaches exactly those) until none is
    left alive: a fork bomb may fork while a round goes through the process table, and a killed
    process may still be exiting when kill(-1) already finds nothing to signal (seen with daemons
    that left their session, without namespaces). Bounded: a zombie that the machine's init never
    reaps would answer forever."""
    deadline = time.monotonic() + 2.0
    while True:
        signalled = subprocess.run([*_as_user(uid), "kill", "-KILL", "-1"], stderr=subprocess.DEVNULL).returncode == 0
        if (not signalled and not _alive_of(uid)) or time.monotonic() > deadline:
            return
        time.sleep(0.002)


def _alive_of(uid: int) -> bool:
    """Whether a process of ``uid`` that is not a zombie exists (by the owner of its /proc entry: the
    programs run here exec, so they are dumpable and their entries theirs)."""
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                with open(f"/proc/{entry.name}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        return True
        except OSError:
            continue
    return False


def _execute(cmd: list[str], stdin: str, limits: Limits, cwd: str, env: Mapping[str, str], nested: bool) -> Outcome:
    """Run ``cmd`` to its end or its limits; ``nested``: it is bwrap, running the program as its child."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        return Outcome(None, None, "", f"sandbox: cannot start {cmd[0]}: {exc}", 0.0, sandbox_failed=True)
    deadline = start + limits.timeout_s
    out, err, exceeded = _pump(proc, stdin.encode(), limits.output_bytes, deadline)
    timed_out = False
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()) if not exceeded else 0)
    except subprocess.TimeoutExpired:
        timed_out = not exceeded
    _terminate(proc, nested)
    code = proc.returncode
    stderr = err.decode(errors="replace")
    bwrap_failed = code == 1 and stderr.startswith("bwrap:")
    sig = -code if code is not None and code < 0 else (code - 128 if code and code > 128 else None)
    return Outcome(
        exit_code=None if sig else code,
        signal=sig,
        stdout=out.decode(errors="replace"),
        stderr=stderr,
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
        output_exceeded=exceeded,
        sandbox_failed=bwrap_failed,
    )


def _terminate(proc: subprocess.Popen, nested: bool) -> None:
    """Kill whatever still runs. Under bwrap, kill the namespace's init: the kernel then kills the
    rest of the namespace, and bwrap reaps its child and exits, leaving no zombie behind."""
    if proc.poll() is not None:
        return
    if nested:
        for child in children(proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)  # bwrap exits once the namespace is gone; killing it first orphans its init
            return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pump(proc: subprocess.Popen, data: bytes, cap: int, deadline: float) -> tuple[bytes, bytes, bool]:
    """Feed stdin and read stdout/stderr until both close, the deadline, or a stream passes ``cap``."""
    chunks = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    exceeded = False
    with selectors.DefaultSelector() as sel:
        for stream in chunks:
            sel.register(stream, selectors.EVENT_READ)
        if data:
            os.set_blocking(proc.stdin.fileno(), False)
            sel.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        pending = memoryview(data)
        while sel.get_map() and not exceeded and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(remaining):
                if key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(key.fd, pending[:65536]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                block = os.read(key.fd, 65536)
                if not block:
                    sel.unregister(key.fileobj)
                    continue
                buf = chunks[key.fileobj]
                buf += block
                exceeded = exceeded or len(buf) > cap
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        stream.close()
    return bytes(chunks[proc.stdout][:cap]), bytes(chunks[proc.stderr][:cap]), exceeded
