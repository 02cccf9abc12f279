"""training.watchdog_s: a rank on which no training step completes in that time writes the stacks of its threads
and where its main thread is to <run_dir>/watchdog/, then the process ends (exit 1) so the job stops.

What counts as progress: a completed optimizer step, an evaluation batch, a saved checkpoint. The clock starts when
training begins (model loading, data preparation and DeepSpeed set-up come before), so only the first step's own
warm-up counts against it. With several ranks, the first one whose clock runs out makes the others report at once
(they see its report in the shared run dir), so every rank's stacks are written; rank 0 also writes them to the run
log. A rank found inside a torch.distributed collective is waiting for the others; the ones that are not are stuck.
"""
from __future__ import annotations

import faulthandler
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from transformers import TrainerCallback

from fai_rl.errors import WORKER_ERROR_PREFIX
from fai_rl.training.watchdog_reports import read_reports, report_dir, stacks_path, stuck_message, write_report

log = logging.getLogger("fai_rl")
REPORT_WAIT_S = 15.0  # how long a rank that reported waits for the others' reports before it ends
STACKS_LOGGED = "stacks-logged"  # rank 0 has written every rank's stacks to the run log
COLLECTIVE_CODE = ("/torch/distributed/", "/deepspeed/comm/")
BACKWARD_CODE = "/torch/autograd/"  # with several ranks, DDP all-reduces gradients inside backward
PLUMBING = ("/torch/", "/accelerate/", "/deepspeed/")  # library frames between a caller and a collective


def _short(filename: str) -> str:
    return filename.split("site-packages/")[-1]


def _frame(frame) -> str:
    return f"{frame.name} ({_short(frame.filename)}:{frame.lineno})"


def where(frames: list) -> str:
    """The innermost frame, and when that is library plumbing (a collective), the innermost frame that called it."""
    if not frames:
        return "no Python frame (main thread not found)"
    text = _frame(frames[-1])
    if any(part in frames[-1].filename for part in PLUMBING):
        callers = [f for f in frames if not any(part in f.filename for part in PLUMBING)]
        if callers:
            text += f" called from {_frame(callers[-1])}"
    return text


def waiting_in_collective(frames: list, world_size: int) -> bool:
    markers = COLLECTIVE_CODE + ((BACKWARD_CODE,) if world_size > 1 else ())
    return any(marker in f.filename for f in frames for marker in markers)


class Watchdog(TrainerCallback):
    def __init__(self, seconds: float, run_dir, rank: int, world_size: int, in_process: bool):
        self.seconds, self.run_dir, self.rank, self.world_size = seconds, Path(run_dir), rank, world_size
        self.in_process = in_process  # the front process itself trains: its error line is the run's
        self._last_progress = time.monotonic()
        self._last_step = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fai-rl-watchdog", daemon=True)

    def _progress(self, state) -> None:
        self._last_progress = time.monotonic()
        self._last_step = state.global_step

    def on_train_begin(self, args, state, control, **kwargs):
        self._progress(state)
        if not self._thread.is_alive():
            self._thread.start()

    def on_step_end(self, args, state, control, **kwargs):
        self._progress(state)

    def on_prediction_step(self, args, state, control, **kwargs):
        self._progress(state)

    def on_save(self, args, state, control, **kwargs):
        self._progress(state)

    def on_train_end(self, args, state, control, **kwargs):
        self.stop()

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(min(1.0, self.seconds / 4)):
            late = time.monotonic() - self._last_progress >= self.seconds
            if late or (self.world_size > 1 and read_reports(self.run_dir)):  # another rank found the hang
                self._report()
                self._end()

    def _report(self) -> None:
        main = sys._current_frames().get(threading.main_thread().ident)
        frames = traceback.extract_stack(main) if main is not None else []
        path = stacks_path(self.run_dir, self.rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as out:
            faulthandler.dump_traceback(out, all_threads=True)
        write_report(self.run_dir, {"rank": self.rank, "watchdog_s": self.seconds, "last_step": self._last_step,
                                    "where": where(frames), "waiting_in_collective":
                                        waiting_in_collective(frames, self.world_size), "stacks": str(path)})

    def _end(self) -> None:
        """Wait (bounded) for every rank's report; rank 0 logs every rank's stacks, and the other ranks wait (bounded)
        until it has, since their exit breaks rank 0's collective and would end it before it logs. Then print the
        error and exit 1."""
        self._wait_for(lambda: len(read_reports(self.run_dir)) >= self.world_size)
        reports = read_reports(self.run_dir)
        message = stuck_message(reports, self.world_size, self.run_dir)
        logged = report_dir(self.run_dir) / STACKS_LOGGED
        if self.rank == 0:
            for report in reports:
                stacks = Path(report["stacks"])
                log.error("watchdog: rank %d stacks (%s):\n%s", report["rank"], report["where"],
                          stacks.read_text() if stacks.exists() else "(not readable)")
            for handler in logging.getLogger().handlers:
                handler.flush()
            logged.touch()
        else:
            self._wait_for(logged.exists)
        prefix = WORKER_ERROR_PREFIX if self.in_process else f"fai-rl: worker rank {self.rank} failed: "
        print(f"{prefix}{message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(1)  # the main thread is stuck: nothing but ending the process stops it

    @staticmethod
    def _wait_for(done) -> None:
        deadline = time.monotonic() + REPORT_WAIT_S
        while not done() and time.monotonic() < deadline:
            time.sleep(0.2)
