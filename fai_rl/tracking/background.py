"""One tracker fed from a thread of its own: a tracker that stops answering never blocks or ends a training step.

The trainer's events for the tracker's callback (its metric logs above all) wait in a queue; the thread makes the
calls, each bounded by the tracker's own timeouts, and catches up when the tracker answers again. One warning says
when the tracker falls behind or fails; at the end the run waits a while for the backlog, then counts what the
tracker missed (metrics.jsonl holds every metric either way)."""
from __future__ import annotations

import copy
import functools
import logging
import queue
import threading
import time

from transformers import TrainerCallback

from fai_rl.config.secrets import redact

log = logging.getLogger(__name__)
BEHIND_S = 10.0  # a call running longer than this: the tracker is behind
CATCH_UP_S = 60.0  # at the end, how long a tracker that keeps up gets to take its backlog
GIVE_UP_S = 5.0  # ... and one that is behind
EVENTS = [name for name in dir(TrainerCallback) if name.startswith("on_")]
STOP = object()


class OffThread(TrainerCallback):
    """`callback`'s events, run on a thread of its own; `name` and `setting` (the tracker and the setting that
    turns it on) are what the warnings say."""

    def __init__(self, name: str, setting: str, callback):
        self.name, self.setting, self.callback = name, setting, callback
        self.jobs: queue.Queue = queue.Queue()
        self.busy_since = None  # when the call in progress started (time.monotonic), None when idle
        self.missed = 0  # calls that failed or never ran
        self.warned = False
        self.thread = threading.Thread(target=self._work, name=f"fai-rl {name}", daemon=True)
        self.thread.start()
        for event in EVENTS:  # only the events the callback handles cost a queued job
            if getattr(type(callback), event, None) is not getattr(TrainerCallback, event):
                setattr(self, event, functools.partial(self._event, event))

    def _event(self, event: str, args, state, control, **kwargs):
        for key in ("logs", "metrics"):
            if isinstance(kwargs.get(key), dict):
                kwargs[key] = dict(kwargs[key])  # the values of this moment, not the trainer's later ones
        self.submit(getattr(self.callback, event), args, copy.copy(state), copy.copy(control), **kwargs)

    def submit(self, fn, *args, **kwargs) -> None:
        """Run fn(*args, **kwargs) on the tracker's thread, after what is queued already."""
        if self.behind():
            self._warn(f"has not answered for over {BEHIND_S:g} s")
        self.jobs.put(functools.partial(fn, *args, **kwargs))

    def behind(self) -> bool:
        started = self.busy_since
        return started is not None and time.monotonic() - started > BEHIND_S

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is STOP:
                return
            self.busy_since = time.monotonic()
            try:
                job()
            except Exception as err:  # the tracker's failure is reported once; training goes on
                self.missed += 1
                self._warn(f"failed ({type(err).__name__}: {str(err).strip().splitlines()[0] if str(err) else ''})")
            finally:
                self.busy_since = None
                self.jobs.task_done()

    def _warn(self, what: str) -> None:
        if self.warned:
            return
        self.warned = True
        log.warning(redact(f"{self.name} ({self.setting}) {what}: training goes on; metrics.jsonl holds every "
                           f"metric and {self.name} gets the rest when it answers (the summary counts what it "
                           "missed)"))

    def wait(self, seconds: float = CATCH_UP_S) -> bool:
        """Wait until everything queued has run: at most `seconds`, GIVE_UP_S once the tracker is known to be behind,
        and no longer than until a call has run BEHIND_S without an answer. True when all has run."""
        started = time.monotonic()
        while self.jobs.unfinished_tasks:
            waited = time.monotonic() - started
            if self.behind():
                self._warn(f"has not answered for over {BEHIND_S:g} s")
            if waited > seconds or (self.warned and waited > GIVE_UP_S):
                return False
            time.sleep(0.05)
        return True

    def backlog(self) -> int:
        """Calls that failed or are still waiting."""
        return self.missed + self.jobs.unfinished_tasks

    def close(self, seconds: float = CATCH_UP_S) -> int:
        """Wait for the backlog (see `wait`), stop the thread; the number of calls the tracker missed."""
        self.wait(seconds)
        missed = self.backlog()
        self.jobs.put(STOP)
        if missed:
            log.warning(f"{self.name} ({self.setting}) missed {missed} call(s) (metric logs, its closing); "
                        "metrics.jsonl and summary.json hold everything")
        return missed
