"""The Python fast path: pre-started sandboxed interpreters judge like fresh ones, and no program
run on a zygote leaves a trace (file, process, random state) that the next one could see."""

import pytest

from lit_parallel.execution import Executor, Limits, Program, TestCase, Verdict, bwrap_status

pytestmark = pytest.mark.skipif(bwrap_status() is not None, reason=f"zygotes need bubblewrap: {bwrap_status()}")

PROGRAMS = [
    Program(
        "python",
        "from typing import List\nimport sys\nprint(sum(map(int, sys.stdin.read().split())))",
        (TestCase("1 2\n", "3\n"), TestCase("4 5", "9")),
    ),
    Program("python", "print(1/0)"),
    Program("python", "import sys\nsys.exit(3)"),
    Program("python", "raise SystemExit('bye')"),
    Program("python", "def f(:\n    pass"),
    Program("python", "assert 1 + 1 == 3"),
    Program("python", "while True:\n    pass"),
    Program("python", "x = []\nwhile True:\n    x.append(' ' * 10**8)"),
    Program("python", "while True:\n    print('y' * 1000)"),
    Program("python", "import atexit\natexit.register(lambda: print('bye'))", (TestCase("", "bye"),)),
    Program("python", "print(__name__, __file__.endswith('main.py'))", (TestCase("", "__main__ True"),)),
]


# 256 MB: the program that allocates in a loop hits it after touching few pages. Under a busy VM, first
# touches of fresh pages are slow enough that a 1 GB run could reach the 3 s timeout first (it did, once in
# two suite runs on two xdist workers), making the verdict depend on the load.
LIMITS = Limits(timeout_s=3, memory_mb=256)


@pytest.fixture(scope="module")
def fast():
    with Executor(workers=1, limits=LIMITS) as ex:
        assert ex.uses_zygotes
        yield ex


def test_fast_path_judges_like_a_fresh_interpreter(fast):
    with Executor(workers=2, limits=LIMITS, fast_python=False) as cold:
        expected = [r.verdict for r in cold.run(PROGRAMS)]
    assert [r.verdict for r in fast.run(PROGRAMS)] == expected
    assert expected[:6] == [
        Verdict.PASSED,
        Verdict.RUNTIME_ERROR,
        Verdict.RUNTIME_ERROR,
        Verdict.RUNTIME_ERROR,
        Verdict.COMPILE_ERROR,
        Verdict.FAILED,
    ]
    assert expected[6:8] == [Verdict.TIMEOUT, Verdict.MEMORY_LIMIT]  # each program runs into its own limit


def test_no_trace_of_one_program_reaches_the_next(fast):
    polluter = (
        "import os, subprocess\nopen('/tmp/leak', 'w').write('x')\nopen('/dev/shm/leak', 'w').write('x')\n"
        "subprocess.Popen(['sleep', '1000'], start_new_session=True)\nprint('polluted')"
    )
    observer = (
        "import os\nprocs = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "print(os.path.exists('/tmp/leak'), os.path.exists('/dev/shm/leak'), len(procs))"
    )
    assert fast.judge(Program("python", polluter, (TestCase("", "polluted"),))).passed
    seen = fast.judge(Program("python", observer))
    # Left in the namespace: its init, the zygote and the observer itself.
    assert seen.stdout_tail.split() == ["False", "False", "3"], seen.stdout_tail


def test_each_program_gets_fresh_randomness(fast):
    draws = {fast.judge(Program("python", "import random\nprint(random.random())")).stdout_tail for _ in range(3)}
    assert len(draws) == 3


def test_a_program_that_kills_its_zygote_is_judged_and_the_pool_recovers(fast):
    killer = Program(
        "python",
        "import os, signal\nprint('hi', flush=True)\nos.kill(os.getppid(), signal.SIGKILL)",
        (TestCase("", "hi"),),
    )
    assert fast.judge(killer).verdict is Verdict.PASSED  # rerun on the ordinary path, where it cannot
    assert fast.judge(PROGRAMS[0]).verdict is Verdict.PASSED
