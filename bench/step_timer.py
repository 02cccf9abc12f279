"""`python -m bench.step_timer OUT.json OVERRIDES...`: fai-rl's CLI with every trainer callback timed.

Each callback event goes through transformers' own CallbackHandler.call_event, with each callback behind a proxy
that times its method; at exit OUT.json holds, per callback class, the seconds spent and the calls, and the number
of optimizer steps (on_step_end events). The per-step host time fai-rl adds is its own callbacks' share.
"""
from __future__ import annotations

import atexit
import json
import sys
import time
from collections import defaultdict

from transformers.trainer_callback import CallbackHandler

SPENT: dict = defaultdict(lambda: {"seconds": 0.0, "calls": 0, "module": ""})
STEPS = {"optimizer_steps": 0}
ORIGINAL_CALL_EVENT = CallbackHandler.call_event


class TimedCallback:
    """A callback whose event methods record their time under the callback's class."""

    def __init__(self, callback):
        self._callback = callback

    def __getattr__(self, name):
        method = getattr(self._callback, name)
        record = SPENT[type(self._callback).__qualname__]
        record["module"] = type(self._callback).__module__

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                record["seconds"] += time.perf_counter() - started
                record["calls"] += 1
        return timed


def timed_call_event(self, event, args, state, control, **kwargs):
    if event == "on_step_end":
        STEPS["optimizer_steps"] += 1
    callbacks = self.callbacks
    self.callbacks = [TimedCallback(c) for c in callbacks]
    try:
        return ORIGINAL_CALL_EVENT(self, event, args, state, control, **kwargs)
    finally:
        self.callbacks = callbacks


def main() -> None:
    out, overrides = sys.argv[1], sys.argv[2:]
    CallbackHandler.call_event = timed_call_event
    atexit.register(lambda: open(out, "w").write(json.dumps({**STEPS, "callbacks": SPENT}, indent=1)))
    from fai_rl.cli import main as fai_rl_main

    sys.argv = ["fai-rl", *overrides]
    fai_rl_main.main()


if __name__ == "__main__":
    main()
