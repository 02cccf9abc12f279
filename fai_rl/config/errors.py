"""The one exception type for bad input: a message that names the culprit and what would be valid."""


class ConfigError(ValueError):
    """Bad configuration or input data; the CLI prints it on one line and exits with code 2."""

    exit_code = 2


class RunFailed(RuntimeError):
    """Training failed in a launched worker; the CLI prints the worker's error line and exits with code 1."""

    exit_code = 1
