"""The ``lit-parallel`` command.

``fit``, ``validate`` and ``test`` are LightningCLI: one YAML (``--config``) names the LightningModule
and the DataModule (subclass mode) and everything they take. The tool commands (``languages``,
``exec``, ``data verify|stats|translate``, ``evaluate``, ``align``, ``experiment``) are read the same
way, by jsonargparse from their options' dataclass: ``--config FILE`` (a YAML of the options),
``--print_config`` (all of them, as such a YAML), ``--KEY VALUE`` and ``--SPEC.KEY VALUE`` as written
in YAML (``--sampling.n 4``). ``lit-parallel COMMAND --help`` lists a command's options.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lit_parallel import checks
from lit_parallel.commands import align, data, evaluate, experiment, languages, translate
from lit_parallel.commands import exec as exec_command
from lit_parallel.commands.arguments import Command, config_files, parse
from lit_parallel.commands.common import plain
from lit_parallel.commands.lightning import LIGHTNING_COMMANDS, build_lightning_cli
from lit_parallel.errors import DataError
from lit_parallel.execution import SandboxFailure
from lit_parallel.quiet import quiet_upstream

COMMANDS = {
    command.name: command
    for command in (
        languages.COMMAND,
        exec_command.COMMAND,
        *data.COMMANDS,
        translate.COMMAND,
        evaluate.COMMAND,
        align.COMMAND,
        experiment.COMMAND,
    )
}


def usage() -> str:
    lines = [f"  {name:<16}LightningCLI {name}: lit-parallel {name} --config FIT.yaml" for name in LIGHTNING_COMMANDS]
    lines += [f"  {name:<16}{command.help}" for name, command in COMMANDS.items()]
    head = "usage: lit-parallel COMMAND [--config FILE] [--print_config] [--KEY VALUE ...]"
    return f"{head}\n\n{plain(__doc__)}\ncommands:\n" + "\n".join(lines)


def find_command(argv: Sequence[str]) -> tuple[Command, list[str]]:
    """The tool command that ``argv`` names (one word, or two for ``data``), and its arguments."""
    for words in (2, 1):
        name = " ".join(argv[:words])
        if name in COMMANDS:
            return COMMANDS[name], list(argv[words:])
    known = ", ".join([*LIGHTNING_COMMANDS, *COMMANDS])
    raise DataError(f"{' '.join(argv[:2]) or 'no command'}: not a command (commands: {known})")


def run_tool(argv: Sequence[str]) -> int:
    command, rest = find_command(argv)
    try:
        options, extras = parse(command, rest)
    except SystemExit as exc:  # --help, --print_config
        return int(exc.code or 0)
    return command.run(options, **extras) if command.options else command.run()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    lightning = argv[0] in LIGHTNING_COMMANDS
    quiet_upstream()
    try:
        if lightning:
            for path in config_files(argv):
                checks.read_yaml(path)  # a syntax error: one line naming the file and line
            build_lightning_cli(argv)
            return 0
        return run_tool(argv)
    except SandboxFailure as exc:  # a step or evaluation the sandbox, not the model, failed
        print(f"lit-parallel: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        error = checks.data_error(exc)
        if error is None:
            raise
        # The specs name their config key; the config files say where that key is.
        files = config_files(argv)
        message = checks.located(str(error), files)
        if lightning and not any(message.startswith(f"{path}:") for path in files):
            message = "".join(f"{path}: " for path in files) + message
        print(f"lit-parallel: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
