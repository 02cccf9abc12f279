"""The one error path of every console script: a stopped run prints `PROG: error: MESSAGE` and exits with the
error's code (2 for bad input, 1 for a failed run, 3 diverged, 75 pre-empted)."""
from __future__ import annotations

import functools
import sys
from typing import Callable, NoReturn

from fai_rl.config.secrets import redact
from fai_rl.errors import RunStopped


def fail(prog: str, err: BaseException) -> NoReturn:
    print(f"{prog}: error: {redact(str(err))}", file=sys.stderr, flush=True)  # a URL in it keeps no password
    sys.exit(getattr(err, "exit_code", 2))


def console_script(prog: str) -> Callable:
    """Decorate a `main`: a RunStopped it raises ends the process through `fail`; its return value is the exit
    code (None: 0)."""

    def wrap(main: Callable) -> Callable:
        @functools.wraps(main)
        def run(*args, **kwargs):
            try:
                return main(*args, **kwargs)
            except RunStopped as err:
                fail(prog, err)

        return run

    return wrap
