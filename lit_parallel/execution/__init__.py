"""Sandboxed execution of model-written programs in many languages."""

from pathlib import Path

from lit_parallel.execution.errors import ExecutionError
from lit_parallel.execution.executor import Executor, Program, Result, TestCase, checked_language
from lit_parallel.execution.languages import DATA_ONLY_LANGUAGES, LANGUAGES, Language, canonical_language, get_language
from lit_parallel.execution.sandbox import Limits, Sandbox, bwrap_status
from lit_parallel.execution.spec import ExecutionSpec, SandboxFailure, sandbox_errors
from lit_parallel.execution.verdicts import Verdict

DEMO_PROGRAMS = Path(__file__).with_name("demo_programs.jsonl")
"""The main job's input: a+b in every language (ids ``a_plus_b/<language>``), then wrong and hostile programs."""

__all__ = [
    "DATA_ONLY_LANGUAGES",
    "DEMO_PROGRAMS",
    "LANGUAGES",
    "ExecutionError",
    "ExecutionSpec",
    "Executor",
    "Language",
    "Limits",
    "Program",
    "Result",
    "Sandbox",
    "SandboxFailure",
    "TestCase",
    "Verdict",
    "bwrap_status",
    "canonical_language",
    "checked_language",
    "get_language",
    "sandbox_errors",
]
