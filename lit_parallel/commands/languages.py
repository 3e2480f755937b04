"""``lit-parallel languages``: which languages run here, and how to install the others."""

from __future__ import annotations

import argparse

from lit_parallel.commands.common import format_table
from lit_parallel.execution import LANGUAGES, bwrap_status


def run(args: argparse.Namespace) -> int:
    rows = []
    for lang in LANGUAGES:
        missing = lang.missing_tools()
        status = "ok" if not missing else "missing: " + ", ".join(missing)
        rows.append([lang.name, ", ".join(lang.aliases), status, lang.install])
    print(format_table(["language", "aliases", "toolchain", "install"], rows))
    problem = bwrap_status()
    print(f"\nsandbox: {'bubblewrap' if problem is None else 'rlimits only (' + problem + ')'}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("languages", help="which languages run here").set_defaults(func=run)
