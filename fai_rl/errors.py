"""Every exception fai-rl raises on purpose, each with its exit code: one place to read how a run can end.

    0    completed
    1    RunFailed: training failed (a worker's error line, a failed required upload, a hung rank)
    2    ConfigError: bad configuration or input data, named with what would be valid
    3    TrainingDiverged: the training loss became NaN or infinite
    75   Preempted: SIGTERM; a checkpoint was saved (start again with training.resume=auto)
    130  Interrupted: Ctrl-C
"""
from __future__ import annotations

import signal


class RunStopped(Exception):
    """A run ended on purpose; the CLI prints the message on one line and exits with `exit_code`."""

    exit_code = 1
    ends_sweep = False  # True: a multirun stops here too (pre-emption), rather than going on with the next job


class ConfigError(RunStopped, ValueError):
    """Bad configuration or input data: the message names the culprit and what would be valid. Exit code 2."""

    exit_code = 2


class MediaUnavailable(ConfigError):
    """An image or video a data row names cannot be fetched or decoded (data.media_errors: fail stops the run, skip leaves
    the row out); the message names the file, the row and the URL."""


class RunFailed(RunStopped, RuntimeError):
    """Training failed in a launched worker; the CLI prints the worker's error line and exits with code 1."""

    exit_code = 1


# How a launched worker reports bad input on stderr, so the front process can show it as its own config error.
WORKER_ERROR_PREFIX = "fai-rl: error: "


class TrainingDiverged(RunStopped):
    """The training loss became NaN or infinite; the last saved checkpoint is kept. Exit code 3."""

    exit_code = 3


class Preempted(RunStopped):
    """SIGTERM arrived; a checkpoint was saved. Exit code 75 (EX_TEMPFAIL): start again with resume=auto."""

    exit_code = 75
    ends_sweep = True


class Interrupted(RunStopped):
    """Ctrl-C arrived; training stopped after the current step. Exit code 130, as for any Ctrl-C."""

    exit_code = 130
    ends_sweep = True


class SignalReceived(Exception):
    """The front process got Ctrl-C or SIGTERM while it supervised launched workers; it stopped them all and exits
    with 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
