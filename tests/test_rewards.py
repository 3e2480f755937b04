"""Rewards from real execution: binary pass, partial credit (share of io cases), the format penalty."""

import pytest

from lit_parallel.execution import ExecutionSpec, Program, TestCase
from lit_parallel.rewards import RewardSpec

CASES = (TestCase("1\n", "2\n"), TestCase("2\n", "4\n"), TestCase("3\n", "6\n"), TestCase("4\n", "8\n"))
# Right on the first two cases only, then wrong, then crashing: partial credit must run every case.
HALF_RIGHT = "n = int(input())\nif n > 3:\n    raise SystemExit(1)\nprint(2 * n if n < 3 else 0)\n"


@pytest.mark.parametrize(("kind", "expected"), [("pass", 0.0), ("partial", 0.5)])
def test_reward_of_a_program_right_on_half_the_cases(kind, expected):
    spec = RewardSpec(kind=kind)
    with ExecutionSpec(timeout_s=5.0, workers=1).executor() as executor:
        half = Program("python", HALF_RIGHT, CASES, id="half")
        outcome = executor.submit(half, stop_on_failure=not spec.every_case).result()
        right = executor.submit(Program("python", "print(2 * int(input()))\n", CASES, id="right")).result()
    assert spec.reward(outcome, closed=True) == expected
    assert spec.reward(right, closed=True) == 1.0


def test_format_penalty_applies_only_to_unclosed_completions():
    spec = RewardSpec(format_penalty=0.25)
    assert spec.reward(1.0, closed=True) == 1.0
    assert spec.reward(1.0, closed=False) == 0.75
