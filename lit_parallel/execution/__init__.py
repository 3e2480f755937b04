"""Sandboxed execution of model-written programs in many languages."""

from lit_parallel.execution.errors import ExecutionError
from lit_parallel.execution.executor import Executor, Program, Result, TestCase, checked_language
from lit_parallel.execution.languages import LANGUAGES, Language, get_language
from lit_parallel.execution.sandbox import Limits, Sandbox, bwrap_status
from lit_parallel.execution.verdicts import Verdict

__all__ = [
    "LANGUAGES",
    "ExecutionError",
    "Executor",
    "Language",
    "Limits",
    "Program",
    "Result",
    "Sandbox",
    "TestCase",
    "Verdict",
    "bwrap_status",
    "checked_language",
    "get_language",
]
