"""Every registered language builds and runs a real program in the sandbox, and is judged right."""

import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from lit_parallel.execution import (
    DEMO_PROGRAMS,
    LANGUAGES,
    ExecutionError,
    Executor,
    Program,
    TestCase,
    Verdict,
    get_language,
)
from lit_parallel.execution.executor import prune_cache

# What CI installs and must exercise; the others run wherever their toolchain is present.
REQUIRED = {"python", "javascript", "cpp", "java", "go", "rust", "php", "ruby", "lua", "perl", "bash"}
A_PLUS_B = {
    r["language"]: r["code"] for r in map(json.loads, DEMO_PROGRAMS.read_text().splitlines()) if "a_plus_b" in r["id"]
}


@pytest.fixture(scope="module")
def executor():
    with Executor(workers=2) as ex:
        yield ex


def test_every_language_has_an_a_plus_b_program():
    assert set(A_PLUS_B) == {lang.name for lang in LANGUAGES}


@pytest.mark.parametrize("name", [lang.name for lang in LANGUAGES])
def test_language_judged_right(executor, name):
    lang = get_language(name)
    if not lang.available:
        if name in REQUIRED or os.environ.get("CI"):
            pytest.fail(f"{name} toolchain missing: {lang.missing_tools()}")
        pytest.skip(f"{name} toolchain missing here")
    right = Program(name, A_PLUS_B[name], (TestCase("1 2\n", "3\n"), TestCase("-7 7\n", "0\n")))
    wrong = replace(right, tests=(TestCase("1 2\n", "4\n"),))
    broken = replace(right, code=A_PLUS_B[name][: len(A_PLUS_B[name]) // 2])
    results = executor.run([right, wrong, broken])
    assert results[0].verdict is Verdict.PASSED, results[0].stderr_tail
    assert results[0].cases_passed == results[0].cases_total == 2
    assert results[1].verdict is Verdict.FAILED
    assert results[2].verdict in {Verdict.COMPILE_ERROR, Verdict.RUNTIME_ERROR, Verdict.FAILED}


def test_aliases_and_unknown_language():
    assert get_language("C++").name == "cpp"
    assert get_language("rb").name == "ruby"
    with pytest.raises(ExecutionError, match="unknown language 'cobol'"):
        get_language("cobol")


def test_java_file_is_named_after_its_main_class(executor):
    code = "class Helper { static int two() { return 2; } }\nclass Problem {\n public static void main(String[] a) {"
    code += " System.out.println(Helper.two()); } }\n"
    assert get_language("java").entry_name(code) == "Problem"
    assert executor.judge(Program("java", code, (TestCase("", "2"),))).verdict is Verdict.PASSED


def test_compiled_artefacts_are_cached_by_content(executor, tmp_path):
    code = A_PLUS_B["cpp"] + f"// {os.getpid()} {tmp_path.name}\n"
    first, second = (executor.judge(Program("cpp", code, (TestCase("2 2", "4"),))) for _ in range(2))
    assert first.verdict is second.verdict is Verdict.PASSED
    assert second.duration_s < first.duration_s  # the second skips the compile


def test_marker_fails_a_program_that_exits_before_its_tests(executor):
    tests = "\nassert add(2, 3) == 5\nprint('tests-done-91c2')\n"
    honest = Program("python", "def add(a, b):\n    return a + b\n" + tests, marker="tests-done-91c2")
    hacker = Program("python", "import sys\nsys.exit(0)\ndef add(a, b):\n    return 0\n" + tests)
    assert executor.judge(honest).verdict is Verdict.PASSED
    assert executor.judge(hacker).verdict is Verdict.PASSED  # what exit-code judging alone allows
    assert executor.judge(replace(hacker, marker="tests-done-91c2")).verdict is Verdict.FAILED


def test_cache_dir_must_be_reachable_by_the_sandbox(tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    if os.geteuid() == 0:
        with pytest.raises(ExecutionError, match="is closed to other users"):
            Executor(workers=1, cache_dir=closed / "cache")


def test_cache_keeps_the_most_recently_used_builds():
    tmp_path = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="lp-cache-test-"))
    tmp_path.chmod(0o755)
    with Executor(workers=1, cache_dir=tmp_path) as ex:
        programs = [Program("c", A_PLUS_B["c"] + f"// {i}\n", (TestCase("1 1", "2"),)) for i in range(3)]
        assert all(r.passed for r in ex.run(programs))
        builds = sorted(tmp_path.glob("builds/??/*"), key=lambda p: p.stat().st_mtime)
        assert len(builds) == 3
        ex.judge(programs[0])  # a cache hit makes the first build the most recent
    one = sum(f.stat().st_size for f in builds[0].rglob("*") if f.is_file())
    prune_cache(tmp_path / "builds", max_bytes=one * 2)
    assert [b.exists() for b in builds] == [True, False, True]
    shutil.rmtree(tmp_path)
