"""``lit-parallel languages``: which languages run here (toolchain found, and its canary passing
inside the sandbox, or why not), and how to install the others."""

from __future__ import annotations

from lit_parallel.commands.arguments import Command
from lit_parallel.commands.common import format_table
from lit_parallel.execution import LANGUAGES, ExecutionSpec, bwrap_status


def run() -> int:
    rows = []
    with ExecutionSpec().executor() as executor:
        for lang in LANGUAGES:
            missing = lang.missing_tools()
            status = "ok" if not missing else "missing: " + ", ".join(missing)
            canary = "-" if missing else executor.canary(lang.name) or "ok"
            rows.append([lang.name, ", ".join(lang.aliases), status, canary, lang.install])
    print(format_table(["language", "aliases", "toolchain", "canary in the sandbox", "install"], rows))
    problem = bwrap_status()
    print(f"\nsandbox: {'bubblewrap' if problem is None else 'rlimits only (' + problem + ')'}")
    return 0


COMMAND = Command("languages", "which languages run here", None, run)
