"""Guards around training: stop on a non-finite loss; stop cleanly on SIGTERM (pre-emption) and Ctrl-C."""
from __future__ import annotations

import math
import signal
import threading

from transformers import TrainerCallback

from fai_rl.errors import Interrupted, Preempted, RunStopped, TrainingDiverged


def guard_finite_loss(trainer) -> None:
    """Raise TrainingDiverged at the first step whose loss is NaN or infinite (before anything is saved)."""
    step = trainer.training_step

    def checked(*args, **kwargs):
        loss = step(*args, **kwargs)
        value = float(loss.detach().float().mean()) if hasattr(loss, "detach") else float(loss)
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training stopped at step {trainer.state.global_step + 1}: the training loss is {value}; "
                "lower training.learning_rate or check the data (the last saved checkpoint is kept)"
            )
        return loss

    trainer.training_step = checked


class StopSignals(TrainerCallback):
    """SIGTERM (pre-emption) and Ctrl-C (SIGINT): finish the current step, then stop training.

    SIGTERM always saves a checkpoint; Ctrl-C saves one when checkpoints can resume (`save_resumable`, i.e.
    training.save_only_model=false). A second Ctrl-C stops at once (KeyboardInterrupt).
    """

    def __init__(self, save_resumable: bool):
        self.save_resumable = save_resumable
        self.received = None  # the first stop signal, or None
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, mid-step
        self.received = self.received or signum

    def on_step_end(self, args, state, control, **kwargs):
        if self.received is not None:
            control.should_save = self.received == signal.SIGTERM or self.save_resumable
            control.should_training_stop = True
        return control

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def stopped(self, step: int, output_dir: str, newest_checkpoint, resume_command: str) -> RunStopped:
        """The error that ends a run stopped by a signal: which step, what was saved, how to continue."""
        if self.received == signal.SIGTERM:
            return Preempted(f"SIGTERM: stopped at step {step} after saving a checkpoint in {output_dir}; "
                             f"continue with: {resume_command}")
        if newest_checkpoint is None:
            return Interrupted(f"Ctrl-C: stopped at step {step}; no complete checkpoint to resume from "
                               "(training.save_only_model=true saves weights only); set "
                               "training.save_only_model=false to make checkpoints resumable")
        return Interrupted(f"Ctrl-C: stopped at step {step}; newest complete checkpoint: {newest_checkpoint}; "
                           f"continue with: {resume_command}")
