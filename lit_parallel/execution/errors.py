"""The one exception type of the execution package."""


class ExecutionError(ValueError):
    """Bad input to the executor: an unknown language, a missing toolchain, a malformed record."""
