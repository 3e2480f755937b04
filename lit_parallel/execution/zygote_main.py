"""A Python zygote: runs inside one bubblewrap sandbox, forks a fresh child per program.

Stdlib only; started as ``python -S -B zygote_main.py`` by ``zygote.PythonZygote``. A new
interpreter and ``import typing`` cost far more than a fork of this process, which has them loaded
already (benchmarks/README.md). Isolation between programs: each runs in its own child with its own
rlimits and session, and afterwards every process but this one is killed and every file in the
sandbox's /tmp deleted, so no program sees another's traces.

Protocol on stdin/stdout: 4-byte big-endian length + JSON, one request, one reply. Arguments: the
read-only toolchain directories mounted inside /tmp (a venv made there), which the wipe leaves alone.
"""

import contextlib
import ctypes
import json
import os
import random
import resource
import select
import shutil
import signal
import struct
import sys
import time

for _name in (
    "typing",
    "collections",
    "math",
    "itertools",
    "functools",
    "re",
    "heapq",
    "bisect",
    "string",
    "hashlib",
    "json",
    "fractions",
    "decimal",
    "statistics",
    "datetime",
    "copy",
    "operator",
    "traceback",
    "atexit",
    "io",
):
    __import__(_name)

HOME = "/tmp"
ZYGOTE_FILES = {os.path.join(HOME, os.path.basename(__file__)), *sys.argv[1:]}
_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back here to be reaped
_libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: programs (same uid) cannot ptrace this process


def _read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def _reply(obj):
    data = json.dumps(obj).encode()
    os.write(1, struct.pack(">I", len(data)) + data)


def _child(req, workdir):
    """In the forked child: become the program and never return."""
    code = 1
    try:
        os.setsid()
        os.chdir(workdir)
        for fd, name, flags in (
            (0, ".in", os.O_RDONLY),
            (1, ".out", os.O_WRONLY | os.O_CREAT),
            (2, ".err", os.O_WRONLY | os.O_CREAT),
        ):
            os.dup2(os.open(name, flags, 0o600), fd)
        os.closerange(3, 1024)
        cpu = int(req["cpu_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (req["memory_bytes"], req["memory_bytes"]))
        resource.setrlimit(resource.RLIMIT_FSIZE, (req["file_bytes"], req["file_bytes"]))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # as a fresh interpreter does: EFBIG, not death
        random.seed()
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        path = os.path.join(workdir, "main.py")
        sys.argv = [path]
        sys.path[0] = workdir
        with open(path) as f:
            source = f.read()
        code = 0
        try:
            exec(
                compile(source, path, "exec"), {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
            )
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:
            import traceback

            kind, exc, tb = sys.exc_info()
            traceback.print_exception(kind, exc, tb.tb_next)  # from the program's frame, as python would
            code = 1
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        code = 1
    os._exit(code)


def _exit_code(exc):
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _read_capped(path, cap):
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            return f.read(cap).decode(errors="replace"), size > cap
    except OSError:
        return "", False


def _clean_up():
    """Kill every process but this one (and the namespace's init), reap them, empty /tmp and /dev/shm.
    Gives up after a few seconds (the host then starts a new zygote)."""
    deadline = time.monotonic() + 3
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except (ProcessLookupError, ChildProcessError):
            break
        if pid == 0:
            if time.monotonic() > deadline:
                sys.exit(1)
            time.sleep(0.001)
    for folder in (HOME, "/dev/shm"):
        _empty(folder)


def _empty(folder):
    """Delete everything in ``folder`` but the zygote's own files, the directories holding them and
    what they hold."""
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        path = os.path.join(folder, name)
        if path in ZYGOTE_FILES:
            continue
        if any(kept.startswith(path + "/") for kept in ZYGOTE_FILES):
            _empty(path)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def serve():
    while True:
        req = json.loads(_read_exact(struct.unpack(">I", _read_exact(4))[0]))
        workdir = os.path.join(HOME, "run")
        os.mkdir(workdir)
        with open(os.path.join(workdir, "main.py"), "w") as f:
            f.write(req["code"])
        with open(os.path.join(workdir, ".in"), "w") as f:
            f.write(req["stdin"])
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(req, workdir)
        pidfd = os.pidfd_open(pid)
        ready, _, _ = select.select([pidfd], [], [], req["timeout_s"])
        timed_out = not ready
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        duration = time.monotonic() - start
        stdout, out_over = _read_capped(os.path.join(workdir, ".out"), req["output_bytes"])
        stderr, err_over = _read_capped(os.path.join(workdir, ".err"), req["output_bytes"])
        _clean_up()
        _reply(
            {
                "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "stdout": stdout,
                "stderr": stderr,
                "duration_s": duration,
                "timed_out": timed_out,
                "output_exceeded": out_over or err_over,
            }
        )


if __name__ == "__main__":
    serve()
