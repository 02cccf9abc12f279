"""Exceptions that end a run with one clear line and a distinct exit code."""


class RunStopped(Exception):
    """A run ended on purpose; the CLI prints the message on one line and exits with `exit_code`."""

    exit_code = 1
    ends_sweep = False  # True: a multirun stops here too (pre-emption), rather than going on with the next job


class ConfigError(RunStopped, ValueError):
    """Bad configuration or input data: the message names the culprit and what would be valid. Exit code 2."""

    exit_code = 2


class RunFailed(RunStopped, RuntimeError):
    """Training failed in a launched worker; the CLI prints the worker's error line and exits with code 1."""

    exit_code = 1


# How a launched worker reports bad input on stderr, so the front process can show it as its own config error.
WORKER_ERROR_PREFIX = "fai-rl: error: "
