"""Verdict decisions from process outcomes, and output normalisation of io tests."""

import signal

import pytest

from lit_parallel.execution.verdicts import Outcome, Verdict, classify_compile, classify_run, outputs_match


def outcome(code=0, sig=None, stdout="", stderr="", **flags):
    return Outcome(code, sig, stdout, stderr, 0.1, **flags)


@pytest.mark.parametrize(
    ("run", "expected", "verdict"),
    [
        (outcome(stdout="3 \r\n\n"), "3\n", Verdict.PASSED),
        (outcome(stdout="4\n"), "3\n", Verdict.FAILED),
        (outcome(), None, Verdict.PASSED),
        (outcome(1, stderr="Traceback\nAssertionError"), None, Verdict.FAILED),
        (outcome(1, stderr="Traceback\nAssertionError"), "3", Verdict.RUNTIME_ERROR),
        (outcome(1, stderr="ZeroDivisionError: division by zero"), None, Verdict.RUNTIME_ERROR),
        (outcome(1, stderr="MemoryError"), None, Verdict.MEMORY_LIMIT),
        (outcome(None, signal.SIGXFSZ), None, Verdict.OUTPUT_LIMIT),
        (outcome(None, signal.SIGXCPU), None, Verdict.TIMEOUT),
        (outcome(None, signal.SIGKILL, timed_out=True), "3", Verdict.TIMEOUT),
        (outcome(None, signal.SIGKILL, output_exceeded=True), "3", Verdict.OUTPUT_LIMIT),
        (outcome(1, stderr="bwrap: oops", sandbox_failed=True), "3", Verdict.SANDBOX_ERROR),
        (outcome(None, signal.SIGSEGV), "3", Verdict.RUNTIME_ERROR),
    ],
)
def test_classify_run(run, expected, verdict):
    assert classify_run(run, expected) is verdict


def test_syntax_errors_of_interpreted_languages_are_compile_errors():
    run = outcome(1, stderr='  File "main.py", line 1\n    def f(:\nSyntaxError: invalid syntax')
    assert classify_run(run, None, r"^(SyntaxError|IndentationError)\b") is Verdict.COMPILE_ERROR


def test_classify_compile():
    assert classify_compile(outcome()) is None
    assert classify_compile(outcome(1, stderr="error: expected ';'")) is Verdict.COMPILE_ERROR
    assert classify_compile(outcome(None, signal.SIGKILL, timed_out=True)) is Verdict.COMPILE_ERROR
    assert classify_compile(outcome(1, sandbox_failed=True)) is Verdict.SANDBOX_ERROR


def test_outputs_match_normalises_trailing_whitespace_only():
    assert outputs_match("1 2  \n3\r\n\n\n", "1 2\n3")
    assert not outputs_match(" 1 2", "1 2")
    assert not outputs_match("1  2", "1 2")


def test_marker_catches_an_early_exit_that_skipped_the_tests():
    assert classify_run(outcome(stdout="noise\ndone-7f3a\n"), None, marker="done-7f3a") is Verdict.PASSED
    assert classify_run(outcome(stdout=""), None, marker="done-7f3a") is Verdict.FAILED
    assert classify_run(outcome(stdout="done-7f3a\nlater"), None, marker="done-7f3a") is Verdict.FAILED
