"""``lit-parallel exec``: judge a JSONL file of programs; one verdict line per program, in input order."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lit_parallel import checks
from lit_parallel.commands.arguments import Command
from lit_parallel.commands.common import format_table, report_sandbox_errors
from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionError, ExecutionSpec, Program, TestCase, Verdict, checked_language
from lit_parallel.jsonl import jsonl_records


def read_programs(path: Path) -> Iterator[tuple[int, Program | str]]:
    """Each line of a programs JSONL file: (line number, Program) or (line number, error message)."""
    for lineno, record in jsonl_records(path):
        if isinstance(record, DataError):
            yield lineno, str(record)
            continue
        try:
            yield lineno, parse_program(record)
        except ExecutionError as exc:
            yield lineno, f"{path}:{lineno}: {exc}"


def parse_program(record: object) -> Program:
    """A Program from one JSON record of ``lit-parallel exec``'s input; ExecutionError names the field."""
    if not isinstance(record, dict):
        raise ExecutionError("expected a JSON object")
    for key in ("id", "language", "code"):
        if key not in record:
            raise ExecutionError(f"field {key!r} is missing")
    if not isinstance(record["code"], str):
        raise ExecutionError("field 'code' must be a string")
    tests = record.get("tests")
    if tests is not None:
        if not isinstance(tests, list) or not all(
            isinstance(t, dict) and isinstance(t.get("stdin"), str) and isinstance(t.get("stdout"), str) for t in tests
        ):
            raise ExecutionError('field \'tests\' must be a list of {"stdin": str, "stdout": str}')
        tests = tuple(TestCase(t["stdin"], t["stdout"]) for t in tests)
    try:
        language = checked_language(str(record["language"])).name
    except ExecutionError as exc:
        raise ExecutionError(f"field 'language': {exc}") from None
    marker = record.get("marker")
    if marker is not None and not isinstance(marker, str):
        raise ExecutionError("field 'marker' must be a string")
    return Program(language, record["code"], tests, str(record["id"]), marker)


@dataclass
class ExecConfig:
    """Judge a JSONL file of programs; one verdict line per program, in input order."""

    input: Path
    """JSONL of programs: {"id", "language", "code", "tests"?, "marker"?} per line."""
    output: Path
    """JSONL of verdicts, in input order."""
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    """Limits per test run and programs judged at once."""


def run(config: ExecConfig) -> int:
    checks.existing_file(config.input, "input")
    checks.output_file(config.output, "output")
    parsed = list(read_programs(config.input))
    errors = [item for _, item in parsed if isinstance(item, str)]
    for message in errors:
        print(message, file=sys.stderr)
    programs = [item for _, item in parsed if isinstance(item, Program)]
    start = time.monotonic()
    tally: Counter[tuple[str, Verdict]] = Counter()
    config.output.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with config.execution.executor() as executor, config.output.open("w") as out:
        for future in [executor.submit(p) for p in programs]:
            results.append(result := future.result())
            tally[result.language, result.verdict] += 1
            out.write(json.dumps(result.to_json()) + "\n")
            out.flush()
    elapsed = time.monotonic() - start
    print(verdict_table(tally), file=sys.stderr)
    print(
        f"\n{len(programs)} programs judged in {elapsed:.1f}s ({len(programs) / max(elapsed, 1e-9):.1f}/s), "
        f"{len(errors)} lines rejected; verdicts in {config.output}",
        file=sys.stderr,
    )
    return report_sandbox_errors(results) or (1 if errors else 0)


def verdict_table(tally: Counter[tuple[str, Verdict]]) -> str:
    """Languages x verdicts, counts, for the verdicts that occurred."""
    languages = sorted({lang for lang, _ in tally})
    verdicts = [v for v in Verdict if any(verdict is v for _, verdict in tally)]
    rows = [[lang, *(tally[lang, v] for v in verdicts), sum(tally[lang, v] for v in verdicts)] for lang in languages]
    return format_table(["language", *(v.value for v in verdicts), "total"], rows)


COMMAND = Command("exec", "judge a JSONL file of programs", ExecConfig, run)
