"""How a tool command reads its options: LitGPT's pattern, jsonargparse over a dataclass.

A command declares its options as one dataclass whose fields are documented where they are declared
and hold the same specs a fit's YAML holds (``sampling: SamplingSpec``, ``execution: ExecutionSpec``).
jsonargparse builds the command line from it: a field is ``--field`` and a spec's field is
``--sampling.top_p``, as written in YAML; ``--config FILE`` reads any of them from a YAML file (later
arguments override it) and ``--print_config`` prints them all as such a file. The specs validate
themselves when built, so a value is checked the same way whether it came from a flag, a command's
config or a training config.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import yaml

from lit_parallel.checks import read_yaml
from lit_parallel.commands.common import DATASET_HELP, PlainText
from lit_parallel.errors import DataError


@dataclass(frozen=True)
class Command:
    """A tool command: its options' dataclass and what runs it."""

    name: str
    """As typed: ``evaluate``, or ``data verify``."""
    help: str
    options: type | None
    """The dataclass of its options (None: it has none)."""
    run: Callable[..., int]
    """Called with the options object, and the switches of its further (boolean) parameters (``dry_run``)."""
    build: Callable[[dict, list[str]], object] | None = None
    """Makes the options object of the values read (a mapping, as a YAML holds them) and the config
    files they came from; None: the options class called with them (specs built, then validated)."""


def build_parser(command: Command) -> Any:
    """The jsonargparse parser of ``command``: ``--config``, ``--print_config`` and one flag per option."""
    from jsonargparse import ActionConfigFile, ActionYesNo, ArgumentParser, DefaultHelpFormatter, set_parsing_settings

    class PlainDefaultHelp(PlainText, DefaultHelpFormatter):
        """jsonargparse's help, from the fields' docstrings, without reST markup."""

    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    description = inspect.getdoc(command.options) if command.options else command.help
    if command.options and "dataset" in command.options.__dataclass_fields__:
        description += f"\n\nA dataset SPEC is one of: {DATASET_HELP}."
    parser = ArgumentParser(
        prog=f"lit-parallel {command.name}",
        description=description,
        exit_on_error=False,
        formatter_class=PlainDefaultHelp,
    )
    if command.options is None:
        return parser
    parser.add_argument("--config", action=ActionConfigFile, help="a YAML of these options (as --print_config prints)")
    parser.add_class_arguments(command.options, fail_untyped=True)
    for name in extra_parameters(command):  # switches of the run, as --dry_run
        parser.add_argument(
            f"--{name}", action=ActionYesNo(no_prefix=None), default=False, help=switch_help(command, name)
        )
    return parser


def switch_help(command: Command, name: str) -> str:
    """What the run's docstring says of its parameter ``name`` (``Args:`` section)."""
    doc = inspect.getdoc(command.run) or ""
    found = re.search(rf"^\s*{name}: (.+?)(?=^\s*\w+: |\Z)", doc, re.MULTILINE | re.DOTALL)
    return " ".join(found.group(1).split()) if found else name


def extra_parameters(command: Command) -> list[str]:
    """The parameters of ``command.run`` after its options: flags of the run, not options of the command."""
    return list(inspect.signature(command.run).parameters)[1:]


def parse(command: Command, argv: Sequence[str]) -> tuple[object | None, dict]:
    """The options object of ``argv`` and the further parameters of ``command.run``; a DataError says
    what is wrong in one line. ``--print_config`` and ``--help`` print and raise SystemExit(0)."""
    from jsonargparse import ArgumentError

    for path in config_files(argv):
        read_yaml(path)  # a syntax error: one line naming the file and line, not jsonargparse's several
    parser = build_parser(command)
    try:
        namespace = parser.parse_args(list(argv))
        if command.build is not None:
            extras = {name: namespace[name] for name in extra_parameters(command)}
            values = yaml.safe_load(parser.dump(namespace, skip_default=True)) or {}
            values = {key: value for key, value in values.items() if key not in extras}
            return command.build(values, config_files(argv)), extras
        built = instantiated(parser, namespace)
    except ArgumentError as exc:
        raise DataError(one_line(str(exc))) from None
    if command.options is None:
        return None, {}
    names = {f.name for f in dataclasses.fields(command.options)}
    options = command.options(**{name: built[name] for name in names})
    return options, {name: built[name] for name in extra_parameters(command)}


def instantiated(parser: Any, namespace: Any) -> Any:
    """``namespace`` with its classes built: ``instantiate`` (jsonargparse 4.49 on), ``instantiate_classes``
    before it (the oldest version the project supports is 4.39)."""
    return (getattr(parser, "instantiate", None) or parser.instantiate_classes)(namespace)


def config_files(argv: Sequence[str]) -> list[str]:
    """The ``--config`` files of a command line, in order (a YAML string given instead is no file)."""
    found = [b for a, b in pairwise(argv) if a == "--config"]
    found += [a.removeprefix("--config=") for a in argv if a.startswith("--config=")]
    return [path for path in found if not path.lstrip().startswith(("{", "["))]


NOT_AN_OPTION = r"\1: not an option of this command (see --help)"
REQUIRED = r"\1: required (a flag or a --config key)"
REWORDED = (
    (r"^Option '([^']+)' is not accepted$", NOT_AN_OPTION),
    (r"^Key '([^']+)' is not expected$", NOT_AN_OPTION),
    (r"^Group '([^']+)' does not accept (?:option|nested key) '([^']+)'$", r"\1.\2: not an option of this command"),
    (r"^the following arguments are required: (.*)$", REQUIRED),
    (r'^Key "([^"]+)" is required but not included in config object or its value is None\.$', REQUIRED),
)
"""jsonargparse's wordings (of the versions the project supports) of an unknown or a missing key."""

TYPE_NAMES = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false", "list": "a list"}


def expected(kind: str) -> str:
    """jsonargparse's name of a type (``<class 'int'>``, ``typing.Literal['a', 'b']``) as a user reads it."""
    if literal := re.fullmatch(r"typing\.Literal\[(.*)\]", kind):
        return f"one of {literal.group(1)}"
    if named := re.fullmatch(r"<class '(\w+)'>", kind):
        return "null" if named.group(1) == "NoneType" else TYPE_NAMES.get(named.group(1), named.group(1))
    return kind


def one_line(message: str) -> str:
    """jsonargparse's (nested, multi-line) error as one line: the innermost key, what was expected, what
    was given."""
    lines = [line.strip() for line in message.splitlines() if line.strip()] or [message]
    keys = [i for i, line in enumerate(lines) if line.startswith("Parser key")]
    if not keys:
        text = " ".join(lines).removeprefix("Validation failed: ")
        for pattern, replacement in REWORDED:
            text = re.sub(pattern, replacement, text)
        return text
    key = re.sub(r'^Parser key "([^"]+)":.*', r"\1", lines[keys[-1]])
    inner = lines[keys[-1] + 1 :]
    kinds = [m.group(1) for line in inner if (m := re.match(r"(?:- )?Expected an? (.*?)\.?( Got value: .*)?$", line))]
    given = next((line.split(": ", 1)[1] for line in inner if re.match(r"(Given value|.*Got value):", line)), None)
    if kinds and given is not None:
        hint = " (a list is written [a, b])" if "<class 'list'>" in kinds else ""
        names = sorted(dict.fromkeys(map(expected, kinds)), key=lambda name: name == "null")  # null last
        return f"{key}: expected {' or '.join(names)}, got {given}{hint}"
    return f"{key}: {' '.join(inner[:1]) or lines[keys[-1]]}"
