"""The user-facing error type: bad input, named by its place, that a command reports in one line.

Every layer raises it (problem files, experiment files, command arguments); the command router turns
it into ``lit-parallel: <where>: <what>`` and exit code 2.
"""


class DataError(ValueError):
    """Input that does not fit what it should be: the message names file, line and field."""
