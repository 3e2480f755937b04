"""The ``lit-parallel`` command.

``fit``, ``validate`` and ``test`` are LightningCLI: one YAML (``--config``) names the LightningModule
and the DataModule (subclass mode) and everything they take. Tool subcommands: ``languages``,
``exec``, ``data verify``, ``data stats``, ``evaluate``, ``align``, ``experiment``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lit_parallel import checks
from lit_parallel.commands import align, data, evaluate, experiment, languages
from lit_parallel.commands import exec as exec_command
from lit_parallel.commands.common import PlainHelp
from lit_parallel.commands.lightning import LIGHTNING_COMMANDS, build_lightning_cli, config_files
from lit_parallel.execution import SandboxFailure


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lit-parallel", description=__doc__, formatter_class=PlainHelp)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in LIGHTNING_COMMANDS:
        sub.add_parser(
            command, help=f"LightningCLI {command}: lit-parallel {command} --config CONFIG.yaml", add_help=False
        )
    for module in (languages, exec_command, data, evaluate, align, experiment):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    lightning = bool(argv) and argv[0] in LIGHTNING_COMMANDS
    try:
        if lightning:
            build_lightning_cli(argv)
            return 0
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SandboxFailure as exc:  # a step or evaluation the sandbox, not the model, failed
        print(f"lit-parallel: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        error = checks.data_error(exc)
        if error is None:
            raise
        # The project's classes name their config key; the config files say where that key is.
        where = "".join(f"{path}: " for path in config_files(argv)) if lightning else ""
        print(f"lit-parallel: {where}{error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
