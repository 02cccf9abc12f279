"""Guards around training: stop on a non-finite loss, and save-then-exit on SIGTERM (pre-emption)."""
from __future__ import annotations

import math
import signal
import threading

from transformers import TrainerCallback

from fai_rl.config.errors import RunStopped


class TrainingDiverged(RunStopped):
    exit_code = 3


class Preempted(RunStopped):
    """SIGTERM arrived; a checkpoint was saved. Exit code 75 (EX_TEMPFAIL): start again with resume=auto."""

    exit_code = 75
    ends_sweep = True


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


class PreemptionGuard(TrainerCallback):
    """On SIGTERM: finish the current step, save a checkpoint, stop training."""

    def __init__(self):
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum, frame):
        self.requested = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested:
            control.should_save = True
            control.should_training_stop = True
        return control

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
