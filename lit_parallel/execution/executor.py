"""Judge programs in batches: compile once (cached by content hash), run every test, one verdict each."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lit_parallel.execution.errors import ExecutionError
from lit_parallel.execution.languages import Build, Language, get_language, resolve_tool
from lit_parallel.execution.sandbox import BUILDER_UID, Limits, Sandbox, closed_to_others
from lit_parallel.execution.verdicts import Outcome, Verdict, classify_compile, classify_run
from lit_parallel.execution.zygote import ZygotePool
from lit_parallel.progress import Progress

log = logging.getLogger(__name__)

TAIL_CHARS = 2000
CANARY_TIMEOUT_S = 30.0
"""Wall-clock limit of a canary's run (at least): it proves the toolchain works, not that it is fast."""
_CANARIES: dict[tuple, str | None] = {}
"""Canary results of this process, by language and sandbox set-up."""
_CANARY_LOCK = threading.Lock()


@dataclass(frozen=True)
class TestCase:
    """One io case: the program reads ``stdin`` and must print ``stdout``."""

    __test__ = False  # not a pytest class, despite its name

    stdin: str
    stdout: str


@dataclass(frozen=True)
class Program:
    """A program to judge: io style when it has ``tests``, else script style (its code holds its tests)."""

    language: str
    code: str
    tests: tuple[TestCase, ...] | None = None
    id: str = ""
    marker: str | None = None
    """Script style: pass also requires this as the last line of stdout. A test harness that prints
    it after its last test catches programs that exit 0 before their tests run (a reward hack)."""


@dataclass(frozen=True)
class Result:
    """The judgement of one program."""

    id: str
    language: str
    verdict: Verdict
    duration_s: float
    stderr_tail: str = ""
    stdout_tail: str = ""
    cases_passed: int = 0
    cases_total: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def to_json(self) -> dict:
        return {
            **asdict(self),
            "verdict": self.verdict.value,
            "passed": self.passed,
            "duration_s": round(self.duration_s, 4),
        }


def default_cache_dir() -> Path:
    """Compile cache: $LIT_PARALLEL_CACHE, else a root-owned system dir for root, else ~/.cache."""
    if env := os.environ.get("LIT_PARALLEL_CACHE"):
        return Path(env)
    return Path("/var/cache/lit-parallel") if os.geteuid() == 0 else Path.home() / ".cache" / "lit-parallel"


@dataclass
class Executor:
    """A pool that judges programs; use ``run`` for a batch or ``submit`` to overlap with other work."""

    workers: int | None = None
    """Programs judged at once (default: one per CPU core)."""
    limits: Limits = field(default_factory=Limits)
    """Limits of each test run."""
    compile_timeout_s: float = 120.0
    """Wall-clock limit of one compile."""
    isolation: str = "auto"
    """"bwrap", "rlimits" (no namespaces), or "auto": bwrap when it works here."""
    cache_dir: Path = field(default_factory=default_cache_dir)
    max_cache_mb: int = 4096
    """Disk kept for compiled artefacts; the least recently used go first (checked every 256 compiles)."""
    fast_python: bool = True
    """Run Python programs on pre-started sandboxed interpreters (one fork each, not a new
    interpreter); needs bubblewrap. Module state and the hash seed are the zygote's, not fresh."""
    stop_on_failure: bool = True
    """Stop at a program's first failing io case (False: run all, e.g. for partial-credit rewards)."""

    def __post_init__(self) -> None:
        self.workers = self.workers or os.cpu_count() or 1
        self.sandbox = Sandbox(self.isolation)
        self._builds = self.cache_dir / "builds"
        self._builds.mkdir(parents=True, exist_ok=True)
        if self.sandbox.uses_builder_uid and (closed := closed_to_others(self._builds)):
            raise ExecutionError(
                f"cache_dir {self.cache_dir}: {closed} is closed to other users, and the "
                "sandbox's uids must reach the compiled artefacts (chmod o+x it or pick another)"
            )
        self._compile_locks = [threading.Lock() for _ in range(64)]
        self._compiles = itertools.count()
        prune_cache(self._builds, self.max_cache_mb << 20)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="lp-exec")
        fast = self.fast_python and self.sandbox.uses_bwrap
        python = get_language("python").toolchain_dirs()
        self._zygotes = ZygotePool(self.sandbox, self.limits, self.workers, python) if fast else None

    def submit(self, program: Program, stop_on_failure: bool | None = None) -> Future[Result]:
        """Judge ``program`` on the pool; ``stop_on_failure`` overrides the executor's for this program."""
        return self._pool.submit(self.judge, program, stop_on_failure)

    def run(self, programs: Iterable[Program], progress: Progress | None = None) -> list[Result]:
        """Judge every program on the pool; results in input order, ``progress`` told as each finishes."""
        futures = [self.submit(p) for p in programs]
        if progress is not None:
            for done, _ in enumerate(as_completed(futures), 1):
                progress.update(done)
        return [f.result() for f in futures]

    def canary(self, language: str) -> str | None:
        """None when ``language``'s canary passes in this executor's sandbox, else why not (one line).
        Run once per process and sandbox set-up, before the language's first program."""
        lang = checked_language(language)
        key = (lang.name, self.sandbox.uses_bwrap, self.uses_zygotes, self.limits)
        with _CANARY_LOCK:
            if key not in _CANARIES:
                _CANARIES[key] = self._run_canary(lang)
            return _CANARIES[key]

    def canary_failures(self) -> dict[str, str]:
        """The languages whose canary failed in this executor's sandbox set-up so far, with why."""
        setup = (self.sandbox.uses_bwrap, self.uses_zygotes, self.limits)
        with _CANARY_LOCK:
            return {key[0]: reason for key, reason in _CANARIES.items() if key[1:] == setup and reason}

    def _run_canary(self, lang: Language) -> str | None:
        # A fresh compile (a cached artefact would hide a compiler that no longer works here), and time
        # enough for a JVM to start on a loaded machine: the canary must not fail for being slow.
        limits = replace(self.limits, timeout_s=max(self.limits.timeout_s, CANARY_TIMEOUT_S))
        program = Program(lang.name, lang.canary, (TestCase("", "ok\n"),))
        result = self._judge(program, lang, True, limits, fresh=True)
        if result.passed:
            return None
        build, entry = lang.build_for(lang.canary), lang.entry_name(lang.canary)
        failed = build.compile if build.compile and not result.cases_total else build.run
        command = shlex.join(fill_command(failed, build.source.format(main=entry), entry, self.limits))
        said = " | ".join(line.strip() for line in result.stderr_tail.splitlines()[-3:] if line.strip())
        said = said or "no output"
        if why := self.sandbox.unreachable(lang.toolchain_dirs()):
            said += f" ({why})"
        return f"{lang.name} canary failed in the sandbox ({result.verdict.value}): {command}: {said}"

    @property
    def uses_zygotes(self) -> bool:
        return self._zygotes is not None

    def own_processes(self) -> set[int]:
        """Pids of this executor's long-lived helpers (idle Python zygotes): not a program's leftovers."""
        return self._zygotes.processes() if self._zygotes else set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._zygotes:
            self._zygotes.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def judge(self, program: Program, stop_on_failure: bool | None = None) -> Result:
        """Judge one program in the calling thread. Never raises: whatever goes wrong, in the program
        or around it (a full disk, a missing toolchain, one that fails its canary), ends in a verdict
        and training goes on."""
        stop = self.stop_on_failure if stop_on_failure is None else stop_on_failure
        try:
            if reason := self.canary(program.language):
                return Result(program.id, program.language, Verdict.SANDBOX_ERROR, 0.0, reason)
            return self._judge(program, checked_language(program.language), stop, self.limits)
        except ExecutionError as exc:
            return Result(program.id, program.language, Verdict.SANDBOX_ERROR, 0.0, str(exc))
        except Exception as exc:
            log.exception("executor failed on program %r", program.id)
            return Result(program.id, program.language, Verdict.SANDBOX_ERROR, 0.0, f"{type(exc).__name__}: {exc}")

    def _judge(self, program: Program, lang: Language, stop: bool, limits: Limits, fresh: bool = False) -> Result:
        """``stop``: at the first failing case; ``fresh``: compile anew into a temporary directory,
        not through the cache."""
        build = lang.build_for(program.code)
        entry = lang.entry_name(program.code)
        source = build.source.format(main=entry)
        with tempfile.TemporaryDirectory(prefix="lp-src-") as tmp:
            os.chmod(tmp, 0o755)  # the run's own uid must reach the source
            src_path = Path(tmp) / source
            src_path.write_text(program.code)
            files = {source: src_path}
            elapsed = 0.0
            if build.compile:
                if fresh:
                    artefacts = Path(tmp) / "build"
                    artefacts.mkdir()
                    compiled = self._compile(lang, build, source, src_path, artefacts)
                    artefacts = None if classify_compile(compiled) else artefacts
                else:
                    artefacts, compiled = self._compiled(lang, build, source, src_path, program.code)
                elapsed = compiled.duration_s if compiled else 0.0
                if artefacts is None:
                    verdict = classify_compile(compiled)
                    return Result(program.id, lang.name, verdict, elapsed, _tail(compiled.stderr + compiled.stdout))
                files["build"] = artefacts
            argv = fill_command(build.run, source, entry, self.limits)
            return self._run_tests(program, lang, argv, files, elapsed, stop, limits)

    def _run_tests(
        self,
        program: Program,
        lang: Language,
        argv: list[str],
        files: dict[str, Path],
        elapsed: float,
        stop: bool,
        limits: Limits,
    ) -> Result:
        cases = program.tests if program.tests is not None else (None,)
        passed, verdict, outcome = 0, Verdict.PASSED, None
        for case in cases:
            stdin = case.stdin if case else ""
            outcome = self._zygotes.run(program.code, stdin) if self._zygotes and lang.name == "python" else None
            if outcome is None:
                outcome = self.sandbox.run(
                    argv, limits, files=files, env=lang.env, stdin=stdin, toolchain=lang.toolchain_dirs()
                )
            elapsed += outcome.duration_s
            case_verdict = classify_run(outcome, case.stdout if case else None, lang.syntax_error, program.marker)
            if case_verdict is Verdict.PASSED:
                passed += 1
                continue
            if verdict is Verdict.PASSED:
                verdict = case_verdict
            if stop:
                break
        return Result(
            program.id, lang.name, verdict, elapsed, _tail(outcome.stderr), _tail(outcome.stdout), passed, len(cases)
        )

    def _compiled(
        self, lang: Language, build: Build, source: str, src_path: Path, code: str
    ) -> tuple[Path | None, Outcome | None]:
        """The artefact directory for this code (compiling it once), or None and the failed compile."""
        key = hashlib.sha256(json.dumps([lang.name, build.compile, source, code]).encode()).hexdigest()
        final = self._builds / key[:2] / key
        # Striped locks: two threads never compile the same program at once.
        with self._compile_locks[int(key[:8], 16) % len(self._compile_locks)]:
            if final.is_dir():
                os.utime(final)  # recently used: the last to be pruned
                return final, None
            if next(self._compiles) % 256 == 255:
                prune_cache(self._builds, self.max_cache_mb << 20)
            final.parent.mkdir(exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f"tmp-{key[:8]}-", dir=final.parent))
            outcome = self._compile(lang, build, source, src_path, staging)
            if classify_compile(outcome) is not None:
                shutil.rmtree(staging, ignore_errors=True)
                return None, outcome
            try:
                os.rename(staging, final)
            except OSError:  # another process (a DDP peer) sharing the cache got there first
                shutil.rmtree(staging, ignore_errors=True)
            return final, outcome

    def _compile(self, lang: Language, build: Build, source: str, src_path: Path, staging: Path) -> Outcome:
        """Compile ``src_path`` into the directory ``staging`` as the builder."""
        writable = {"build": staging, **self._compile_caches(lang)}
        if self.sandbox.uses_builder_uid:
            for path in writable.values():
                os.chown(path, BUILDER_UID, BUILDER_UID)
        os.chmod(staging, 0o755)
        limits = Limits(
            timeout_s=self.compile_timeout_s, file_mb=512, tmp_mb=1024, output_bytes=self.limits.output_bytes
        )
        return self.sandbox.run(
            fill_command(build.compile, source, "main", self.limits),
            limits,
            files={source: src_path},
            writable=writable,
            env=lang.env,
            builder=True,
            toolchain=lang.toolchain_dirs(),
        )

    def _compile_caches(self, lang: Language) -> dict[str, Path]:
        """Compiler caches that outlive one compile (Go's build cache), made on first use."""
        caches = {}
        for name in lang.compile_caches:
            path = self.cache_dir / name.lstrip(".")
            path.mkdir(exist_ok=True)
            caches[name] = path
        return caches


def prune_cache(builds: Path, max_bytes: int) -> None:
    """Delete the least recently used build directories until ``builds`` holds at most ``max_bytes``."""
    entries = []
    for build in builds.glob("??/*"):
        if not build.name.startswith("tmp-"):
            size = sum(f.stat().st_size for f in build.rglob("*") if f.is_file())
            entries.append((build.stat().st_mtime, size, build))
    total = sum(size for _, size, _ in entries)
    for _, size, build in sorted(entries):
        if total <= max_bytes:
            break
        shutil.rmtree(build, ignore_errors=True)
        total -= size


def checked_language(name: str) -> Language:
    """The language called ``name``, with its toolchain present, else a clear ExecutionError."""
    lang = get_language(name)
    if missing := lang.missing_tools():
        raise ExecutionError(f"{lang.name} toolchain missing ({', '.join(missing)} not found); install: {lang.install}")
    return lang


def fill_command(template: Sequence[str], source: str, entry: str, limits: Limits) -> list[str]:
    """A registry command template filled in (paths relative to the program's home), tool resolved."""
    argv = [a.format(src=source, build="build", main=entry, heap_mb=limits.heap_mb) for a in template]
    return [resolve_tool(argv[0]) if "/" not in argv[0] else argv[0], *argv[1:]]


def _tail(text: str) -> str:
    return text[-TAIL_CHARS:]
